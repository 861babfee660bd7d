// Package nvml samples NVIDIA GPUs through NVML: power, utilization and
// memory on every tick; the energy counter, clocks, temperature and
// clock-event reasons on a slower cadence. It is the module's only cgo
// package.
//
// [Open] initializes NVML, takes stock of the GPUs ([Sampler.Inventory],
// for the hardware fingerprint) and starts one worker goroutine per sampled
// GPU, so that [Sampler.Sample] reads all GPUs in parallel: eight GPUs hold
// a 10 ms interval even when every NVML call takes 100 µs. (A goroutine
// inside an NVML call keeps its P until the Go runtime hands it off, so
// with GOMAXPROCS below the number of GPUs a tick takes longer: for 8 GPUs
// at 100 µs per call on a 2-core machine, about 1.7 ms with GOMAXPROCS=2
// against 1.3 ms with 8.) Clocks, temperature and clock-event reasons, which double
// a GPU's calls, and the energy counter, which costs 2-3 ms per read on an
// H200 (15 ms at p99, against under a microsecond for the power) and
// changes only every 100 ms there, are read on slower cadences staggered
// across the GPUs ([WithSlowInterval], [WithEnergyInterval]), after a tick
// rather than in it (they come with the next tick), so that they neither
// lengthen a tick nor move its time. An energy value read so carries its
// age, [sampler.DeviceReading].EnergyLag, and the closing reading
// ([Sampler.SampleFull]) reads everything in the tick.
// [Sampler.Close] stops the workers, waits for them and shuts NVML down.
//
// Power and energy come from nvmlDeviceGetFieldValues (FI_DEV_POWER_INSTANT
// and FI_DEV_TOTAL_ENERGY_CONSUMPTION, each in a call of its own). Where the GPU
// or driver lacks them, the sampler falls back to nvmlDeviceGetPowerUsage,
// which Ampere and later GPUs average over one second, and says so in
// [Sampler.Describe]. The energy counter is made monotonic: a decrease (a
// driver reload or GPU reset) continues from the last value and is counted
// in [Sampler.Health]. At Open the sampler also reads the power for a short
// while to measure how often the sensor really updates (see
// [WithSensorProbe]), and it measures the period again from its ticks once
// they show enough updates (an H200's probe at Open often sees none: its
// power changes every 100 ms, in two steps a few ms apart); a trace
// sampled faster repeats values.
//
// A field that NVML reports as ERROR_NOT_SUPPORTED is absent (NaN), never a
// failure. Other failures of one field make it absent and are counted in
// [Sampler.Health]; Sample fails only when no GPU yielded any value. Errors
// wrap NVML's status (a [Return], which is an error), so
// errors.Is(err, nvml.ERROR_NO_PERMISSION) works; a missing library, driver
// or GPU wraps [sampler.ErrUnavailable].
//
// [Sampler.Processes] lists the processes running on each GPU
// (nvmlDeviceGetComputeRunningProcesses and
// nvmlDeviceGetGraphicsRunningProcesses), to map an engine's PIDs to the
// GPUs it uses.
//
// # The binding
//
// The package binds NVML itself, in one small cgo file: [Open] loads
// libnvidia-ml.so.1 (or [WithLibraryPath]) with dlopen and looks up with
// dlsym only the functions it calls, the newest version of each first. The
// C types it needs are declared from NVML's documented ABI, so no NVML
// header is compiled and a build prints no compiler warning. A function
// the driver's library lacks is not an error at load time: calling it
// answers ERROR_FUNCTION_NOT_FOUND, which the sampler treats like
// ERROR_NOT_SUPPORTED (an older call instead, or the value absent). The
// calls go through the [Library] and [Device] interfaces, and
// [WithInterface] puts a fake in their place for tests. (Versions before
// this binding used github.com/NVIDIA/go-nvml, and WithInterface took its
// nvml.Interface.)
//
// Builds without cgo, or for other systems than Linux, get a stub whose
// Open returns an error wrapping sampler.ErrUnavailable; [WithInterface],
// [Library] and [Device] exist only in Linux cgo builds, [Return] and its
// values in every build.
package nvml
