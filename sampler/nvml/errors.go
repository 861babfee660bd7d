//go:build linux && cgo

package nvml

import (
	"fmt"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/benchprof/benchprof/sampler"
)

// callError is a failed NVML call. It wraps the call's nvml.Return, so that
// errors.Is(err, nvml.ERROR_NOT_SUPPORTED) works.
//
// Its text names the status from a table here rather than through
// nvml.Return.Error, which calls nvmlErrorString in the library: after a
// failed nvmlInit no NVML function may be called, not even that one.
type callError struct {
	device string // "gpu0"; "" for calls not about one GPU
	call   string // "nvmlDeviceGetPowerUsage"
	ret    gonvml.Return
}

func (e *callError) Error() string {
	if e.device == "" {
		return "nvml: " + e.call + ": " + returnName(e.ret)
	}
	return "nvml: " + e.device + ": " + e.call + ": " + returnName(e.ret)
}

func (e *callError) Unwrap() error { return e.ret }

// returnName is the name of an NVML status, as in nvml.h.
func returnName(r gonvml.Return) string {
	if name, ok := returnNames[r]; ok {
		return name
	}
	return fmt.Sprintf("NVML return %d", int32(r))
}

var returnNames = map[gonvml.Return]string{
	gonvml.SUCCESS:                         "SUCCESS",
	gonvml.ERROR_UNINITIALIZED:             "ERROR_UNINITIALIZED",
	gonvml.ERROR_INVALID_ARGUMENT:          "ERROR_INVALID_ARGUMENT",
	gonvml.ERROR_NOT_SUPPORTED:             "ERROR_NOT_SUPPORTED",
	gonvml.ERROR_NO_PERMISSION:             "ERROR_NO_PERMISSION",
	gonvml.ERROR_ALREADY_INITIALIZED:       "ERROR_ALREADY_INITIALIZED",
	gonvml.ERROR_NOT_FOUND:                 "ERROR_NOT_FOUND",
	gonvml.ERROR_INSUFFICIENT_SIZE:         "ERROR_INSUFFICIENT_SIZE",
	gonvml.ERROR_INSUFFICIENT_POWER:        "ERROR_INSUFFICIENT_POWER",
	gonvml.ERROR_DRIVER_NOT_LOADED:         "ERROR_DRIVER_NOT_LOADED",
	gonvml.ERROR_TIMEOUT:                   "ERROR_TIMEOUT",
	gonvml.ERROR_IRQ_ISSUE:                 "ERROR_IRQ_ISSUE",
	gonvml.ERROR_LIBRARY_NOT_FOUND:         "ERROR_LIBRARY_NOT_FOUND",
	gonvml.ERROR_FUNCTION_NOT_FOUND:        "ERROR_FUNCTION_NOT_FOUND",
	gonvml.ERROR_CORRUPTED_INFOROM:         "ERROR_CORRUPTED_INFOROM",
	gonvml.ERROR_GPU_IS_LOST:               "ERROR_GPU_IS_LOST",
	gonvml.ERROR_RESET_REQUIRED:            "ERROR_RESET_REQUIRED",
	gonvml.ERROR_OPERATING_SYSTEM:          "ERROR_OPERATING_SYSTEM",
	gonvml.ERROR_LIB_RM_VERSION_MISMATCH:   "ERROR_LIB_RM_VERSION_MISMATCH",
	gonvml.ERROR_IN_USE:                    "ERROR_IN_USE",
	gonvml.ERROR_MEMORY:                    "ERROR_MEMORY",
	gonvml.ERROR_NO_DATA:                   "ERROR_NO_DATA",
	gonvml.ERROR_VGPU_ECC_NOT_SUPPORTED:    "ERROR_VGPU_ECC_NOT_SUPPORTED",
	gonvml.ERROR_INSUFFICIENT_RESOURCES:    "ERROR_INSUFFICIENT_RESOURCES",
	gonvml.ERROR_FREQ_NOT_SUPPORTED:        "ERROR_FREQ_NOT_SUPPORTED",
	gonvml.ERROR_ARGUMENT_VERSION_MISMATCH: "ERROR_ARGUMENT_VERSION_MISMATCH",
	gonvml.ERROR_DEPRECATED:                "ERROR_DEPRECATED",
	gonvml.ERROR_NOT_READY:                 "ERROR_NOT_READY",
	gonvml.ERROR_GPU_NOT_FOUND:             "ERROR_GPU_NOT_FOUND",
	gonvml.ERROR_INVALID_STATE:             "ERROR_INVALID_STATE",
	gonvml.ERROR_RESET_TYPE_NOT_SUPPORTED:  "ERROR_RESET_TYPE_NOT_SUPPORTED",
	gonvml.ERROR_UNKNOWN:                   "ERROR_UNKNOWN",
}

// absent reports whether a status means that the value does not exist on
// this GPU or driver (as opposed to a failed read).
func absent(r gonvml.Return) bool {
	return r == gonvml.ERROR_NOT_SUPPORTED || r == gonvml.ERROR_FUNCTION_NOT_FOUND
}

// initError explains a failed nvmlInit. It wraps sampler.ErrUnavailable and
// the status, and calls nothing in the library.
func initError(lib string, r gonvml.Return) error {
	var hint string
	switch r {
	case gonvml.ERROR_LIBRARY_NOT_FOUND:
		hint = "cannot load " + lib + ": is the NVIDIA driver installed? In a container, start it with --gpus all (Docker) " +
			"or the NVIDIA container runtime so that the driver's libnvidia-ml.so.1 is mounted"
	case gonvml.ERROR_DRIVER_NOT_LOADED:
		hint = "the NVIDIA kernel driver is not loaded (does nvidia-smi work? In a container, was it started with --gpus?)"
	case gonvml.ERROR_NO_PERMISSION:
		hint = "no permission to open the /dev/nvidia* devices"
	case gonvml.ERROR_LIB_RM_VERSION_MISMATCH:
		hint = "the NVML library and the kernel driver are different versions (after a driver upgrade, reboot or reload the nvidia module)"
	default:
		hint = "is the NVIDIA driver working? (try nvidia-smi)"
	}
	return fmt.Errorf("%w: nvml: initializing NVML from %s failed: %w: %s",
		sampler.ErrUnavailable, lib, &callError{call: "nvmlInit", ret: r}, hint)
}
