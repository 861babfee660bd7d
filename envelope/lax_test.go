package envelope

import (
	"math"
	"testing"
	"time"
)

func TestStrAsInt(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"42", 42, true},
		{" 42\n", 42, true},
		{"+42", 42, true},
		{"007", 7, true},
		{"-007", -7, true},
		{"00", 0, true},
		{"-0", 0, true},
		{"1_000", 1000, true},
		{"1_000.00", 1000, true},
		{"42.0", 42, true},
		{"0.0", 0, true},
		{"42.", 0, false},
		{"42.5", 0, false},
		{"4.2e1", 0, false},
		{"1e3", 0, false},
		{"0x1A", 0, false},
		{"1__0", 0, false},
		{"_1", 0, false},
		{"1_", 0, false},
		{"1 0", 0, false},
		{"", 0, false},
		{"+-1", 0, false},
		{"--1", 0, false},
		{"-+1", 0, false},
		{"٤٢", 0, false},
	}
	for _, tt := range tests {
		got, err := strAsInt(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("strAsInt(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLaxIntAndBool(t *testing.T) {
	ints := []struct {
		in   Value
		want int64
		ok   bool
	}{
		{Int(3), 3, true},
		{Bool(true), 1, true},
		{Float(42), 42, true},
		{Float(math.Copysign(0, -1)), 0, true},
		{Float(1e18), 1e18, true},
		{Float(1e20), 0, false},
		{Float(42.5), 0, false},
		{String("42"), 42, true},
		{Null(), 0, false},
	}
	for _, tt := range ints {
		got, err := laxInt(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("laxInt(%#v) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	bools := []struct {
		in   Value
		want bool
		ok   bool
	}{
		{Bool(true), true, true},
		{Int(0), false, true},
		{Int(1), true, true},
		{Int(2), false, false},
		{Float(1), true, true},
		{Float(0.5), false, false},
		{String("YES"), true, true},
		{String("off"), false, true},
		{String(" true"), false, false},
		{String("01"), false, false},
		{Null(), false, false},
	}
	for _, tt := range bools {
		got, err := laxBool(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("laxBool(%#v) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// TestTimestamps pins the timestamp forms pydantic accepts and how they are
// re-rendered into the canonical form.
func TestTimestamps(t *testing.T) {
	tests := []struct {
		in   Value
		want string // "" = rejected
	}{
		{String("2026-06-13T05:32:17.687700Z"), "2026-06-13T05:32:17.687700Z"},
		{String("2026-06-13T05:32:17Z"), "2026-06-13T05:32:17Z"},
		{String("2026-06-13T05:32:17.5Z"), "2026-06-13T05:32:17.500000Z"},
		{String("2026-06-13T05:32:17.687700+00:00"), "2026-06-13T05:32:17.687700Z"},
		{String("2026-06-13T05:32:17-00:00"), "2026-06-13T05:32:17Z"},
		{String("2026-06-13T05:32:17+05:30"), "2026-06-13T05:32:17+05:30"},
		{String("2026-06-13 05:32:17+0530"), "2026-06-13T05:32:17+05:30"},
		{String("2026-06-13T05:32:17\u221205:00"), "2026-06-13T05:32:17-05:00"},
		{String("2026-06-13T05:32:17.123456789Z"), "2026-06-13T05:32:17.123456Z"},
		{String("2026-06-13t05:32:17z"), "2026-06-13T05:32:17Z"},
		{String("2026-06-13_05:32:17Z"), "2026-06-13T05:32:17Z"},
		{String("2026-06-13T05:32Z"), "2026-06-13T05:32:00Z"},
		{String("2026-06-13t05:32:17,5Z"), "2026-06-13T05:32:17.500000Z"},
		{String("1781328737"), "2026-06-13T05:32:17Z"},
		{String("+1781328737"), "2026-06-13T05:32:17Z"},
		{String("2026"), "1970-01-01T00:33:46Z"},
		{String("1654646400.1234568"), "2022-06-08T00:00:00.123457Z"},
		{String("1000000000000"), "2001-09-09T01:46:40Z"},
		{Int(1781328737), "2026-06-13T05:32:17Z"},
		{Int(20_000_000_000), "2603-10-11T11:33:20Z"},
		{Int(20_000_000_001), "1970-08-20T11:33:20.001000Z"},
		{Int(-1), "1969-12-31T23:59:59Z"},
		{Float(-1.25), "1969-12-31T23:59:58.250000Z"}, // pydantic-core's quirk, reproduced
		{Float(1.5), "1970-01-01T00:00:01.500000Z"},
		{String("2026-06-13T05:32:17"), ""},
		{String("2026-06-13"), ""},
		{String("2026-06-13T05:32:60Z"), ""},
		{String("2026-06-13T5:32Z"), ""},
		{String("2026-06-13T05:32:17+05"), ""},
		{String("2026-06-13T05:32:17+24:00"), ""},
		{String("2026-06-13T05:32:17Z "), ""},
		{String(" 2026-06-13T05:32:17Z"), ""},
		{String("2026-06-13T05:32:17 Z"), ""},
		{String("2026-06-13T05:32.5Z"), ""},
		{String("2026-02-30T05:32:17Z"), ""},
		{String("0000-12-31T23:59:59Z"), ""},
		{String("1e9"), ""},
		{Bool(true), ""},
		{Int(253_402_300_800_000), ""},
	}
	for _, tt := range tests {
		ts, err := parseTimestampValue(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("timestamp %#v accepted as %s; want rejected", tt.in, FormatTimestamp(ts))
			}
			continue
		}
		if err != nil {
			t.Errorf("timestamp %#v rejected: %v", tt.in, err)
			continue
		}
		if got := FormatTimestamp(ts); got != tt.want {
			t.Errorf("timestamp %#v = %s; want %s", tt.in, got, tt.want)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(999, 1, 2, 3, 4, 5, 0, time.UTC), "0999-01-02T03:04:05Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 120_000_999, time.UTC), "2026-01-02T03:04:05.120000Z"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 5*3600+30*60+45)), "2026-01-02T03:04:05+05:30"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3600)), "2026-01-02T03:04:05-01:00"},
	}
	for _, tt := range tests {
		if got := FormatTimestamp(tt.t); got != tt.want {
			t.Errorf("FormatTimestamp(%v) = %s; want %s", tt.t, got, tt.want)
		}
	}
}
