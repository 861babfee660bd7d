package sampler

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestTimelineRoundTrip(t *testing.T) {
	g := NewDeviceReading("gpu0", KindGPU)
	g.PowerW, g.EnergyJ, g.UtilPct, g.ClockEventReasons, g.HasClockEvents = 301.25, 12345.678, 97, 4, true
	p := NewDeviceReading("package-0", KindCPUPackage)
	p.EnergyJ = 0.1 + 0.2
	in := []Reading{
		{Sampler: "nvml", Tick: 0, At: 500 * time.Microsecond, Devices: []DeviceReading{g, g}},
		{Sampler: "rapl", Tick: 0, At: 700 * time.Microsecond, Devices: []DeviceReading{p}},
		{Sampler: "nvml", Tick: 1, At: 10500 * time.Microsecond, Devices: []DeviceReading{g}},
	}
	in[0].Devices[1].Device = "gpu1"
	in[2].Devices[0].EnergyLag = 8765432 * time.Nanosecond
	var buf bytes.Buffer
	w := NewTimelineWriter(&buf)
	for _, r := range in {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.Rows() != 4 {
		t.Errorf("rows = %d; want 4", w.Rows())
	}
	var out []Reading
	err := ReadTimeline(&buf, func(r Reading) error {
		r.Devices = append([]DeviceReading(nil), r.Devices...)
		out = append(out, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if !math.IsNaN(out[1].Devices[0].PowerW) {
		t.Error("an absent value did not read back as absent")
	}
}

func TestTimelineEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := NewTimelineWriter(&buf).Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "t_ns,sampler,tick,device,kind,power_w,energy_j,util_pct,mem_util_pct,mem_used_bytes,sm_clock_mhz,mem_clock_mhz,temp_c,clock_event_reasons,energy_lag_ns\n" {
		t.Errorf("empty timeline = %q", got)
	}
	if err := ReadTimeline(&buf, func(Reading) error { t.Fatal("reading in an empty timeline"); return nil }); err != nil {
		t.Fatal(err)
	}
}

// A timeline written before energy_lag_ns was added reads with a lag of 0;
// a lag that is not a non-negative integer is an error naming the line.
func TestTimelineColumns(t *testing.T) {
	const old = "t_ns,sampler,tick,device,kind,power_w,energy_j,util_pct,mem_util_pct,mem_used_bytes,sm_clock_mhz,mem_clock_mhz,temp_c,clock_event_reasons\n" +
		"1000,nvml,0,gpu0,gpu,300,12.5,,,,,,,\n"
	var got []DeviceReading
	err := ReadTimeline(bytes.NewBufferString(old), func(r Reading) error {
		got = append(got, r.Devices...)
		return nil
	})
	if err != nil || len(got) != 1 || got[0].EnergyJ != 12.5 || got[0].EnergyLag != 0 {
		t.Fatalf("old timeline: %v, %+v", err, got)
	}
	for _, tc := range []struct{ in, want string }{
		{"t_ns,sampler,tick,device,kind,power_w,energy_j,util_pct,mem_util_pct,mem_used_bytes,sm_clock_mhz,mem_clock_mhz,temp_c,clock_event_reasons,energy_lag_ns\n" +
			"1000,nvml,0,gpu0,gpu,300,12.5,,,,,,,,-5\n", "line 2, energy_lag_ns"},
		{"t_ns,sampler,tick\n", "3 columns"},
		{"t_ns,sampler,tick,device,kind,power_w,energy_j,util_pct,mem_util_pct,mem_used_bytes,sm_clock_mhz,mem_clock_mhz,temp_c,lag_ns\n", "column 14"},
	} {
		err := ReadTimeline(bytes.NewBufferString(tc.in), func(Reading) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming %q", tc.in, err, tc.want)
		}
	}
}
