package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Escape returns s with every character that could change how a terminal
// shows the text written as a visible Go-style escape: C0 controls and DEL
// (\n, \r, \t, \x1b, \x7f, …), C1 controls (\u009b, …), the Unicode line and
// paragraph separators, bidirectional formatting characters (\u202e, …) and
// invalid UTF-8 bytes (\xff). A backslash is left alone, so ordinary text,
// Windows paths included, reads as before. The result is one line.
func Escape(s string) string {
	if isPlain(s, false) {
		return s
	}
	return escape(s, false)
}

// EscapeLines is Escape that keeps line feeds, for multi-line text the
// program composed itself (joined errors, tables) in which untrusted parts
// were already escaped or cannot contain a line break. Carriage returns are
// still escaped, so no line can be overwritten.
func EscapeLines(s string) string {
	if isPlain(s, true) {
		return s
	}
	return escape(s, true)
}

func isPlain(s string, keepLF bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return false // decide rune by rune
		}
		if (c < 0x20 && !(keepLF && c == '\n')) || c == 0x7f {
			return false
		}
	}
	return true
}

func escape(s string, keepLF bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepLF:
			b.WriteByte('\n')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports the non-ASCII characters a terminal interprets or that
// reorder or hide text: C1 controls, line/paragraph separators, the
// bidirectional marks, embeddings, overrides and isolates, and the
// zero-width characters and BOM that make look-alike text.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls (CSI is \u009b)
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e: // embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // isolates
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c: // LRM, RLM, ALM
		return true
	case r >= 0x200b && r <= 0x200d, r == 0x2060, r == 0xfeff: // zero-width, BOM
		return true
	}
	return false
}

// JSON rewrites, in JSON text produced by encoding/json, every character
// that unsafeRune reports (C1 controls, bidirectional and zero-width
// characters, line separators) as a \uXXXX escape. encoding/json already
// escapes C0 controls but leaves these raw; outside strings JSON has none
// of them, so the result is the same JSON value, safe to print.
func JSON(b []byte) []byte {
	clean := true
	for _, r := range string(b) {
		if unsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for _, r := range string(b) {
		if unsafeRune(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
			continue
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}
