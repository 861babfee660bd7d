package nvml

import "strconv"

// Return is an NVML status code (nvmlReturn_t), with NVML's names and
// values. It is an error, so that a failure wraps it and callers test it
// with errors.Is(err, nvml.ERROR_NO_PERMISSION).
//
// Return is defined in every build, the stub without cgo included, so that
// such tests compile everywhere; only a Linux cgo build ever produces one.
type Return int32

// The status codes, as nvml.h defines them.
const (
	SUCCESS                         Return = 0
	ERROR_UNINITIALIZED             Return = 1
	ERROR_INVALID_ARGUMENT          Return = 2
	ERROR_NOT_SUPPORTED             Return = 3
	ERROR_NO_PERMISSION             Return = 4
	ERROR_ALREADY_INITIALIZED       Return = 5
	ERROR_NOT_FOUND                 Return = 6
	ERROR_INSUFFICIENT_SIZE         Return = 7
	ERROR_INSUFFICIENT_POWER        Return = 8
	ERROR_DRIVER_NOT_LOADED         Return = 9
	ERROR_TIMEOUT                   Return = 10
	ERROR_IRQ_ISSUE                 Return = 11
	ERROR_LIBRARY_NOT_FOUND         Return = 12
	ERROR_FUNCTION_NOT_FOUND        Return = 13
	ERROR_CORRUPTED_INFOROM         Return = 14
	ERROR_GPU_IS_LOST               Return = 15
	ERROR_RESET_REQUIRED            Return = 16
	ERROR_OPERATING_SYSTEM          Return = 17
	ERROR_LIB_RM_VERSION_MISMATCH   Return = 18
	ERROR_IN_USE                    Return = 19
	ERROR_MEMORY                    Return = 20
	ERROR_NO_DATA                   Return = 21
	ERROR_VGPU_ECC_NOT_SUPPORTED    Return = 22
	ERROR_INSUFFICIENT_RESOURCES    Return = 23
	ERROR_FREQ_NOT_SUPPORTED        Return = 24
	ERROR_ARGUMENT_VERSION_MISMATCH Return = 25
	ERROR_DEPRECATED                Return = 26
	ERROR_NOT_READY                 Return = 27
	ERROR_GPU_NOT_FOUND             Return = 28
	ERROR_INVALID_STATE             Return = 29
	ERROR_RESET_TYPE_NOT_SUPPORTED  Return = 30
	ERROR_UNKNOWN                   Return = 999
)

var returnNames = map[Return]string{
	SUCCESS:                         "SUCCESS",
	ERROR_UNINITIALIZED:             "ERROR_UNINITIALIZED",
	ERROR_INVALID_ARGUMENT:          "ERROR_INVALID_ARGUMENT",
	ERROR_NOT_SUPPORTED:             "ERROR_NOT_SUPPORTED",
	ERROR_NO_PERMISSION:             "ERROR_NO_PERMISSION",
	ERROR_ALREADY_INITIALIZED:       "ERROR_ALREADY_INITIALIZED",
	ERROR_NOT_FOUND:                 "ERROR_NOT_FOUND",
	ERROR_INSUFFICIENT_SIZE:         "ERROR_INSUFFICIENT_SIZE",
	ERROR_INSUFFICIENT_POWER:        "ERROR_INSUFFICIENT_POWER",
	ERROR_DRIVER_NOT_LOADED:         "ERROR_DRIVER_NOT_LOADED",
	ERROR_TIMEOUT:                   "ERROR_TIMEOUT",
	ERROR_IRQ_ISSUE:                 "ERROR_IRQ_ISSUE",
	ERROR_LIBRARY_NOT_FOUND:         "ERROR_LIBRARY_NOT_FOUND",
	ERROR_FUNCTION_NOT_FOUND:        "ERROR_FUNCTION_NOT_FOUND",
	ERROR_CORRUPTED_INFOROM:         "ERROR_CORRUPTED_INFOROM",
	ERROR_GPU_IS_LOST:               "ERROR_GPU_IS_LOST",
	ERROR_RESET_REQUIRED:            "ERROR_RESET_REQUIRED",
	ERROR_OPERATING_SYSTEM:          "ERROR_OPERATING_SYSTEM",
	ERROR_LIB_RM_VERSION_MISMATCH:   "ERROR_LIB_RM_VERSION_MISMATCH",
	ERROR_IN_USE:                    "ERROR_IN_USE",
	ERROR_MEMORY:                    "ERROR_MEMORY",
	ERROR_NO_DATA:                   "ERROR_NO_DATA",
	ERROR_VGPU_ECC_NOT_SUPPORTED:    "ERROR_VGPU_ECC_NOT_SUPPORTED",
	ERROR_INSUFFICIENT_RESOURCES:    "ERROR_INSUFFICIENT_RESOURCES",
	ERROR_FREQ_NOT_SUPPORTED:        "ERROR_FREQ_NOT_SUPPORTED",
	ERROR_ARGUMENT_VERSION_MISMATCH: "ERROR_ARGUMENT_VERSION_MISMATCH",
	ERROR_DEPRECATED:                "ERROR_DEPRECATED",
	ERROR_NOT_READY:                 "ERROR_NOT_READY",
	ERROR_GPU_NOT_FOUND:             "ERROR_GPU_NOT_FOUND",
	ERROR_INVALID_STATE:             "ERROR_INVALID_STATE",
	ERROR_RESET_TYPE_NOT_SUPPORTED:  "ERROR_RESET_TYPE_NOT_SUPPORTED",
	ERROR_UNKNOWN:                   "ERROR_UNKNOWN",
}

// String returns the status's name as in nvml.h without the NVML_ prefix
// ("ERROR_NOT_SUPPORTED"), or "NVML return N" for a code this package does
// not know.
func (r Return) String() string {
	if name, ok := returnNames[r]; ok {
		return name
	}
	return "NVML return " + strconv.Itoa(int(r))
}

// Error returns "nvml: " and the status's name. It never calls into the
// library (not even nvmlErrorString): after a failed nvmlInit no NVML
// function may be called.
func (r Return) Error() string { return "nvml: " + r.String() }
