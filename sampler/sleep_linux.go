package sampler

import (
	"errors"
	"syscall"
	"time"
)

// preciseSleep sleeps until t in nanosleep(2), whose wake-up is within
// the kernel's timer slack (50 µs by default) rather than the Go poller's
// millisecond. The goroutine's thread blocks in the kernel meanwhile; the
// Go scheduler hands its P to other goroutines as for any system call.
func preciseSleep(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := syscall.NsecToTimespec(int64(d))
		if err := syscall.Nanosleep(&ts, nil); err != nil && !errors.Is(err, syscall.EINTR) {
			time.Sleep(time.Until(t)) // cannot happen with a valid timespec
			return
		}
	}
}
