package fdlimit

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		inFlight int
		limit    uint64
		wantErr  bool
	}{
		{"plenty", 16, 1 << 20, false},
		{"exactly enough", 1024, 1024 + Reserve, false},
		{"ulimit 256 at c=1024", 1024, 256, true},
		{"one short", 100, 100 + Reserve - 1, true},
		{"no load", 0, Reserve, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := check(tc.inFlight, tc.limit)
			if (err != nil) != tc.wantErr {
				t.Fatalf("check(%d, %d) = %v, want error %v", tc.inFlight, tc.limit, err, tc.wantErr)
			}
			if err != nil && (!errors.Is(err, ErrTooLow) || !strings.Contains(err.Error(), "ulimit -n")) {
				t.Errorf("error %q does not wrap ErrTooLow or say what to raise", err)
			}
		})
	}
	if got := check(1024, 256).Error(); !strings.Contains(got, "ulimit -n 2048") {
		t.Errorf("suggested limit in %q; want 2048 (the power of two above 1088)", got)
	}
}

// TestCheckThisProcess only checks that reading the real limit works: a
// test process needs far fewer than its limit.
func TestCheckThisProcess(t *testing.T) {
	if err := Check(1); err != nil {
		t.Fatalf("Check(1) on this machine: %v", err)
	}
}
