package nvml

import "strconv"

// Field names a group of values read from a GPU, for the error counts of
// DeviceHealth.
type Field int

// The fields. FieldUtilization covers both UtilPct and MemUtilPct (one NVML
// call); FieldMemory is MemUsedBytes.
const (
	FieldPower Field = iota
	FieldEnergy
	FieldUtilization
	FieldMemory
	FieldSMClock
	FieldMemClock
	FieldTemperature
	FieldClockEvents
	numFields
)

var fieldNames = [numFields]string{
	FieldPower:       "power",
	FieldEnergy:      "energy",
	FieldUtilization: "utilization",
	FieldMemory:      "memory",
	FieldSMClock:     "sm_clock",
	FieldMemClock:    "mem_clock",
	FieldTemperature: "temperature",
	FieldClockEvents: "clock_events",
}

// String returns the field's name ("power", "sm_clock", …).
func (f Field) String() string {
	if f >= 0 && f < numFields {
		return fieldNames[f]
	}
	return "field(" + strconv.Itoa(int(f)) + ")"
}

// DeviceHealth is one sampled GPU's account of its reads since Open.
type DeviceHealth struct {
	// Device is the GPU's reading name ("gpu0").
	Device string
	// Reads counts the ticks on which the GPU was read.
	Reads int64
	// FieldErrors counts, per field, the reads that failed with an error
	// other than ERROR_NOT_SUPPORTED (which means absent, not failed); only
	// fields with failures are present, and the map is nil when there are none.
	FieldErrors map[Field]int64
	// EmptyReads counts the ticks on which every read of the GPU failed.
	EmptyReads int64
	// EnergyResets counts the times NVML's energy counter went backwards (a
	// driver reload or GPU reset); EnergyJ then continued from its last
	// value, so the energy between the last read before and the first read
	// after is lost.
	EnergyResets int64
	// LastError is the most recent failure; it wraps the nvml.Return. Nil
	// when there was none.
	LastError error
}
