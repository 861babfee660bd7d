//go:build linux && cgo

package nvml

import (
	"fmt"

	"github.com/benchprof/benchprof/sampler"
)

// callError is a failed NVML call. It wraps the call's nvml.Return, so that
// errors.Is(err, nvml.ERROR_NOT_SUPPORTED) works.
//
// Its text names the status from the table in Return.String, never
// through nvmlErrorString: after a failed nvmlInit no NVML function may be
// called, not even that one.
type callError struct {
	device string // "gpu0"; "" for calls not about one GPU
	call   string // "nvmlDeviceGetPowerUsage"
	ret    Return
}

func (e *callError) Error() string {
	if e.device == "" {
		return "nvml: " + e.call + ": " + e.ret.String()
	}
	return "nvml: " + e.device + ": " + e.call + ": " + e.ret.String()
}

func (e *callError) Unwrap() error { return e.ret }

// absent reports whether a status means that the value does not exist on
// this GPU or driver (as opposed to a failed read): ERROR_NOT_SUPPORTED, or
// ERROR_FUNCTION_NOT_FOUND for a function the driver's library lacks.
func absent(r Return) bool {
	return r == ERROR_NOT_SUPPORTED || r == ERROR_FUNCTION_NOT_FOUND
}

// initError explains a failed nvmlInit. It wraps sampler.ErrUnavailable and
// the status, and calls nothing in the library. loadErr is the dynamic
// loader's reason when the library could not be loaded ("" if unknown).
func initError(lib string, r Return, loadErr string) error {
	var hint string
	switch r {
	case ERROR_LIBRARY_NOT_FOUND:
		if loadErr != "" {
			loadErr = " (" + loadErr + ")"
		}
		hint = "cannot load " + lib + loadErr + ": is the NVIDIA driver installed? In a container, start it with --gpus all (Docker) " +
			"or the NVIDIA container runtime so that the driver's libnvidia-ml.so.1 is mounted"
	case ERROR_FUNCTION_NOT_FOUND:
		hint = lib + " lacks nvmlInit_v2: is it NVIDIA's libnvidia-ml.so.1?"
	case ERROR_DRIVER_NOT_LOADED:
		hint = "the NVIDIA kernel driver is not loaded (does nvidia-smi work? In a container, was it started with --gpus?)"
	case ERROR_NO_PERMISSION:
		hint = "no permission to open the /dev/nvidia* devices"
	case ERROR_LIB_RM_VERSION_MISMATCH:
		hint = "the NVML library and the kernel driver are different versions (after a driver upgrade, reboot or reload the nvidia module)"
	default:
		hint = "is the NVIDIA driver working? (try nvidia-smi)"
	}
	return fmt.Errorf("%w: nvml: initializing NVML from %s failed: %w: %s",
		sampler.ErrUnavailable, lib, &callError{call: "nvmlInit", ret: r}, hint)
}
