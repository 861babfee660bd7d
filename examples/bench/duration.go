package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// secondsFlag is a duration flag that takes either a number of seconds
// ("30", "1.5") or a Go duration ("30s", "2m", "1m30s"), so `--duration 10`
// and `--duration 10s` mean the same in every command. It rejects
// negative, non-finite and out-of-range values when set, with the flag's
// name, so a typo exits with the usage status.
type secondsFlag struct {
	d   time.Duration
	max time.Duration
}

func (f *secondsFlag) String() string {
	if f == nil || f.d == 0 {
		return "0"
	}
	return f.d.String()
}

func (f *secondsFlag) Set(s string) error {
	d, err := parseSeconds(s)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("%s is negative; give seconds (30) or a duration (30s)", s)
	}
	if f.max > 0 && d > f.max {
		return fmt.Errorf("%s is above the limit of %v", s, f.max)
	}
	f.d = d
	return nil
}

// parseSeconds reads "30", "1.5" or "30s".
func parseSeconds(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > float64(math.MaxInt64)/float64(time.Second) {
			return 0, fmt.Errorf("%s seconds is out of range", s)
		}
		return time.Duration(v * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds (30, 1.5) nor a duration (30s, 2m)", s)
	}
	return d, nil
}
