//go:build linux && cgo

package nvml

// Library is the part of the NVML API that the sampler calls: the seam
// between the sampler and the C library, so that tests can put a fake in
// its place (WithInterface). Open uses the package's own binding, which
// loads libnvidia-ml.so.1 with dlopen (see WithLibraryPath).
//
// Each method is one NVML function, named in its documentation; the
// statuses are NVML's. The contract an implementation keeps:
//
//   - Init is called first, once. When it fails, no other method is called,
//     not even Shutdown. Otherwise Shutdown is called once, last, after
//     every other call has returned.
//   - Between the two, methods of the Library and of its Devices are called
//     concurrently from several goroutines (one per sampled GPU, and
//     Sampler.Processes), as NVML allows: an implementation must be safe
//     for concurrent use.
//   - A method whose NVML function the library lacks (an older driver)
//     returns ERROR_FUNCTION_NOT_FOUND and does nothing else; the sampler
//     then falls back or leaves the value out, as for ERROR_NOT_SUPPORTED.
//   - Calls do not block beyond NVML's own latency, and take no context:
//     NVML calls cannot be cancelled.
//
// The interfaces list exactly the functions this package calls. A later
// version that calls more will look for them with a type assertion on an
// optional interface, and treat an implementation without them as a
// library that lacks the function.
type Library interface {
	// Init is nvmlInit_v2.
	Init() Return
	// Shutdown is nvmlShutdown.
	Shutdown() Return
	// DriverVersion is nvmlSystemGetDriverVersion ("550.54.15").
	DriverVersion() (string, Return)
	// CUDADriverVersion is nvmlSystemGetCudaDriverVersion (12040 for 12.4).
	CUDADriverVersion() (int, Return)
	// DeviceCount is nvmlDeviceGetCount_v2.
	DeviceCount() (int, Return)
	// DeviceByIndex is nvmlDeviceGetHandleByIndex_v2. The Device is valid
	// until Shutdown.
	DeviceByIndex(index int) (Device, Return)
}

// Device is one GPU's handle (nvmlDevice_t) and the NVML functions the
// sampler calls on it. Library's contract applies to its methods.
type Device interface {
	// UUID is nvmlDeviceGetUUID ("GPU-5e3c…").
	UUID() (string, Return)
	// Name is nvmlDeviceGetName ("NVIDIA H100 80GB HBM3").
	Name() (string, Return)
	// PCIInfo is nvmlDeviceGetPciInfo_v3.
	PCIInfo() (PCIInfo, Return)
	// Serial is nvmlDeviceGetSerial.
	Serial() (string, Return)
	// VBIOSVersion is nvmlDeviceGetVbiosVersion.
	VBIOSVersion() (string, Return)

	// FieldValues is nvmlDeviceGetFieldValues: it fills values, whose
	// FieldID (and ScopeID) the caller set, with each value's status, type
	// and value. The caller owns values; the implementation must not keep
	// it after returning.
	FieldValues(values []FieldValue) Return
	// PowerUsage is nvmlDeviceGetPowerUsage, in mW (a 1-second average on
	// Ampere and later GPUs).
	PowerUsage() (uint32, Return)
	// TotalEnergyConsumption is nvmlDeviceGetTotalEnergyConsumption, in mJ
	// since the driver was last loaded.
	TotalEnergyConsumption() (uint64, Return)
	// UtilizationRates is nvmlDeviceGetUtilizationRates.
	UtilizationRates() (Utilization, Return)
	// MemoryInfo is nvmlDeviceGetMemoryInfo.
	MemoryInfo() (Memory, Return)
	// ClockInfo is nvmlDeviceGetClockInfo, in MHz.
	ClockInfo(clock ClockType) (uint32, Return)
	// Temperature is nvmlDeviceGetTemperature, in °C.
	Temperature(sensor TemperatureSensor) (uint32, Return)
	// ClocksEventReasons is nvmlDeviceGetCurrentClocksEventReasons: a
	// bit mask of why the clocks are below their maximum.
	ClocksEventReasons() (uint64, Return)
	// ClocksThrottleReasons is nvmlDeviceGetCurrentClocksThrottleReasons,
	// the same mask under its older name, for drivers that lack
	// ClocksEventReasons.
	ClocksThrottleReasons() (uint64, Return)

	// ComputeRunningProcesses is nvmlDeviceGetComputeRunningProcesses: the
	// processes with a compute context on the GPU. The caller owns the
	// result.
	ComputeRunningProcesses() ([]ProcessInfo, Return)
	// GraphicsRunningProcesses is nvmlDeviceGetGraphicsRunningProcesses:
	// the processes with a graphics context on the GPU. The caller owns the
	// result.
	GraphicsRunningProcesses() ([]ProcessInfo, Return)
}

// NVML field identifiers (NVML_FI_*) that the sampler reads with
// Device.FieldValues.
const (
	// FI_DEV_TOTAL_ENERGY_CONSUMPTION is the energy counter, in mJ since
	// the driver was last loaded.
	FI_DEV_TOTAL_ENERGY_CONSUMPTION uint32 = 83
	// FI_DEV_POWER_INSTANT is the current power, in mW.
	FI_DEV_POWER_INSTANT uint32 = 186
)

// FieldValue is nvmlFieldValue_t: one request and answer of
// Device.FieldValues. Its layout is the C struct's, so that the binding
// passes a slice of them to NVML as it is.
type FieldValue struct {
	// FieldID is the field to read (an FI_* identifier), set by the caller.
	FieldID uint32
	// ScopeID selects a part of the field (an NVLink, …), set by the caller.
	ScopeID uint32
	// Timestamp is when NVML sampled the value, in µs since 1970.
	Timestamp int64
	// LatencyUsec is how long NVML took to update the value.
	LatencyUsec int64
	// ValueType says how to read Value.
	ValueType ValueType
	// Return is the status of this field; Value is valid only on SUCCESS.
	Return Return
	// Value is the value, in the machine's byte order, as ValueType says.
	Value [8]byte
}

// ValueType is nvmlValueType_t: the type of a FieldValue's Value.
type ValueType uint32

// The value types, as nvml.h defines them.
const (
	VALUE_TYPE_DOUBLE             ValueType = 0
	VALUE_TYPE_UNSIGNED_INT       ValueType = 1
	VALUE_TYPE_UNSIGNED_LONG      ValueType = 2
	VALUE_TYPE_UNSIGNED_LONG_LONG ValueType = 3
	VALUE_TYPE_SIGNED_LONG_LONG   ValueType = 4
	VALUE_TYPE_SIGNED_INT         ValueType = 5
	VALUE_TYPE_UNSIGNED_SHORT     ValueType = 6
)

// ClockType is nvmlClockType_t.
type ClockType int32

// The clock domains the sampler reads.
const (
	CLOCK_SM  ClockType = 1
	CLOCK_MEM ClockType = 2
)

// TemperatureSensor is nvmlTemperatureSensors_t.
type TemperatureSensor int32

// TEMPERATURE_GPU is the GPU die's sensor.
const TEMPERATURE_GPU TemperatureSensor = 0

// Utilization is nvmlUtilization_t: the percent of the last sample period
// in which a kernel ran (GPU) and in which device memory was read or
// written (Memory).
type Utilization struct {
	GPU, Memory uint32
}

// Memory is nvmlMemory_t, in bytes.
type Memory struct {
	Total, Free, Used uint64
}

// PCIInfo is the part of nvmlPciInfo_t that the sampler uses.
type PCIInfo struct {
	// BusID is the domain:bus:device.function tuple ("00000000:18:00.0").
	BusID string
	// Domain, Bus and Device locate the GPU on the PCI bus.
	Domain, Bus, Device uint32
	// PCIDeviceID is the device id (high 16 bits) and vendor id (low 16).
	PCIDeviceID uint32
	// PCISubSystemID is the subsystem device id.
	PCISubSystemID uint32
}

// ProcessInfo is nvmlProcessInfo_t: a process with a context on a GPU.
type ProcessInfo struct {
	// PID is the process id, in the PID namespace the driver sees.
	PID uint32
	// UsedGPUMemory is the device memory the process uses, in bytes, or
	// ValueNotAvailable.
	UsedGPUMemory uint64
	// GPUInstanceID and ComputeInstanceID locate the process in a MIG
	// partition; both are NoInstance without MIG, and from a driver
	// whose NVML lists processes only in the oldest format.
	GPUInstanceID, ComputeInstanceID uint32
}

// ValueNotAvailable is NVML_VALUE_NOT_AVAILABLE as an unsigned 64-bit
// value: ProcessInfo.UsedGPUMemory when NVML cannot tell.
const ValueNotAvailable = ^uint64(0)

// NoInstance is a ProcessInfo's GPUInstanceID and ComputeInstanceID when
// the GPU is not partitioned with MIG (or the driver does not say).
const NoInstance = ^uint32(0)
