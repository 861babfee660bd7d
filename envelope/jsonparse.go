package envelope

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// SyntaxError reports input that is not JSON. Its message follows Python's
// json module ("Expecting value: line 1 column 5 (char 4)"); Line and Column
// are 1-based and count characters, Offset counts characters from 0.
type SyntaxError struct {
	Msg    string
	Line   int
	Column int
	Offset int
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s: line %d column %d (char %d)", e.Msg, e.Line, e.Column, e.Offset)
}

// DuplicateKeyError reports an object, at any depth, that repeats a key.
// JSON leaves the meaning of a repeated key open and readers disagree: the
// reference (Python's json) keeps the last value, many other readers the
// first, so one file could show a figure that its signature does not cover.
// [Parse] therefore rejects every repeat, a deliberate deviation from the
// reference. Key is the repeated key (after escapes are decoded); Offset is
// the byte offset of its second occurrence's opening quote.
type DuplicateKeyError struct {
	Key    string
	Offset int
}

func (e *DuplicateKeyError) Error() string {
	return fmt.Sprintf("duplicate key %q at byte %d: an envelope must not repeat a key, readers disagree on which one counts", e.Key, e.Offset)
}

// maxDepth bounds nesting, as Python's recursion limit does.
const maxDepth = 500

// maxIntDigits is Python's default int max_str_digits: json.loads refuses
// longer integer literals.
const maxIntDigits = 4300

// parseJSON parses data the way Python's json.loads does, with these
// deliberate differences (documented in the package doc): the non-standard
// tokens NaN, Infinity and -Infinity are rejected, and so are float literals
// beyond the float64 range (Python turns them into inf) and objects that
// repeat a key (*DuplicateKeyError; Python keeps the last value).
func parseJSON(data []byte) (Value, error) {
	if !utf8.Valid(data) {
		return Value{}, &SyntaxError{Msg: "input is not valid UTF-8", Line: 1, Column: 1}
	}
	p := &jsonParser{data: data}
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return Value{}, p.errAt("Unexpected UTF-8 BOM (decode using utf-8-sig)", 0)
	}
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipWS()
	if p.pos != len(p.data) {
		return Value{}, p.errAt("Extra data", p.pos)
	}
	return v, nil
}

type jsonParser struct {
	data []byte
	pos  int
}

func (p *jsonParser) errAt(msg string, pos int) *SyntaxError {
	line, col, chars := 1, 1, 0
	for i := 0; i < pos && i < len(p.data); {
		r, n := utf8.DecodeRune(p.data[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		chars++
		i += n
	}
	return &SyntaxError{Msg: msg, Line: line, Column: col, Offset: chars}
}

func (p *jsonParser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, p.errAt("Nesting too deep", p.pos)
	}
	if p.pos >= len(p.data) {
		return Value{}, p.errAt("Expecting value", p.pos)
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return Value{}, err
		}
		return String(s), nil
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case p.lit("null"):
		return Null(), nil
	case p.lit("true"):
		return Bool(true), nil
	case p.lit("false"):
		return Bool(false), nil
	case p.has("NaN") || p.has("Infinity"):
		return Value{}, p.errAt("NaN and Infinity are not JSON and cannot be hashed reproducibly", p.pos)
	}
	return Value{}, p.errAt("Expecting value", p.pos)
}

func (p *jsonParser) has(s string) bool {
	return len(p.data)-p.pos >= len(s) && string(p.data[p.pos:p.pos+len(s)]) == s
}

func (p *jsonParser) lit(s string) bool {
	if p.has(s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (Value, error) {
	p.pos++ // '{'
	obj := &Object{}
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return ObjectValue(obj), nil
	}
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.errAt("Expecting property name enclosed in double quotes", p.pos)
		}
		keyPos := p.pos
		key, err := p.str()
		if err != nil {
			return Value{}, err
		}
		// Has is a map lookup once the object is past a few members (see
		// Object.index), so this check keeps parsing linear.
		if obj.Has(key) {
			return Value{}, &DuplicateKeyError{Key: key, Offset: keyPos}
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.errAt("Expecting ':' delimiter", p.pos)
		}
		p.pos++
		p.skipWS()
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		obj.Set(key, v)
		p.skipWS()
		if p.pos >= len(p.data) {
			return Value{}, p.errAt("Expecting ',' delimiter", p.pos)
		}
		switch p.data[p.pos] {
		case '}':
			p.pos++
			return ObjectValue(obj), nil
		case ',':
			p.pos++
			p.skipWS()
		default:
			return Value{}, p.errAt("Expecting ',' delimiter", p.pos)
		}
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	p.pos++ // '['
	var arr []Value
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return Array(), nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		arr = append(arr, v)
		p.skipWS()
		if p.pos >= len(p.data) {
			return Value{}, p.errAt("Expecting ',' delimiter", p.pos)
		}
		switch p.data[p.pos] {
		case ']':
			p.pos++
			return Array(arr...), nil
		case ',':
			p.pos++
			p.skipWS()
		default:
			return Value{}, p.errAt("Expecting ',' delimiter", p.pos)
		}
	}
}

// str parses a string literal starting at the opening quote. Escaped lone
// surrogates (Python keeps them) are stored as their 3-byte WTF-8 form so that
// the canonical encoder can write them back as \udxxx.
func (p *jsonParser) str() (string, error) {
	start := p.pos
	p.pos++ // '"'
	// Fast path: no escapes.
	i := p.pos
	for i < len(p.data) {
		c := p.data[i]
		if c == '"' {
			s := string(p.data[p.pos:i])
			p.pos = i + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	buf := make([]byte, 0, i-p.pos+16)
	buf = append(buf, p.data[p.pos:i]...)
	p.pos = i
	for {
		if p.pos >= len(p.data) {
			return "", p.errAt("Unterminated string starting at", start)
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errAt("Invalid control character at", p.pos)
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		// escape
		if p.pos+1 >= len(p.data) {
			return "", p.errAt("Unterminated string starting at", start)
		}
		esc := p.data[p.pos+1]
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4(p.pos + 2)
			if !ok {
				return "", p.errAt("Invalid \\uXXXX escape", p.pos+1)
			}
			p.pos += 6
			if 0xD800 <= r && r <= 0xDBFF && p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
				if r2, ok := p.hex4(p.pos + 2); ok && 0xDC00 <= r2 && r2 <= 0xDFFF {
					p.pos += 6
					buf = utf8.AppendRune(buf, 0x10000+(r-0xD800)<<10+(r2-0xDC00))
					continue
				}
			}
			buf = appendWTF8(buf, r)
			continue
		default:
			return "", p.errAt("Invalid \\escape", p.pos)
		}
		p.pos += 2
	}
}

func (p *jsonParser) hex4(at int) (rune, bool) {
	if at+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[at : at+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c-'a') + 10
		case 'A' <= c && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

// appendWTF8 appends r, which may be a lone surrogate, in generalized UTF-8.
func appendWTF8(buf []byte, r rune) []byte {
	if 0xD800 <= r && r <= 0xDFFF {
		return append(buf, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return utf8.AppendRune(buf, r)
}

// decodeWTF8 decodes one code point of s, reporting lone surrogates (as
// stored by appendWTF8) as themselves.
func decodeWTF8(s string) (rune, int) {
	if len(s) >= 3 && s[0] == 0xED && s[1] >= 0xA0 && s[1] <= 0xBF && s[2]&0xC0 == 0x80 {
		return rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), 3
	}
	return utf8.DecodeRuneInString(s)
}

// hasSurrogate reports whether s holds a lone surrogate.
func hasSurrogate(s string) bool {
	for i := 0; i < len(s); {
		r, n := decodeWTF8(s[i:])
		if 0xD800 <= r && r <= 0xDFFF {
			return true
		}
		i += n
	}
	return false
}

// number parses a JSON number: an integer literal stays exact, a literal with
// a fraction or exponent becomes the nearest float64 (as Python's float()).
func (p *jsonParser) number() (Value, error) {
	start := p.pos
	i := p.pos
	if p.data[i] == '-' {
		i++
		if p.has("-Infinity") {
			return Value{}, p.errAt("NaN and Infinity are not JSON and cannot be hashed reproducibly", p.pos)
		}
	}
	if i >= len(p.data) || p.data[i] < '0' || p.data[i] > '9' {
		return Value{}, p.errAt("Expecting value", start)
	}
	if p.data[i] == '0' {
		i++
	} else {
		for i < len(p.data) && '0' <= p.data[i] && p.data[i] <= '9' {
			i++
		}
	}
	isFloat := false
	if i+1 < len(p.data) && p.data[i] == '.' && '0' <= p.data[i+1] && p.data[i+1] <= '9' {
		isFloat = true
		i += 2
		for i < len(p.data) && '0' <= p.data[i] && p.data[i] <= '9' {
			i++
		}
	}
	if i < len(p.data) && (p.data[i] == 'e' || p.data[i] == 'E') {
		j := i + 1
		if j < len(p.data) && (p.data[j] == '+' || p.data[j] == '-') {
			j++
		}
		if j < len(p.data) && '0' <= p.data[j] && p.data[j] <= '9' {
			for j < len(p.data) && '0' <= p.data[j] && p.data[j] <= '9' {
				j++
			}
			isFloat = true
			i = j
		}
	}
	lit := string(p.data[start:i])
	p.pos = i
	if isFloat {
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil && !math.IsInf(f, 0) {
			return Value{}, p.errAt("Invalid number "+lit, start)
		}
		if math.IsInf(f, 0) {
			return Value{}, p.errAt("Number "+truncate(lit, 40)+" is beyond the float64 range and cannot be hashed reproducibly", start)
		}
		return Float(f), nil
	}
	digits := lit
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) > maxIntDigits {
		return Value{}, p.errAt("Exceeds the limit (4300 digits) for integer string conversion", start)
	}
	if digits == "0" {
		lit = "0" // Python: int("-0") == 0
	}
	return Value{kind: KindInt, s: lit}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
