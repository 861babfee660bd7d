package envelope

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
)

// ContentHash returns the lowercase hex SHA-256 of [Envelope.CanonicalJSON],
// the value a signature covers.
func (e *Envelope) ContentHash() (string, error) {
	b, err := e.CanonicalJSON()
	if err != nil {
		return "", err
	}
	return sha256Hex(b), nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Compute returns the fingerprint hash over hf's fields exactly as the
// reference computes it (FACTS §1.6): a fixed nine-key body with the GPUs
// sorted by pci_id, canonical JSON, SHA-256. FingerprintSHA256 and Extra are
// not covered. It fails only if NUMA holds a non-finite float.
func (hf *HardwareFingerprint) Compute() (string, error) {
	gpus := slices.Clone(hf.GPUs)
	slices.SortStableFunc(gpus, func(a, b GPU) int { return compareCodePoints(a.PCIID, b.PCIID) })
	gv := make([]Value, len(gpus))
	for i, g := range gpus {
		gv[i] = ObjectValue(NewObject(
			Member{"model", String(g.Model)},
			Member{"pci_id", String(g.PCIID)},
			Member{"serial", String(g.Serial)},
			Member{"vbios", String(g.VBIOS)}))
	}
	body := ObjectValue(NewObject(
		Member{"dmi_uuid", String(hf.DMIUUID)},
		Member{"gpus", Array(gv...)},
		Member{"cpu", ObjectValue(NewObject(
			Member{"model", String(hf.CPU.Model)},
			Member{"microcode", String(hf.CPU.Microcode)}))},
		Member{"memory", ObjectValue(NewObject(
			Member{"channels", Int(hf.Memory.Channels)},
			Member{"speed_mts", Int(hf.Memory.SpeedMTS)},
			Member{"ecc", Bool(hf.Memory.ECC)}))},
		Member{"bios", ObjectValue(NewObject(
			Member{"version", String(hf.BIOS.Version)},
			Member{"resizable_bar", Bool(hf.BIOS.ResizableBAR)},
			Member{"above_4g", Bool(hf.BIOS.Above4G)}))},
		Member{"numa", ObjectValue(orEmpty(hf.NUMA))},
		Member{"driver", String(hf.Driver)},
		Member{"cuda", String(hf.CUDA)},
		Member{"nccl", String(hf.NCCL)}))
	b, err := appendCanonical(nil, body)
	if err != nil {
		return "", fmt.Errorf("hardware fingerprint: %w", err)
	}
	return sha256Hex(b), nil
}

// DatasetHash returns the reference's dataset hash of a sized prompt list
// (FACTS §4.4): SHA-256 of the compact, ASCII-escaped JSON array.
func DatasetHash(prompts []string) string {
	vs := make([]Value, len(prompts))
	for i, p := range prompts {
		vs[i] = String(p)
	}
	b, _ := appendCanonical(nil, Array(vs...)) // strings cannot fail
	return sha256Hex(b)
}
