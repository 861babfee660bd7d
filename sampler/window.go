package sampler

import (
	"context"
	"time"
)

// WindowEnergyReader is implemented by samplers whose source keeps the
// history of its energy counters (a Prometheus server, sampler/prometheus)
// and can therefore give each device's energy over a window after the fact,
// from the source's own samples on both sides of the window's edges rather
// than from the readings Sample took on ticks, and say where those samples
// have gaps or resets.
//
// WindowEnergy returns one entry per device of kind KindGPU, KindCPUPackage
// or KindDRAM that Sample reads, in Sample's order, with the same names.
// start and end are wall-clock times: a run's origin plus the measurement
// window's offsets. It may wait, within ctx, for the source to hold samples
// past end (a few of its sample intervals at most). It must be safe to call
// concurrently with Sample and after sampling has stopped; it must be
// called before Close.
type WindowEnergyReader interface {
	WindowEnergy(ctx context.Context, start, end time.Time) ([]DeviceEnergy, error)
}

// DeviceEnergy is one device's energy over a window.
type DeviceEnergy struct {
	Device string
	Kind   Kind
	// EnergyJ is the device's energy over the window in joules, NaN when
	// it could not be measured (Warnings say why).
	EnergyJ float64
	// Covered is how much of the window the source's samples cover: the
	// window's length unless the device's series began late or ended
	// early, in which case the energy outside it is not counted.
	Covered time.Duration
	// Warnings are remarks on the figure: a counter reset bridged, a
	// series that ended before the window did, a counter that the exporter
	// updates less often than it is sampled.
	Warnings []string
}
