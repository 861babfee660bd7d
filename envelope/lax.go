package envelope

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file holds pydantic's lax-mode coercions for typed fields (FACTS §1.2,
// §2.3), which change what gets hashed.

var errIntRange = errors.New("integer beyond the int64 range (this port's limit for typed integer fields)")

// laxInt converts v as pydantic's lax int validator does: an integer, a
// boolean (1/0), an integral finite float below 2^63 in magnitude, or a
// string holding an integer (see strAsInt).
func laxInt(v Value) (int64, error) {
	switch v.Kind() {
	case KindInt:
		i, ok := v.AsInt64()
		if !ok {
			return 0, errIntRange
		}
		return i, nil
	case KindBool:
		if b, _ := v.AsBool(); b {
			return 1, nil
		}
		return 0, nil
	case KindFloat:
		f, _ := v.AsFloat64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, errors.New("must be a finite integer")
		}
		if f != math.Trunc(f) {
			return 0, fmt.Errorf("must be an integer, got %s with a fractional part", appendPyRepr(nil, f))
		}
		if f <= -(1<<63) || f >= 1<<63 {
			return 0, errIntRange
		}
		return int64(f), nil
	case KindString:
		s, _ := v.AsString()
		return strAsInt(s)
	}
	return 0, fmt.Errorf("must be an integer, got %s", v.Kind())
}

// strAsInt follows pydantic-core's str_as_int. First the JSON integer
// grammar -?(0|[1-9][0-9]*); failing that, the string is cleaned and parsed
// again: surrounding whitespace trimmed, one leading '+' then one '-'
// allowed, leading zeros dropped, a ".0…0" suffix dropped, and underscores
// between digits removed ("1_000"). "42.", "42.5", "4.2e1" and "0x1A" fail.
func strAsInt(s string) (int64, error) {
	if len(s) > maxIntDigits {
		return 0, errIntRange
	}
	fail := func() (int64, error) {
		return 0, fmt.Errorf("must be an integer, got the string %q that is not one", s)
	}
	if isJSONInt(s) {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, errIntRange
		}
		return i, nil
	}
	t := strings.TrimSpace(s)
	neg := false
	switch {
	case strings.HasPrefix(t, "+"):
		t = t[1:]
	case strings.HasPrefix(t, "-"):
		neg, t = true, t[1:]
	}
	if strings.HasPrefix(t, "0") {
		t = strings.TrimLeft(t, "0_")
		if t == "" || t[0] == '.' {
			t = "0" + t
		}
	}
	if whole, frac, found := strings.Cut(t, "."); found {
		if frac == "" || strings.Trim(frac, "0") != "" {
			return fail()
		}
		t = whole
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return fail()
	}
	t = strings.ReplaceAll(t, "_", "")
	for i := range len(t) {
		if t[i] < '0' || t[i] > '9' {
			return fail()
		}
	}
	if neg {
		t = "-" + t
	}
	i, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, errIntRange
	}
	return i, nil
}

// isJSONInt matches -?(0|[1-9][0-9]*).
func isJSONInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// laxBool converts v as pydantic's lax bool validator does: a boolean, the
// integers 0 and 1, the floats 0.0 and 1.0, or one of the strings
// 0/off/f/false/n/no and 1/on/t/true/y/yes in any case.
func laxBool(v Value) (bool, error) {
	switch v.Kind() {
	case KindBool:
		b, _ := v.AsBool()
		return b, nil
	case KindInt, KindFloat:
		f, _ := v.AsFloat64()
		switch {
		case f == 0 && v.Kind() == KindInt:
			return false, nil
		case f == 1 && v.Kind() == KindInt:
			return true, nil
		case f == 0:
			return false, nil
		case f == 1:
			return true, nil
		}
	case KindString:
		s, _ := v.AsString()
		switch strings.ToLower(s) {
		case "0", "off", "f", "false", "n", "no":
			return false, nil
		case "1", "on", "t", "true", "y", "yes":
			return true, nil
		}
	}
	return false, fmt.Errorf("must be a boolean, got %s", v.GoString())
}

func isUnicodeDigit(r rune) bool { return unicode.Is(unicode.Nd, r) }

// isWordChar matches the Unicode \w of the Rust regex crate:
// Alphabetic, Mark, Decimal_Number, Connector_Punctuation, Join_Control.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		unicode.Is(unicode.Join_Control, r)
}

// parseTimestampValue accepts what pydantic's datetime validator accepts and
// the envelope's aware-datetime check keeps: an RFC 3339 string with a
// timezone (see ParseTimestamp), or a unix time in seconds (milliseconds when
// its magnitude exceeds 2e10), read as UTC. Booleans are rejected.
func parseTimestampValue(v Value) (time.Time, error) {
	switch v.Kind() {
	case KindInt:
		if i, ok := v.AsInt64(); ok {
			return unixInt(i)
		}
		f, _ := v.AsFloat64()
		return unixFloat(f, true)
	case KindFloat:
		f, _ := v.AsFloat64()
		return unixFloat(f, true)
	case KindString:
		s, _ := v.AsString()
		return ParseTimestamp(s)
	}
	return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp string, got %s", v.Kind())
}

// Unix-time limits of pydantic's datetime: 0000-01-01 to 9999-12-31, and
// year 0 is then refused by Python.
const (
	minUnixSecond = -62135596800 // 0001-01-01T00:00:00Z
	maxUnixSecond = 253402300799 // 9999-12-31T23:59:59Z
	msWatershed   = 20_000_000_000
)

var errUnixRange = errors.New("unix time out of the range of years 1 to 9999")

func unixInt(ts int64) (time.Time, error) {
	sec, us := ts, int64(0)
	if ts > msWatershed || ts < -msWatershed {
		sec, us = floorDiv(ts, 1000), floorMod(ts, 1000)*1000
	}
	if sec < minUnixSecond || sec > maxUnixSecond {
		return time.Time{}, errUnixRange
	}
	return time.Unix(sec, us*1000).UTC(), nil
}

// unixFloat converts a float unix time like speedate: seconds = floor(x) and
// microseconds = round(|fract(x)|·1e6). For a JSON float (pyQuirk) the
// fraction of a negative number is added, not subtracted, reproducing
// pydantic-core: -1.25 becomes 23:59:58.250000.
func unixFloat(x float64, pyQuirk bool) (time.Time, error) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return time.Time{}, errUnixRange
	}
	scale := 1e6
	ms := math.Abs(x) > msWatershed
	if ms {
		scale = 1e3
	}
	whole := math.Floor(x)
	frac := x - whole
	if pyQuirk {
		frac = math.Abs(x - math.Trunc(x))
	}
	extra := math.Round(frac * scale)
	if extra >= scale {
		whole++
		extra -= scale
	}
	if whole < -1e17 || whole > 1e17 {
		return time.Time{}, errUnixRange
	}
	var sec, us int64
	if ms {
		sec, us = floorDiv(int64(whole), 1000), floorMod(int64(whole), 1000)*1000+int64(extra)
	} else {
		sec, us = int64(whole), int64(extra)
	}
	if sec < minUnixSecond || sec > maxUnixSecond {
		return time.Time{}, errUnixRange
	}
	return time.Unix(sec, us*1000).UTC(), nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

// ParseTimestamp parses a timestamp string the way pydantic (speedate) does:
// date YYYY-MM-DD, separator T, t, space or _, time HH:MM[:SS[(.|,)fraction]]
// with digits beyond microseconds truncated, and a zone Z, z or ±HH[:]MM
// (U+2212 allowed as the minus sign), nothing after it. Failing that, a
// string holding a number is read as a unix time, as pydantic does. A
// timestamp without a zone is rejected, since the envelope requires an
// aware datetime; so is surrounding whitespace.
func ParseTimestamp(s string) (time.Time, error) {
	t, err := parseRFC3339(s)
	if err == nil {
		return t, nil
	}
	if t, ok := parseUnixString(s); ok {
		return t, nil
	}
	return time.Time{}, err
}

// parseUnixString is pydantic's fallback for a string that is not RFC 3339:
// the whole string read as a unix time, an integer [+-]?[0-9]+ or a decimal
// number with a '.'.
func parseUnixString(s string) (time.Time, bool) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" {
		return time.Time{}, false
	}
	intPart, _, hasDot := strings.Cut(digits, ".")
	for i := range len(intPart) {
		if intPart[i] < '0' || intPart[i] > '9' {
			return time.Time{}, false
		}
	}
	if !hasDot {
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		t, err := unixInt(i)
		return t, err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || strings.ContainsAny(s, "_xXpP") {
		return time.Time{}, false
	}
	t, err := unixFloat(f, false)
	return t, err == nil
}

func parseRFC3339(s string) (time.Time, error) {
	bad := func(why string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("must be an RFC 3339 timestamp with a timezone: %s in %q", why, s)
	}
	p := s
	num := func(n int) (int, bool) {
		if len(p) < n {
			return 0, false
		}
		v := 0
		for i := range n {
			c := p[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		p = p[n:]
		return v, true
	}
	lit := func(c byte) bool {
		if p != "" && p[0] == c {
			p = p[1:]
			return true
		}
		return false
	}
	year, ok := num(4)
	if !ok || !lit('-') {
		return bad("invalid date")
	}
	month, ok := num(2)
	if !ok || !lit('-') {
		return bad("invalid date")
	}
	day, ok := num(2)
	if !ok {
		return bad("invalid date")
	}
	if year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return bad("date out of range")
	}
	if p == "" {
		return bad("no time and no timezone (naive datetime)")
	}
	if !(lit('T') || lit('t') || lit(' ') || lit('_')) {
		return bad("invalid date-time separator")
	}
	hour, ok := num(2)
	if !ok || !lit(':') {
		return bad("invalid time")
	}
	minute, ok := num(2)
	if !ok {
		return bad("invalid time")
	}
	second, nanos := 0, 0
	if lit(':') {
		if second, ok = num(2); !ok {
			return bad("invalid time")
		}
		if lit('.') || lit(',') {
			n := 0
			for p != "" && p[0] >= '0' && p[0] <= '9' {
				if n < 6 {
					nanos = nanos*10 + int(p[0]-'0')
				}
				n++
				p = p[1:]
			}
			if n == 0 {
				return bad("invalid fraction")
			}
			for i := min(n, 6); i < 6; i++ {
				nanos *= 10
			}
			nanos *= 1000
		}
	}
	if hour > 23 || minute > 59 || second > 59 {
		return bad("time out of range")
	}
	var loc *time.Location
	switch {
	case p == "":
		return bad("no timezone (naive datetime)")
	case lit('Z') || lit('z'):
		loc = time.UTC
	case p[0] == '+' || p[0] == '-' || strings.HasPrefix(p, "\u2212"):
		sign := 1
		switch {
		case p[0] == '+':
			p = p[1:]
		case p[0] == '-':
			sign = -1
			p = p[1:]
		default:
			sign = -1
			p = p[len("\u2212"):]
		}
		oh, ok := num(2)
		if !ok {
			return bad("invalid timezone")
		}
		lit(':')
		om, ok := num(2)
		if !ok || oh > 23 || om > 59 {
			return bad("invalid timezone")
		}
		off := sign * (oh*3600 + om*60)
		if off == 0 {
			loc = time.UTC
		} else {
			loc = time.FixedZone("", off)
		}
	default:
		return bad("invalid timezone")
	}
	if p != "" {
		return bad("trailing characters")
	}
	return time.Date(year, time.Month(month), day, hour, minute, second, nanos, loc), nil
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
