package prometheus

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// matcher is one PromQL label matcher: name op "value".
type matcher struct {
	name, op, value string
}

// selector is a list of label matchers, all of which a series must match.
type selector []matcher

// renamedLabels are the labels Prometheus renames to exported_<name> when
// a target label of the same name exists and the scrape does not honor
// the exporter's labels (a Kubernetes ServiceMonitor without honorLabels
// adds namespace, pod, container … of the exporter's own pod).
var renamedLabels = []string{"namespace", "pod", "container"}

var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// parseSelector parses PromQL label matchers, with or without the braces
// of a vector selector: `namespace="llm", pod=~"vllm-.*"`. Values are
// double-quoted (Go escapes), single-quoted or back-quoted strings, as in
// PromQL. A matcher on __name__ is refused (the sampler chooses the
// metrics), and so is a regular expression that does not compile. The
// empty string is the empty selector, which every series matches.
func parseSelector(s string) (selector, error) {
	rest := strings.TrimSpace(s)
	if strings.HasPrefix(rest, "{") {
		if !strings.HasSuffix(rest, "}") {
			return nil, errors.New("unbalanced braces")
		}
		rest = strings.TrimSpace(rest[1 : len(rest)-1])
	}
	var sel selector
	for rest != "" {
		var m matcher
		i := strings.IndexAny(rest, "=!~ \t\n")
		if i < 0 {
			return nil, fmt.Errorf("%q: no operator", rest)
		}
		m.name, rest = rest[:i], strings.TrimLeft(rest[i:], " \t\n")
		if !labelName.MatchString(m.name) {
			return nil, fmt.Errorf("%q is not a label name", m.name)
		}
		if m.name == "__name__" {
			return nil, errors.New("a matcher on __name__: the sampler chooses the metrics itself")
		}
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(rest, op) {
				m.op, rest = op, strings.TrimLeft(rest[len(op):], " \t\n")
				break
			}
		}
		if m.op == "" {
			return nil, fmt.Errorf("label %s: want one of =, !=, =~, !~", m.name)
		}
		v, n, err := unquote(rest)
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", m.name, err)
		}
		m.value, rest = v, strings.TrimLeft(rest[n:], " \t\n")
		if m.op == "=~" || m.op == "!~" {
			if _, err := regexp.Compile("^(?:" + m.value + ")$"); err != nil {
				return nil, fmt.Errorf("label %s: %w", m.name, err)
			}
		}
		sel = append(sel, m)
		switch {
		case rest == "":
		case rest[0] == ',':
			rest = strings.TrimLeft(rest[1:], " \t\n")
		default:
			return nil, fmt.Errorf("unexpected %q after label %s's value: matchers are separated by commas", rest, m.name)
		}
	}
	return sel, nil
}

// unquote reads one PromQL string literal at the start of s and returns
// its value and its length in s.
func unquote(s string) (string, int, error) {
	if s == "" {
		return "", 0, errors.New("no value")
	}
	q := s[0]
	switch q {
	case '`':
		end := strings.IndexByte(s[1:], '`')
		if end < 0 {
			return "", 0, errors.New("unterminated `string`")
		}
		return s[1 : end+1], end + 2, nil
	case '"', '\'':
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case q:
				lit := s[:i+1]
				if q == '\'' {
					// Re-quote as a Go double-quoted string.
					body := strings.ReplaceAll(lit[1:i], `\'`, `'`)
					body = strings.ReplaceAll(body, `"`, `\"`)
					lit = `"` + body + `"`
				}
				v, err := strconv.Unquote(lit)
				if err != nil {
					return "", 0, fmt.Errorf("bad string %s: %w", s[:i+1], err)
				}
				return v, i + 1, nil
			}
		}
		return "", 0, errors.New("unterminated string")
	default:
		return "", 0, fmt.Errorf("%q: want a quoted value", s)
	}
}

// String renders the matchers as PromQL, without braces, values
// double-quoted: a value never escapes its quotes, whatever it holds.
func (s selector) String() string {
	parts := make([]string, len(s))
	for i, m := range s {
		parts[i] = m.name + m.op + strconv.Quote(m.value)
	}
	return strings.Join(parts, ",")
}

// vector returns the PromQL vector selector of the series of metrics that
// match s.
func (s selector) vector(metrics []string) string {
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = regexp.QuoteMeta(m)
	}
	expr := `{__name__=~` + strconv.Quote(strings.Join(names, "|"))
	if len(s) > 0 {
		expr += "," + s.String()
	}
	return expr + "}"
}

// exported returns s with its matchers on the renamed labels (namespace,
// pod, container) made to match exported_<label> instead, and the names
// of the labels it renamed; none when s has no such matcher.
func (s selector) exported() (selector, []string) {
	out := slices.Clone(s)
	var renamed []string
	for i, m := range out {
		if slices.Contains(renamedLabels, m.name) {
			out[i].name = "exported_" + m.name
			renamed = append(renamed, out[i].name)
		}
	}
	return out, renamed
}
