package hostinfo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/benchprof/benchprof/envelope"
)

// readFirstLine returns the first line of a file, stripped, as the
// reference's _read_first_line; "" with the reason when it cannot.
func readFirstLine(path string) (string, string) {
	text, why := readFileText(path)
	if why != "" {
		return "", why
	}
	lines := pySplitLines(text)
	if len(lines) == 0 || pyStrip(lines[0]) == "" {
		return "", "its first line is empty"
	}
	return pyStrip(lines[0]), ""
}

// readFileText is readText with the reason it failed.
func readFileText(path string) (string, string) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "", "it is not readable (it needs root)"
	case errors.Is(err, fs.ErrNotExist):
		return "", "it does not exist"
	case err != nil:
		return "", err.Error()
	case !utf8.Valid(b):
		return "", "it is not UTF-8"
	}
	return universalNewlines(string(b)), ""
}

func collectDMIUUID(root string, res *Result) string {
	path := filepath.Join(root, "sys/class/dmi/id/product_uuid")
	v, why := readFirstLine(path)
	if v == "" {
		res.warnf("dmi_uuid: %s: %s; recorded as \"unknown\", as the reference does", path, why)
		return "unknown"
	}
	return v
}

func collectBIOS(root string, res *Result) envelope.BIOS {
	path := filepath.Join(root, "sys/class/dmi/id/bios_version")
	v, why := readFirstLine(path)
	if v == "" {
		res.warnf("bios.version: %s: %s; recorded as \"unknown\"", path, why)
		v = "unknown"
	}
	// The reference cannot read these flags and always records false.
	return envelope.BIOS{Version: v, ResizableBAR: false, Above4G: false}
}

func collectGPUs(gpus []GPU, res *Result) []envelope.GPU {
	out := []envelope.GPU{}
	for _, g := range gpus {
		e := envelope.GPU{
			Model:  strings.TrimSpace(orDefault(g.Model, fmt.Sprintf("NVIDIA-GPU-%d", g.Index))),
			PCIID:  strings.TrimSpace(orDefault(g.PCIID, fmt.Sprintf("0000:00:%02x.0", g.Index))),
			Serial: strings.TrimSpace(orDefault(g.Serial, "unknown")),
			VBIOS:  strings.TrimSpace(orDefault(g.VBIOS, "unknown")),
		}
		if e.Model == "" || e.PCIID == "" || e.Serial == "" || e.VBIOS == "" {
			res.warnf("gpus: GPU %d left out: a field is blank (%+v), which the reference's validation rejects", g.Index, g)
			continue
		}
		out = append(out, e)
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func collectCPU(ctx context.Context, c *config, res *Result) envelope.CPU {
	path := filepath.Join(c.root, "proc/cpuinfo")
	text, why := readFileText(path)
	var model, micro string
	for _, line := range pySplitLines(text) {
		if pyStrip(line) == "" {
			// The end of the first processor's block.
			if model != "" && micro != "" {
				break
			}
			continue
		}
		key, value, _ := strings.Cut(line, ":")
		key, value = pyLower(pyStrip(key)), pyStrip(value)
		if key == "model name" && model == "" {
			model = value
		} else if key == "microcode" && micro == "" {
			micro = value
		}
	}
	if model == "" {
		from := "platform.processor() (uname -p)"
		if model = c.processor(ctx); model == "" {
			from = "platform.machine() (uname -m)"
			if model = c.machine(); model == "" {
				from = "no source"
			}
		}
		model = orDefault(strings.TrimSpace(model), "unknown")
		if why == "" {
			why = "it has no model name"
		}
		res.warnf("cpu.model: %s: %s; recorded %q from %s, as the reference does", path, why, model, from)
	}
	if micro == "" {
		micro = "unknown"
	}
	return envelope.CPU{Model: model, Microcode: micro}
}

// Python's \s and \d, which are Unicode-aware, for the dmidecode regexps.
const (
	pyS = `[\t\n\v\f\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`
	pyD = `\p{Nd}`
)

// The reference's regular expressions (memory.py), with \s and \d spelt out.
var (
	reBlockSep       = regexp.MustCompile(`\n` + pyS + `*\n`)
	reNoModule       = regexp.MustCompile(`Size:` + pyS + `*(No Module Installed|None)`)
	reSize           = regexp.MustCompile(`(?m)^` + pyS + `*Size:` + pyS + `+(` + pyD + `+)` + pyS + `*(MB|GB)`)
	reConfiguredMTs  = regexp.MustCompile(`(?m)^` + pyS + `*Configured Memory Speed:` + pyS + `+(` + pyD + `+)` + pyS + `*MT/s`)
	reSpeedMTs       = regexp.MustCompile(`(?m)^` + pyS + `*Speed:` + pyS + `+(` + pyD + `+)` + pyS + `*MT/s`)
	reTotalWidthLine = regexp.MustCompile(`(?m)^` + pyS + `*Total Width:` + pyS + `+(` + pyD + `+)` + pyS + `*bits`)
	reTotalWidth     = regexp.MustCompile(`Total Width:` + pyS + `+(` + pyD + `+)`)
	reDataWidthLine  = regexp.MustCompile(`(?m)^` + pyS + `*Data Width:` + pyS + `+(` + pyD + `+)` + pyS + `*bits`)
)

// placeholderMemory is what the reference records without dmidecode output.
var placeholderMemory = envelope.Memory{Channels: 1, SpeedMTS: 1, ECC: false}

func collectMemory(ctx context.Context, c *config, res *Result) (envelope.Memory, error) {
	var text, why string
	if c.dmiOutputSet {
		text = string(c.dmiOutput)
		if !utf8.Valid(c.dmiOutput) {
			text, why = "", "the given dmidecode output is not UTF-8"
		}
	} else {
		var err error
		if text, why, err = runDMIDecode(ctx, c); err != nil {
			return envelope.Memory{}, err
		}
	}
	text = universalNewlines(text)
	if text == "" {
		switch {
		case why != "":
		case c.dmiOutputSet:
			why = "the dmidecode output given is empty"
		default:
			why = c.dmidecode + " -t memory printed nothing"
		}
		res.warnf("memory: %s; recorded the reference's placeholder {channels 1, speed_mts 1, ecc false}", why)
		return placeholderMemory, nil
	}
	populated, speed, ecc := parseDMIDecodeMemory(text)
	m := envelope.Memory{Channels: max(populated, 1), SpeedMTS: 1, ECC: ecc}
	if m.Channels > MaxMemoryChannels {
		res.warnf("memory.channels: dmidecode lists %d populated DIMMs, above the envelope's limit of %d: recorded %d (the reference would fail its validation)",
			m.Channels, MaxMemoryChannels, MaxMemoryChannels)
		m.Channels = MaxMemoryChannels
	}
	if speed != nil {
		switch {
		case !speed.IsInt64():
			res.warnf("memory.speed_mts: %v MT/s does not fit an int64: recorded %d", speed, int64(math.MaxInt64))
			m.SpeedMTS = math.MaxInt64
		case speed.Int64() > 1:
			m.SpeedMTS = speed.Int64()
		}
	}
	return m, nil
}

// runDMIDecode runs "dmidecode -t memory" and returns its output, or "" and
// why not. Only ctx being done is an error.
func runDMIDecode(ctx context.Context, c *config) (out, why string, err error) {
	cctx, cancel := context.WithTimeout(ctx, c.dmiTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.dmidecode, "-t", "memory")
	cmd.WaitDelay = time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, runErr := cmd.Output()
	if err := ctx.Err(); err != nil {
		return "", "", fmt.Errorf("hostinfo: dmidecode: %w", err)
	}
	switch {
	case cctx.Err() != nil:
		return "", fmt.Sprintf("%s -t memory did not finish within %v", c.dmidecode, c.dmiTimeout), nil
	case errors.Is(runErr, exec.ErrNotFound):
		return "", fmt.Sprintf("%s is not installed (%v)", c.dmidecode, runErr), nil
	case runErr != nil:
		msg := runErr.Error()
		if line, _, _ := strings.Cut(strings.TrimSpace(stderr.String()), "\n"); line != "" {
			msg += ": " + line
		}
		return "", fmt.Sprintf("%s -t memory failed (%s; it needs root)", c.dmidecode, msg), nil
	case !utf8.Valid(b):
		return "", fmt.Sprintf("%s -t memory printed text that is not UTF-8", c.dmidecode), nil
	}
	return string(b), "", nil
}

// parseDMIDecodeMemory reads "dmidecode -t memory" output as the reference
// does: the text is split into blocks at blank lines; a block counts as a
// populated DIMM when it mentions "Memory Device" or "Size:", has no
// "Size: No Module Installed" or "Size: None" anywhere (which, as a quirk,
// also matches the "Non-Volatile Size: None" line dmidecode 3.2+ prints for
// every DIMM on SMBIOS 3.2+ hosts, so that those hosts count no DIMM), and
// has a "Size: <n> MB|GB" line. Its speed is its "Configured Memory Speed:
// <n> MT/s", else its "Speed: <n> MT/s" (older dmidecode prints MHz or
// "Configured Clock Speed", which do not count). ECC is seen when a DIMM's
// Total Width exceeds its Data Width. speed is nil when no DIMM has one.
func parseDMIDecodeMemory(text string) (populated int64, speed *big.Int, ecc bool) {
	for _, block := range reBlockSep.Split(text, -1) {
		if !strings.Contains(block, "Memory Device") && !strings.Contains(block, "Size:") {
			continue
		}
		if reNoModule.MatchString(block) {
			continue
		}
		if !reSize.MatchString(block) {
			continue
		}
		populated++
		m := reConfiguredMTs.FindStringSubmatch(block)
		if m == nil {
			m = reSpeedMTs.FindStringSubmatch(block)
		}
		if m != nil {
			if v, ok := pyInt(m[1]); ok && (speed == nil || v.Cmp(speed) > 0) {
				speed = v
			}
		}
		if reTotalWidthLine.MatchString(block) {
			tw, _ := pyInt(reTotalWidth.FindStringSubmatch(block)[1])
			if dm := reDataWidthLine.FindStringSubmatch(block); dm != nil {
				if dw, _ := pyInt(dm[1]); tw.Cmp(dw) > 0 {
					ecc = true
				}
			}
		}
	}
	return populated, speed, ecc
}

// maxCPUs bounds the CPUs read from one node's cpulist, so that a corrupt
// range cannot exhaust memory (the reference would try).
const maxCPUs = 1 << 20

// collectNUMA reads the NUMA topology as the reference's numa.py does:
// {"nodes": [{"id", "cpus", "memory_mb"}]} over the entries of
// /sys/devices/system/node whose name starts with "node", that are
// directories (symlinks followed) and whose suffix is an integer, sorted by
// name as strings (node10 before node2); {} when there are none or the
// directory cannot be read.
func collectNUMA(root string, res *Result) *envelope.Object {
	dir := filepath.Join(root, "sys/devices/system/node")
	entries, err := os.ReadDir(dir)
	if err != nil {
		res.warnf("numa: %s: %v; recorded {}", dir, err)
		return envelope.NewObject()
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "node") {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, e.Name())); err != nil || !st.IsDir() {
			continue
		}
		names = append(names, e.Name())
	}
	slices.Sort(names) // byte order, which is code point order for UTF-8
	var nodes []envelope.Value
	for _, name := range names {
		id, ok := pyInt(name[len("node"):])
		if !ok {
			continue
		}
		cpuText, _ := readFileText(filepath.Join(dir, name, "cpulist"))
		memText, _ := readFileText(filepath.Join(dir, name, "meminfo"))
		cpus := parseCPUList(cpuText, name, res)
		cv := make([]envelope.Value, len(cpus))
		for i, c := range cpus {
			cv[i] = envelope.Int(c)
		}
		nodes = append(nodes, envelope.ObjectValue(envelope.NewObject(
			envelope.Member{Key: "id", Value: intValue(id)},
			envelope.Member{Key: "cpus", Value: envelope.Array(cv...)},
			envelope.Member{Key: "memory_mb", Value: intValue(parseMemTotalMB(memText))},
		)))
	}
	if len(nodes) == 0 {
		return envelope.NewObject()
	}
	return envelope.NewObject(envelope.Member{Key: "nodes", Value: envelope.Array(nodes...)})
}

func intValue(b *big.Int) envelope.Value {
	if b.IsInt64() {
		return envelope.Int(b.Int64())
	}
	return envelope.BigInt(b)
}

// parseCPUList expands a cpulist ("0-3,8-11") as the reference does:
// chunks split at commas, "lo-hi" ranges inclusive, chunks that are not
// integers skipped, the result sorted without duplicates.
func parseCPUList(s, node string, res *Result) []int64 {
	s = pyStrip(s)
	if s == "" {
		return []int64{}
	}
	seen := make(map[int64]struct{})
	for _, chunk := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(chunk, "-")
		if !isRange {
			hi = lo
		}
		l, ok1 := pyInt(lo)
		h, ok2 := pyInt(hi)
		if !ok1 || !ok2 || h.Cmp(l) < 0 {
			continue
		}
		if !l.IsInt64() || !h.IsInt64() || new(big.Int).Sub(h, l).Cmp(big.NewInt(maxCPUs)) >= 0 ||
			len(seen)+int(h.Int64()-l.Int64()+1) > maxCPUs {
			res.warnf("numa: %s/cpulist: chunk %q left out: more than %d CPUs, or CPU numbers beyond int64", node, chunk, maxCPUs)
			continue
		}
		for c := l.Int64(); ; c++ {
			seen[c] = struct{}{}
			if c == h.Int64() {
				break
			}
		}
	}
	out := make([]int64, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// parseMemTotalMB returns MemTotal in MB (kB floor-divided by 1024) from a
// node's meminfo ("Node 0 MemTotal:  65536000 kB"), or 0.
func parseMemTotalMB(s string) *big.Int {
	for _, line := range pySplitLines(s) {
		if !strings.Contains(line, "MemTotal") {
			continue
		}
		parts := pySplit(line)
		i := slices.Index(parts, "MemTotal:")
		if i < 0 || i+1 >= len(parts) {
			continue
		}
		kb, ok := pyInt(parts[i+1])
		if !ok {
			continue
		}
		return kb.Div(kb, big.NewInt(1024)) // Euclidean: floor for a positive divisor
	}
	return new(big.Int)
}
