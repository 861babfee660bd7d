package hostinfo

import (
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The reference collects the fingerprint with Python string functions; a
// byte-compatible result needs their exact rules, which differ from Go's in
// small ways (which characters are whitespace or line breaks, what int()
// accepts). These helpers reproduce them.

// pyIsSpace reports whether Python's str.isspace() is true for r: Unicode
// White_Space plus the four information separators U+001C–U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pySplit is Python's str.split() with no argument.
func pySplit(s string) []string { return strings.FieldsFunc(s, pyIsSpace) }

// pyLineBreak reports whether r ends a line for str.splitlines().
func pyLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// pySplitLines is Python's str.splitlines(): lines without their breaks,
// "\r\n" counting as one break, no empty last element for a trailing break.
func pySplitLines(s string) []string {
	var lines []string
	for len(s) > 0 {
		i := strings.IndexFunc(s, pyLineBreak)
		if i < 0 {
			lines = append(lines, s)
			break
		}
		lines = append(lines, s[:i])
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\r' && strings.HasPrefix(s[i+1:], "\n") {
			n = 2
		}
		s = s[i+n:]
	}
	return lines
}

// pyLower lowers s as Python's str.lower() does for the purpose of
// comparing with ASCII keys: Go's ToLower, except that U+0130 (İ) becomes
// "i̇" (two code points), as in Python, not "i".
func pyLower(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, "\u0130", "i\u0307"))
}

// universalNewlines translates "\r\n" and "\r" to "\n", as Python's text
// mode does when it reads a file or a subprocess's output.
func universalNewlines(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// digitValue returns the value of a Unicode decimal digit (category Nd).
// Unicode assigns decimal digits in contiguous runs of ten, zero first, so
// the value is the distance from the start of the run, modulo ten.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if !unicode.IsDigit(r) {
		return 0, false
	}
	start := r
	for unicode.IsDigit(start - 1) {
		start--
	}
	return int(r-start) % 10, true
}

// pyInt parses s as Python's int(s) does with base 10: surrounding
// whitespace, an optional sign, and decimal digits of any script, with
// single underscores allowed between digits.
func pyInt(s string) (*big.Int, bool) {
	s = pyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return nil, false
	}
	var digits []byte
	prevUnderscore := true // no leading underscore
	for _, r := range s {
		if r == '_' {
			if prevUnderscore {
				return nil, false
			}
			prevUnderscore = true
			continue
		}
		v, ok := digitValue(r)
		if !ok {
			return nil, false
		}
		digits = append(digits, byte('0'+v))
		prevUnderscore = false
	}
	if prevUnderscore { // a trailing underscore
		return nil, false
	}
	n, ok := new(big.Int).SetString(string(digits), 10)
	if !ok {
		return nil, false
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}
