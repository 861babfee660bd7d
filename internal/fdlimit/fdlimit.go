package fdlimit

import (
	"errors"
	"fmt"
)

// Reserve is the number of descriptors set aside beside one per request in
// flight: standard streams, output files, samplers, the NVML library, the
// probe's connections and whatever the runtime holds.
const Reserve = 64

// ErrTooLow is wrapped by Check's error when the limit is below the need.
var ErrTooLow = errors.New("the open-file limit is too low for the planned load")

// Check returns an error wrapping ErrTooLow when the process's open-file
// limit is below inFlight + Reserve. It returns nil where the platform has
// no such limit or it cannot be read.
func Check(inFlight int) error {
	limit, ok := current()
	if !ok {
		return nil
	}
	return check(inFlight, limit)
}

func check(inFlight int, limit uint64) error {
	need := uint64(max(inFlight, 0)) + Reserve
	if limit >= need {
		return nil
	}
	return fmt.Errorf("%w: %d requests in flight need about %d open files, but the limit (ulimit -n) is %d; "+
		"raise it (ulimit -n %d) or plan fewer requests in flight", ErrTooLow, inFlight, need, limit, roundUp(need))
}

// roundUp suggests a limit: the next power of two at or above n.
func roundUp(n uint64) uint64 {
	p := uint64(1024)
	for p < n {
		p *= 2
	}
	return p
}
