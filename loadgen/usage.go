package loadgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// promptTokenSlack is how many more prompt tokens than prompt bytes an
// engine may claim. A tokenizer yields at most about one token per byte
// (byte-level BPE falls back to single bytes); the chat template (role
// markers, a system prompt the server adds) accounts for the rest, and
// 16384 tokens is far more than any template adds.
const promptTokenSlack = 16384

// usageJudge follows the usage objects of one stream and decides whether
// to believe them. A usage object is a claim: the counts must be JSON
// numbers with whole values, 0 ≤ completion_tokens ≤ max_tokens,
// 0 ≤ prompt_tokens ≤ prompt bytes + promptTokenSlack, completion_tokens
// must never decrease from one usage object to the next (continuous
// usage), and at the end it must be at least the number of non-empty
// content chunks (each carries at least one token). Missing or null counts
// read as 0. The first violation is kept in rejected, and the stream's
// usage is then ignored as a whole.
type usageJudge struct {
	maxTokens  int
	maxPrompt  int
	promptLen  int
	seen       bool
	prompt     int // the last prompt_tokens
	completion int // the last completion_tokens
	rejected   string
}

func newUsageJudge(maxTokens, promptBytes int) *usageJudge {
	limit := math.MaxInt
	if promptBytes <= math.MaxInt-promptTokenSlack {
		limit = promptBytes + promptTokenSlack
	}
	return &usageJudge{maxTokens: maxTokens, maxPrompt: limit, promptLen: promptBytes}
}

// observe judges one usage object and returns by how much it raised
// completion_tokens (0 once the usage is rejected).
func (u *usageJudge) observe(raw json.RawMessage) int {
	u.seen = true
	if u.rejected != "" {
		return 0
	}
	var w usageCounts
	if err := parseUsage(raw, &w); err != nil {
		u.rejected = "usage is not an object: " + truncateBytes(raw, 40)
		return 0
	}
	n, why := judgeCount("completion_tokens", w.CompletionTokens, u.maxTokens, fmt.Sprintf("max_tokens %d", u.maxTokens))
	if why == "" && n < u.completion {
		why = fmt.Sprintf("completion_tokens decreased from %d to %d", u.completion, n)
	}
	p := 0
	if why == "" {
		p, why = judgeCount("prompt_tokens", w.PromptTokens, u.maxPrompt,
			fmt.Sprintf("%d (the prompt's %d bytes + %d)", u.maxPrompt, u.promptLen, promptTokenSlack))
	}
	if why != "" {
		u.rejected = why
		return 0
	}
	inc := n - u.completion
	u.prompt, u.completion = p, n
	return inc
}

// finish applies the end-of-stream check: completion_tokens is at least the
// number of non-empty content chunks.
func (u *usageJudge) finish(chunks int) {
	if u.rejected == "" && u.completion < chunks {
		u.rejected = fmt.Sprintf("completion_tokens %d is less than the %d content chunks received", u.completion, chunks)
	}
}

// judgeCount reads one usage count. Any JSON number, however large (1e400,
// 2^64) or precise, is read without error, as a float64 that keeps its
// magnitude, and judged: it must be a whole number in [0, limit]. why is
// "" when the count is believed, and then n is its value. limitText
// describes limit in the message.
func judgeCount(name string, raw json.RawMessage, limit int, limitText string) (n int, why string) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, ""
	}
	text := truncateBytes(raw, 40)
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return 0, fmt.Sprintf("%s is not a number: %s", name, text)
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Sprintf("%s is not a number: %s", name, text)
	}
	switch {
	case f < 0:
		return 0, fmt.Sprintf("%s %s is negative", name, text)
	case f > float64(limit) || f >= 0x1p63: // the second: float64(MaxInt64) rounds up to 2^63
		return 0, fmt.Sprintf("%s %s exceeds %s", name, text, limitText)
	case f != math.Trunc(f) || err != nil: // err: a fraction too small for float64
		return 0, fmt.Sprintf("%s %s is not a whole number", name, text)
	}
	return int(f), ""
}
