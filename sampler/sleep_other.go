//go:build !linux

package sampler

import "time"

// preciseSleep sleeps until t. Outside Linux it is an ordinary sleep.
func preciseSleep(t time.Time) { time.Sleep(time.Until(t)) }
