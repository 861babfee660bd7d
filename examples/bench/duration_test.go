package main

import (
	"testing"
	"time"
)

func TestSecondsFlag(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"30", 30 * time.Second, false},
		{"1.5", 1500 * time.Millisecond, false},
		{"10s", 10 * time.Second, false},
		{"2m", 2 * time.Minute, false},
		{"0", 0, false},
		{"-1", 0, true},
		{"-1s", 0, true},
		{"9223372037", 0, true}, // would overflow time.Duration
		{"25h", 0, true},        // above the limit
		{"1e400", 0, true},
		{"NaN", 0, true},
		{"Inf", 0, true},
		{"ten", 0, true},
		{"", 0, true},
	} {
		f := secondsFlag{max: 24 * time.Hour}
		err := f.Set(tc.in)
		if (err != nil) != tc.wantErr || (err == nil && f.d != tc.want) {
			t.Errorf("Set(%q) = %v, %v; want %v, error %v", tc.in, f.d, err, tc.want, tc.wantErr)
		}
	}
}
