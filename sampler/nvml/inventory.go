package nvml

import (
	"fmt"
	"strconv"
	"strings"
)

// Inventory is what NVML says about the host's GPUs, taken at Open: the GPU
// part of the hardware fingerprint. It lists every GPU of the host, whatever
// WithDevices selected for sampling.
type Inventory struct {
	// Driver is nvmlSystemGetDriverVersion ("550.54.15"), or "" when NVML
	// could not tell.
	Driver string
	// CUDA is nvmlSystemGetCudaDriverVersion v formatted as
	// "{v/1000}.{(v%1000)/10}" (12040 → "12.4"), or "" when NVML could not
	// tell.
	CUDA string
	// GPUs lists, in NVML index order, every GPU whose handle NVML gave; a
	// GPU whose handle could not be obtained is left out.
	GPUs []GPU
}

// GPU describes one GPU of the inventory. Name, PCIBusID, Serial and VBIOS
// fall back, when their NVML call fails, to exactly what the reference
// fingerprint collector writes.
type GPU struct {
	// Index is the NVML index.
	Index int
	// UUID is nvmlDeviceGetUUID ("GPU-5e3c…"), or "" when unreadable.
	UUID string
	// Name is nvmlDeviceGetName ("NVIDIA H100 80GB HBM3"), falling back
	// to "NVIDIA-GPU-{index}".
	Name string
	// PCIBusID is the PCI info's busId ("00000000:0A:00.0"), falling back to
	// "0000:00:{index as two hex digits}.0".
	PCIBusID string
	// Serial is nvmlDeviceGetSerial, falling back to "unknown".
	Serial string
	// VBIOS is nvmlDeviceGetVbiosVersion, falling back to "unknown".
	VBIOS string
}

// Fallback values of the inventory.
const unknown = "unknown"

func fallbackName(i int) string  { return "NVIDIA-GPU-" + strconv.Itoa(i) }
func fallbackPCIID(i int) string { return fmt.Sprintf("0000:00:%02x.0", i) }

// cudaVersion formats nvmlSystemGetCudaDriverVersion's integer.
func cudaVersion(v int) string {
	return strconv.Itoa(v/1000) + "." + strconv.Itoa((v%1000)/10)
}

func (inv Inventory) clone() Inventory {
	inv.GPUs = append([]GPU(nil), inv.GPUs...)
	return inv
}

// describeGPUs lists GPUs for an error message: "0 GPU-… (name), 1 …".
func describeGPUs(gpus []GPU) string {
	if len(gpus) == 0 {
		return "none"
	}
	parts := make([]string, len(gpus))
	for i, g := range gpus {
		uuid := g.UUID
		if uuid == "" {
			uuid = "no UUID"
		}
		parts[i] = fmt.Sprintf("%d %s (%s)", g.Index, uuid, g.Name)
	}
	return strings.Join(parts, ", ")
}
