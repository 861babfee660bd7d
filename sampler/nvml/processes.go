package nvml

// GPUProcesses is one GPU's entry in Sampler.Processes: the processes
// that NVML lists as running on it.
type GPUProcesses struct {
	// Index and UUID identify the GPU as the inventory does.
	Index int
	UUID  string
	// Processes lists the processes with a compute or graphics context on
	// the GPU, by PID, each once. It holds what could be read even when Err
	// is set.
	Processes []Process
	// Err says why NVML could not list the GPU's processes, in full or at
	// all; it wraps the nvml.Return. A list that NVML reports as
	// ERROR_NOT_SUPPORTED, or whose function the driver's library lacks
	// (ERROR_FUNCTION_NOT_FOUND), is taken as empty unless both are, in
	// which case Err wraps that status: nothing is known.
	Err error
}

// Process is a process with a context on a GPU.
type Process struct {
	// PID is the process id as the driver sees it: in the host's PID
	// namespace, which inside a container may not be the container's own.
	PID int
	// Compute and Graphics say which list the process is on
	// (nvmlDeviceGetComputeRunningProcesses, a CUDA context;
	// nvmlDeviceGetGraphicsRunningProcesses); it may be on both.
	Compute, Graphics bool
	// UsedMemoryBytes is the device memory the process uses, or -1 when
	// NVML cannot tell.
	UsedMemoryBytes int64
	// GPUInstance and ComputeInstance locate the process in a MIG partition;
	// both are -1 when the GPU is not partitioned, or the driver does not say.
	GPUInstance, ComputeInstance int
}

// PIDs returns the PIDs of the processes.
func (g GPUProcesses) PIDs() []int {
	out := make([]int, len(g.Processes))
	for i, p := range g.Processes {
		out[i] = p.PID
	}
	return out
}
