package envelope

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrNonFinite is returned when a NaN or infinite float would have to be
// canonicalized. The reference hashes the bare token NaN/Infinity but writes
// null to the file, so such an envelope could never verify after a reload
// (FACTS §2.4); this package refuses to produce it.
var ErrNonFinite = errors.New("non-finite number (NaN or Infinity) cannot be hashed reproducibly")

// appendCanonical appends v as Python's
// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
// writes it: object keys sorted by code point at every depth, no whitespace,
// non-ASCII escaped as lowercase \uXXXX (surrogate pairs above U+FFFF),
// floats in Python repr, integers in full.
func appendCanonical(b []byte, v Value) ([]byte, error) {
	switch v.kind {
	case KindNull:
		return append(b, "null"...), nil
	case KindBool:
		if v.b {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case KindInt:
		return append(b, v.s...), nil
	case KindFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return b, ErrNonFinite
		}
		return appendPyRepr(b, v.f), nil
	case KindString:
		return appendASCIIString(b, v.s), nil
	case KindArray:
		b = append(b, '[')
		for i, e := range v.arr {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCanonical(b, e); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case KindObject:
		ms := slices.Clone(v.obj.members)
		slices.SortFunc(ms, func(x, y Member) int { return compareCodePoints(x.Key, y.Key) })
		b = append(b, '{')
		for i, m := range ms {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendASCIIString(b, m.Key)
			b = append(b, ':')
			var err error
			if b, err = appendCanonical(b, m.Value); err != nil {
				return b, fmt.Errorf("%s: %w", join("", m.Key), err)
			}
		}
		return append(b, '}'), nil
	}
	return b, fmt.Errorf("unknown value kind %d", v.kind)
}

// compareCodePoints orders strings by code point, as Python sorts str. For
// valid UTF-8 (and WTF-8 lone surrogates) byte order is code point order.
func compareCodePoints(a, b string) int { return strings.Compare(a, b) }

const hexDigits = "0123456789abcdef"

// appendASCIIString writes s as Python's json with ensure_ascii=True.
func appendASCIIString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == 0x7F:
				b = appendU4(b, rune(c))
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := decodeWTF8(s[i:])
		i += n
		if r > 0xFFFF {
			r -= 0x10000
			b = appendU4(b, 0xD800+(r>>10))
			b = appendU4(b, 0xDC00+(r&0x3FF))
			continue
		}
		b = appendU4(b, r)
	}
	return append(b, '"')
}

func appendU4(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexDigits[r>>12&0xF], hexDigits[r>>8&0xF], hexDigits[r>>4&0xF], hexDigits[r&0xF])
}

// appendPyRepr appends f as Python's repr(float) does: the shortest digits
// that round-trip, in fixed notation with at least one fractional digit when
// the decimal exponent E of the leading digit satisfies -4 <= E < 16, else in
// scientific notation with a signed exponent of at least two digits.
func appendPyRepr(b []byte, f float64) []byte {
	return appendFloat(b, f, -4, 16, 2)
}

// appendPydanticFloat appends f as pydantic-core writes a float into a JSON
// file: fixed notation for 1e-5 <= |f| < 1e16 (and zero), else scientific
// with a signed, unpadded exponent ("1e-7", "1e+16").
func appendPydanticFloat(b []byte, f float64) []byte {
	return appendFloat(b, f, -5, 16, 1)
}

// appendFloat lays out the shortest round-trip digits of f. Fixed notation is
// used when minExp <= E < maxExp, where E is the decimal exponent of the
// leading digit; expDigits is the minimum exponent width.
func appendFloat(b []byte, f float64, minExp, maxExp, expDigits int) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // -d.ddde±XX
	neg := e[0] == '-'
	if neg {
		e = e[1:]
	}
	mant, exps, _ := strings.Cut(string(e), "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	if neg {
		b = append(b, '-')
	}
	if exp < minExp || exp >= maxExp {
		b = append(b, digits[0])
		if len(digits) > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if exp < 0 {
			b = append(b, '-')
			exp = -exp
		} else {
			b = append(b, '+')
		}
		es := strconv.Itoa(exp)
		for i := len(es); i < expDigits; i++ {
			b = append(b, '0')
		}
		return append(b, es...)
	}
	if exp < 0 {
		b = append(b, '0', '.')
		for i := -1; i > exp; i-- {
			b = append(b, '0')
		}
		return append(b, digits...)
	}
	intLen := exp + 1
	if len(digits) <= intLen {
		b = append(b, digits...)
		for i := len(digits); i < intLen; i++ {
			b = append(b, '0')
		}
		return append(b, '.', '0')
	}
	b = append(b, digits[:intLen]...)
	b = append(b, '.')
	return append(b, digits[intLen:]...)
}
