package profile

import (
	"fmt"
	"regexp"
	"strings"
)

// numberRun matches the numbers in a warning, which differ between
// otherwise identical warnings about different devices (gpu0 … gpu7, 1.78ms
// … 1.91ms).
var numberRun = regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?`)

// collapseWarnings keeps one warning of each kind: warnings that differ
// only in their numbers (the same remark about gpu0 … gpu7) become the
// first of them followed by how many more there were and what they were
// about ("… (and 7 more like it: gpu1, gpu2, …)"). Order is kept.
func collapseWarnings(ws []string) []string {
	type group struct {
		first  string
		others []string
	}
	var order []string
	groups := map[string]*group{}
	for _, w := range ws {
		key := numberRun.ReplaceAllString(w, "#")
		if g, ok := groups[key]; ok {
			if w != g.first {
				g.others = append(g.others, subject(w))
			}
			continue
		}
		groups[key] = &group{first: w}
		order = append(order, key)
	}
	out := make([]string, 0, len(order))
	for _, key := range order {
		g := groups[key]
		if len(g.others) == 0 {
			out = append(out, g.first)
			continue
		}
		out = append(out, fmt.Sprintf("%s (and %d more like it: %s)", g.first, len(g.others), strings.Join(g.others, ", ")))
	}
	return out
}

// subject is what a warning is about: its first word with a number in it
// ("gpu3", "dram-1"), else its first word, without punctuation around it.
func subject(w string) string {
	words := strings.Fields(w)
	for _, f := range words {
		if numberRun.MatchString(f) {
			return strings.Trim(f, ":,;()")
		}
	}
	if len(words) == 0 {
		return ""
	}
	return strings.Trim(words[0], ":,;()")
}
