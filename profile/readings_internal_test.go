package profile

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// TestWaitPast: the load waits until every sampler's latest reading holds
// only values read at or after the idle window's end — an energy counter
// read EnergyLag before its tick reaches only its own time — and not
// longer than its bound, nor past ctx.
func TestWaitPast(t *testing.T) {
	reading := func(at, lag time.Duration) *sampler.Reading {
		d := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
		if lag > 0 {
			d.EnergyJ, d.EnergyLag = 1, lag
		}
		return &sampler.Reading{At: at, Devices: []sampler.DeviceReading{d}}
	}
	const end = 100 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		f := newFirstReadings(2)
		f.saw(0, reading(end+time.Millisecond, 0))
		f.saw(1, reading(end+5*time.Millisecond, 10*time.Millisecond)) // its counter was read before the end
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- f.waitPast(context.Background(), end, time.Hour) }()
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("waitPast returned (%v) while sampler 1's counter predates the end", err)
		default:
		}
		f.saw(1, reading(end+20*time.Millisecond, 10*time.Millisecond))
		if err := <-done; err != nil || time.Since(start) != 20*time.Millisecond {
			t.Errorf("waitPast = %v after %v; want nil once sampler 1 read past the end, at 20ms", err, time.Since(start))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		f := newFirstReadings(1) // a sampler that never reads
		start := time.Now()
		if err := f.waitPast(context.Background(), end, 300*time.Millisecond); err != nil || time.Since(start) != 300*time.Millisecond {
			t.Errorf("waitPast = %v after %v; want nil at the 300ms bound", err, time.Since(start))
		}
		cause := errors.New("stopped")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(time.Millisecond, func() { cancel(cause) })
		if err := f.waitPast(ctx, end, time.Hour); !errors.Is(err, cause) {
			t.Errorf("waitPast after ctx ended = %v; want its cause", err)
		}
	})
}
