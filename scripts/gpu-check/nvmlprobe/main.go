// Command nvmlprobe is the NVML part of the GPU check (scripts/gpu-check.sh):
// it opens sampler/nvml exactly as bench profile does, samples for a while
// at the profile's interval, and reports what NVML gave and what failed —
// the library's [nvml.Sampler.Inventory], [nvml.Sampler.Describe] and
// [nvml.Sampler.Health], which bench profile reads only at Open (so a field
// that fails on every tick of a run under gVisor shows here, by NVML call
// and status, and not in the profile's warnings).
//
//	nvmlprobe [-duration 3s] [-interval 10ms] [-lib PATH] [-json FILE]
//	nvmlprobe -calls N [-lib PATH] [-json FILE]
//
// With -calls it samples nothing: it times each NVML call the sampler
// makes, N times back to back per GPU, measures how often the power and
// energy values change, and whether two calls at once on one GPU wait for
// each other (where a slow tick's time goes on a real driver).
//
// It prints a text account on stdout and, with -json, writes the same as
// JSON. Exit status: 0 NVML opened and sampled; 3 NVML unavailable (no
// library, driver or GPU; the reason is printed); 2 usage; 1 any other
// failure.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/nvml"
)

// Exit statuses.
const (
	exitFailure     = 1
	exitUsage       = 2
	exitUnavailable = 3
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nvmlprobe:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries an exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

// Report is what the probe found; it is also the -json document.
type Report struct {
	Library string `json:"library"`
	// OpenError is why nvml.Open failed ("" when it opened); Unavailable
	// says that it wraps sampler.ErrUnavailable (no library, driver or GPU).
	OpenError   string `json:"open_error,omitempty"`
	Unavailable bool   `json:"unavailable,omitempty"`

	Driver  string       `json:"driver,omitempty"`
	CUDA    string       `json:"cuda,omitempty"`
	GPUs    []GPU        `json:"gpus,omitempty"`
	Devices []DeviceInfo `json:"devices,omitempty"`
	// Notes are Describe's notes after sampling: value sources, the
	// sensor's update period, fields not supported, failed reads.
	Notes []string `json:"notes,omitempty"`

	Sampling *Sampling `json:"sampling,omitempty"`
	// Present counts, per device and timeline column, the readings that
	// carried a value.
	Present map[string]map[string]int `json:"present,omitempty"`
	// PowerMeanW is each device's mean power over the readings that had
	// one; PowerMeanTotalW their sum (NaN-free: absent when unmeasured).
	PowerMeanW      map[string]float64 `json:"power_mean_w,omitempty"`
	PowerMeanTotalW *float64           `json:"power_mean_total_w,omitempty"`
	Health          []Health           `json:"health,omitempty"`
}

// GPU is one GPU of the inventory.
type GPU struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	UUID  string `json:"uuid,omitempty"`
	PCI   string `json:"pci_bus_id"`
}

// DeviceInfo is one sampled GPU as Describe tells it.
type DeviceInfo struct {
	Device         string   `json:"device"`
	Model          string   `json:"model"`
	PowerAveraged  bool     `json:"power_averaged"`
	SensorPeriodMS *float64 `json:"sensor_period_ms,omitempty"`
}

// Sampling is the scheduler's account of the probe's sampling.
type Sampling struct {
	DurationS     float64 `json:"duration_s"`
	IntervalMS    float64 `json:"interval_ms"`
	Readings      int64   `json:"readings"`
	Errors        int64   `json:"errors"`
	Missed        int64   `json:"missed"`
	LastError     string  `json:"last_error,omitempty"`
	IntervalP50MS float64 `json:"interval_p50_ms"`
	IntervalP99MS float64 `json:"interval_p99_ms"`
	ReadP99MS     float64 `json:"read_p99_ms"`
}

// Health is one GPU's failed reads, by field (the NVML call and status of
// the last failure is in LastError).
type Health struct {
	Device       string           `json:"device"`
	Reads        int64            `json:"reads"`
	FieldErrors  map[string]int64 `json:"field_errors,omitempty"`
	EmptyReads   int64            `json:"empty_reads"`
	EnergyResets int64            `json:"energy_resets"`
	LastError    string           `json:"last_error,omitempty"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("nvmlprobe", flag.ContinueOnError)
	fs.SetOutput(stdout)
	duration := fs.Duration("duration", 3*time.Second, "how long to sample")
	interval := fs.Duration("interval", 10*time.Millisecond, "the sampling interval (bench profile's default)")
	lib := fs.String("lib", nvml.DefaultLibraryPath, "the NVML library to load")
	jsonPath := fs.String("json", "", "also write the report as JSON to `FILE`")
	calls := fs.Int("calls", 0, "instead of sampling, time each NVML call the sampler makes `N` times per GPU")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{exitUsage, err}
	}
	if fs.NArg() > 0 {
		return &exitError{exitUsage, fmt.Errorf("unexpected arguments: %q", fs.Args())}
	}
	if *duration <= 0 || *interval <= 0 || *calls < 0 || *calls > 100000 {
		return &exitError{exitUsage, errors.New("-duration and -interval must be positive, -calls from 0 to 100000")}
	}
	if *calls > 0 {
		c, err := timeCalls(*lib, *calls)
		if c != nil {
			writeCalls(stdout, c)
			if *jsonPath != "" {
				b, jerr := json.MarshalIndent(c, "", "  ")
				if jerr == nil {
					jerr = os.WriteFile(*jsonPath, append(b, '\n'), 0o644)
				}
				err = errors.Join(err, jerr)
			}
		}
		return err
	}
	rep, err := probe(ctx, *lib, *duration, *interval)
	writeText(stdout, rep)
	if *jsonPath != "" {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = os.WriteFile(*jsonPath, append(b, '\n'), 0o644)
		}
		err = errors.Join(err, jerr)
	}
	return err
}

// probe opens NVML, samples for duration and returns what it found. The
// error is nil when NVML opened and sampled.
func probe(ctx context.Context, lib string, duration, interval time.Duration) (*Report, error) {
	rep := &Report{Library: lib}
	s, err := nvml.Open(nvml.WithLibraryPath(lib))
	if err != nil {
		rep.OpenError = err.Error()
		if errors.Is(err, sampler.ErrUnavailable) {
			rep.Unavailable = true
			return rep, &exitError{exitUnavailable, err}
		}
		return rep, err
	}
	defer s.Close()
	inv := s.Inventory()
	rep.Driver, rep.CUDA = inv.Driver, inv.CUDA
	for _, g := range inv.GPUs {
		rep.GPUs = append(rep.GPUs, GPU{Index: g.Index, Name: g.Name, UUID: g.UUID, PCI: g.PCIBusID})
	}

	rep.Present = map[string]map[string]int{}
	sums, counts := map[string]float64{}, map[string]int{}
	sctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	st, err := sampler.Run(sctx, s, interval, time.Now(), func(r sampler.Reading) {
		for _, d := range r.Devices {
			p := rep.Present[d.Device]
			if p == nil {
				p = map[string]int{}
				rep.Present[d.Device] = p
			}
			for col, v := range values(d) {
				if sampler.Has(v) {
					p[col]++
				}
			}
			if d.HasClockEvents {
				p["clock_event_reasons"]++
			}
			if sampler.Has(d.PowerW) {
				sums[d.Device] += d.PowerW
				counts[d.Device]++
			}
		}
	})
	if err != nil {
		return rep, err
	}
	rep.Sampling = &Sampling{
		DurationS: duration.Seconds(), IntervalMS: ms(interval),
		Readings: st.Readings, Errors: st.Errors, Missed: st.Missed, LastError: st.LastError,
		IntervalP50MS: ms(st.IntervalP50), IntervalP99MS: ms(st.IntervalP99), ReadP99MS: ms(st.ReadP99),
	}
	if len(counts) > 0 {
		rep.PowerMeanW = map[string]float64{}
		total := 0.0
		for dev, n := range counts {
			rep.PowerMeanW[dev] = sums[dev] / float64(n)
			total += rep.PowerMeanW[dev]
		}
		rep.PowerMeanTotalW = &total
	}

	info := s.Describe() // after sampling: its notes include the fields found unsupported or failing
	for _, d := range info.Devices {
		di := DeviceInfo{Device: d.Device, Model: d.Model, PowerAveraged: d.PowerAveraged}
		if d.SensorPeriod > 0 {
			p := ms(d.SensorPeriod)
			di.SensorPeriodMS = &p
		}
		rep.Devices = append(rep.Devices, di)
	}
	rep.Notes = info.Notes
	for _, h := range s.Health() {
		out := Health{Device: h.Device, Reads: h.Reads, EmptyReads: h.EmptyReads, EnergyResets: h.EnergyResets}
		for f, n := range h.FieldErrors {
			if out.FieldErrors == nil {
				out.FieldErrors = map[string]int64{}
			}
			out.FieldErrors[f.String()] = n
		}
		if h.LastError != nil {
			out.LastError = h.LastError.Error()
		}
		rep.Health = append(rep.Health, out)
	}
	if st.Readings == 0 {
		return rep, fmt.Errorf("NVML opened but no tick read any GPU in %v (%d errors; last: %s)", duration, st.Errors, st.LastError)
	}
	return rep, nil
}

// values maps a reading's float fields to their timeline column names.
func values(d sampler.DeviceReading) map[string]float64 {
	return map[string]float64{
		"power_w": d.PowerW, "energy_j": d.EnergyJ, "util_pct": d.UtilPct, "mem_util_pct": d.MemUtilPct,
		"mem_used_bytes": d.MemUsedBytes, "sm_clock_mhz": d.SMClockMHz, "mem_clock_mhz": d.MemClockMHz, "temp_c": d.TempC,
	}
}

// columns is the order values are printed in.
var columns = []string{"power_w", "energy_j", "util_pct", "mem_util_pct", "mem_used_bytes",
	"sm_clock_mhz", "mem_clock_mhz", "temp_c", "clock_event_reasons"}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func writeText(w io.Writer, r *Report) {
	if r.OpenError != "" {
		what := "failed"
		if r.Unavailable {
			what = "UNAVAILABLE"
		}
		fmt.Fprintf(w, "nvml open (%s): %s: %s\n", r.Library, what, r.OpenError)
		return
	}
	fmt.Fprintf(w, "nvml open (%s): ok; driver %s, CUDA %s\n", r.Library, orDash(r.Driver), orDash(r.CUDA))
	for _, g := range r.GPUs {
		fmt.Fprintf(w, "  gpu%d: %s  %s  %s\n", g.Index, g.Name, orDash(g.UUID), g.PCI)
	}
	for _, d := range r.Devices {
		period := "unknown"
		if d.SensorPeriodMS != nil {
			period = fmt.Sprintf("%g ms", *d.SensorPeriodMS)
		}
		fmt.Fprintf(w, "  %s: power averaged over 1 s: %v; power sensor update period: %s\n", d.Device, d.PowerAveraged, period)
	}
	if s := r.Sampling; s != nil {
		fmt.Fprintf(w, "sampled %gs at %g ms: %d readings, %d failed ticks, %d missed; interval p50 %g ms, p99 %g ms; read p99 %g ms\n",
			s.DurationS, s.IntervalMS, s.Readings, s.Errors, s.Missed, s.IntervalP50MS, s.IntervalP99MS, s.ReadP99MS)
		if s.LastError != "" {
			fmt.Fprintf(w, "  last failed tick: %s\n", s.LastError)
		}
	}
	devs := make([]string, 0, len(r.Present))
	for d := range r.Present {
		devs = append(devs, d)
	}
	slices.Sort(devs)
	for _, d := range devs {
		fmt.Fprintf(w, "  %s values present:", d)
		for _, c := range columns {
			fmt.Fprintf(w, " %s %d", c, r.Present[d][c])
		}
		if p, ok := r.PowerMeanW[d]; ok {
			fmt.Fprintf(w, "; mean power %.1f W", p)
		}
		fmt.Fprintln(w)
	}
	for _, h := range r.Health {
		if len(h.FieldErrors) == 0 && h.EmptyReads == 0 && h.EnergyResets == 0 {
			fmt.Fprintf(w, "  %s: %d reads, no failed NVML call\n", h.Device, h.Reads)
			continue
		}
		fmt.Fprintf(w, "  %s: %d reads; FAILED NVML reads by field: %v; %d ticks with no value; %d energy-counter resets; last: %s\n",
			h.Device, h.Reads, h.FieldErrors, h.EmptyReads, h.EnergyResets, orDash(h.LastError))
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "  note:", n)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
