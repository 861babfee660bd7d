package sampler

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
)

// TimelineColumns returns the header row of a timeline file. A timeline is CSV
// (RFC 4180) with one row per device per reading:
//
//	t_ns        reading time, integer nanoseconds from the run's origin
//	sampler     sampler name (nvml, rapl, remote, …): which sampler read
//	            the row; what it measured is its kind
//	tick        scheduled tick index
//	device      device name ("gpu0", "package-0", "host/gpu0")
//	kind        gpu, cpu_package, dram or other
//	power_w … clock_event_reasons
//	            the DeviceReading fields; an empty cell is a value that
//	            was not measured
//	energy_lag_ns
//	            DeviceReading.EnergyLag in integer nanoseconds: the energy
//	            value was read this long before t_ns; empty when 0
//
// ReadTimeline also reads files written before energy_lag_ns was added
// (the same columns without it).
//
// Rows are in the order readings were written; readings of different
// samplers interleave. Floats are written in the shortest form that reads
// back exactly.
func TimelineColumns() []string { return slices.Clone(timelineHeader) }

var timelineHeader = []string{
	"t_ns", "sampler", "tick", "device", "kind",
	"power_w", "energy_j", "util_pct", "mem_util_pct", "mem_used_bytes",
	"sm_clock_mhz", "mem_clock_mhz", "temp_c", "clock_event_reasons",
	"energy_lag_ns",
}

// timelineColumnsBefore is how many columns a timeline had before
// energy_lag_ns: such files are still read (with a lag of 0).
const timelineColumnsBefore = 14

// TimelineWriter streams readings to a timeline file, so that long runs
// keep their samples on disk rather than in memory. It is safe for
// concurrent use (several samplers share one file). The first error is kept
// and returned by later calls.
type TimelineWriter struct {
	mu     sync.Mutex
	bw     *bufio.Writer
	cw     *csv.Writer
	err    error
	rows   int64
	header bool
	rec    []string
}

// NewTimelineWriter returns a writer to w; the header is written first.
// Call Flush at the end.
func NewTimelineWriter(w io.Writer) *TimelineWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	return &TimelineWriter{bw: bw, cw: csv.NewWriter(bw), rec: make([]string, len(timelineHeader))}
}

// Write appends one row per device of r.
func (t *TimelineWriter) Write(r Reading) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.writeHeader(); err != nil {
		return err
	}
	rec := t.rec
	for _, d := range r.Devices {
		rec[0] = strconv.FormatInt(int64(r.At), 10)
		rec[1] = r.Sampler
		rec[2] = strconv.FormatInt(r.Tick, 10)
		rec[3] = d.Device
		rec[4] = string(d.Kind)
		rec[5] = formatValue(d.PowerW)
		rec[6] = formatValue(d.EnergyJ)
		rec[7] = formatValue(d.UtilPct)
		rec[8] = formatValue(d.MemUtilPct)
		rec[9] = formatValue(d.MemUsedBytes)
		rec[10] = formatValue(d.SMClockMHz)
		rec[11] = formatValue(d.MemClockMHz)
		rec[12] = formatValue(d.TempC)
		rec[13] = ""
		if d.HasClockEvents {
			rec[13] = strconv.FormatUint(d.ClockEventReasons, 10)
		}
		rec[14] = ""
		if d.EnergyLag != 0 {
			rec[14] = strconv.FormatInt(int64(d.EnergyLag), 10)
		}
		if t.err = t.cw.Write(rec); t.err != nil {
			return t.err
		}
		t.rows++
	}
	return nil
}

// writeHeader writes the header row once; t.mu is held. It returns the
// writer's sticky error.
func (t *TimelineWriter) writeHeader() error {
	if t.err == nil && !t.header {
		t.header = true
		t.err = t.cw.Write(timelineHeader)
	}
	return t.err
}

// Rows returns the number of device rows written.
func (t *TimelineWriter) Rows() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows
}

// Flush writes buffered rows through to the underlying writer.
func (t *TimelineWriter) Flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.writeHeader(); err != nil {
		return err
	}
	t.cw.Flush()
	if t.err = t.cw.Error(); t.err != nil {
		return t.err
	}
	t.err = t.bw.Flush()
	return t.err
}

func formatValue(v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func parseValue(s string) (float64, error) {
	if s == "" {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// ReadTimeline reads a timeline file and calls fn once per reading, in
// file order, with the rows of one sampler's tick grouped back together.
// The Reading passed to fn is only valid during the call.
func ReadTimeline(r io.Reader, fn func(Reading) error) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 256<<10))
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	if len(head) != len(timelineHeader) && len(head) != timelineColumnsBefore {
		return fmt.Errorf("timeline: %d columns, want %d (or %d, from before energy_lag_ns)", len(head), len(timelineHeader), timelineColumnsBefore)
	}
	for i, h := range head {
		if h != timelineHeader[i] {
			return fmt.Errorf("timeline: column %d is %q, want %q", i+1, h, timelineHeader[i])
		}
	}
	withLag := len(head) == len(timelineHeader)
	var cur Reading
	pending := false
	flush := func() error {
		if !pending {
			return nil
		}
		pending = false
		return fn(cur)
	}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		at, err1 := strconv.ParseInt(rec[0], 10, 64)
		tick, err2 := strconv.ParseInt(rec[2], 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("timeline line %d: bad t_ns or tick", line)
		}
		if pending && (rec[1] != cur.Sampler || tick != cur.Tick || time.Duration(at) != cur.At) {
			if err := flush(); err != nil {
				return err
			}
		}
		if !pending {
			cur = Reading{Sampler: rec[1], Tick: tick, At: time.Duration(at), Devices: cur.Devices[:0]}
			pending = true
		}
		d := DeviceReading{Device: rec[3], Kind: Kind(rec[4])}
		vals := []*float64{&d.PowerW, &d.EnergyJ, &d.UtilPct, &d.MemUtilPct, &d.MemUsedBytes, &d.SMClockMHz, &d.MemClockMHz, &d.TempC}
		for i, p := range vals {
			if *p, err = parseValue(rec[5+i]); err != nil {
				return fmt.Errorf("timeline line %d, %s: %w", line, timelineHeader[5+i], err)
			}
		}
		if rec[13] != "" {
			if d.ClockEventReasons, err = strconv.ParseUint(rec[13], 10, 64); err != nil {
				return fmt.Errorf("timeline line %d, clock_event_reasons: %w", line, err)
			}
			d.HasClockEvents = true
		}
		if withLag && rec[14] != "" {
			lag, err := strconv.ParseInt(rec[14], 10, 64)
			if err != nil || lag < 0 {
				return fmt.Errorf("timeline line %d, energy_lag_ns: %q is not a non-negative integer", line, rec[14])
			}
			d.EnergyLag = time.Duration(lag)
		}
		cur.Devices = append(cur.Devices, d)
	}
}
