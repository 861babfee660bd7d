package nvml

import (
	"strings"
	"testing"
	"time"
)

func TestInvalidOptionsRejectedBeforeNVML(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"negative slow interval", []Option{WithSlowInterval(-time.Millisecond)}, "WithSlowInterval: negative"},
		{"negative probe", []Option{WithSensorProbe(-1)}, "WithSensorProbe: negative"},
		{"zero open timeout", []Option{WithOpenTimeout(0)}, "WithOpenTimeout: 0s is not a positive duration"},
		{"open timeout within the probe", []Option{WithOpenTimeout(time.Second), WithSensorProbe(time.Second)}, "leaves no time beyond the 1s sensor probe"},
		{"empty library path", []Option{WithLibraryPath("")}, "WithLibraryPath: empty path"},
		{"no selectors", []Option{WithDevices()}, "WithDevices: no selectors"},
		{"bad selector", []Option{WithDevices("gpu0")}, `selector "gpu0" is neither`},
		{"empty selector", []Option{WithDevices("")}, `selector "" is neither`},
		{"negative index", []Option{WithDevices("-1")}, `selector "-1" is neither`},
		{"huge index", []Option{WithDevices("99999999999999999999999")}, "out of range"},
		{"all problems at once", []Option{WithSlowInterval(-1), WithSensorProbe(-1)}, "WithSensorProbe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The library path does not exist: a validation error must come
			// before any attempt to load it.
			opts := append([]Option{WithLibraryPath("/nonexistent/libnvidia-ml.so.1")}, tc.opts...)
			if tc.name == "empty library path" {
				opts = tc.opts
			}
			s, err := Open(opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "unavailable") {
				t.Fatalf("a validation error reached NVML: %v", err)
			}
		})
	}
}

func TestParseSelector(t *testing.T) {
	for _, tc := range []struct {
		in    string
		index int
		uuid  string
	}{
		{"0", 0, ""},
		{"7", 7, ""},
		{"GPU-5e3c1a2b-0000-1111-2222-333344445555", -1, "GPU-5e3c1a2b-0000-1111-2222-333344445555"},
		{"gpu-abc", -1, "gpu-abc"},
	} {
		i, u, err := parseSelector(tc.in)
		if err != nil || i != tc.index || u != tc.uuid {
			t.Errorf("parseSelector(%q) = %d, %q, %v; want %d, %q", tc.in, i, u, err, tc.index, tc.uuid)
		}
	}
	for _, bad := range []string{"", "GPU-", "+1", "1.0", "MIG-1234", "all"} {
		if _, _, err := parseSelector(bad); err == nil {
			t.Errorf("parseSelector(%q) accepted", bad)
		}
	}
}

func TestFingerprintFormats(t *testing.T) {
	for v, want := range map[int]string{13000: "13.0", 12040: "12.4", 12090: "12.9", 11080: "11.8", 12000: "12.0"} {
		if got := cudaVersion(v); got != want {
			t.Errorf("cudaVersion(%d) = %q, want %q", v, got, want)
		}
	}
	if got := fallbackName(3); got != "NVIDIA-GPU-3" {
		t.Errorf("fallbackName(3) = %q", got)
	}
	if got := fallbackPCIID(10); got != "0000:00:0a.0" {
		t.Errorf("fallbackPCIID(10) = %q", got)
	}
}

func TestFieldNames(t *testing.T) {
	seen := map[string]bool{}
	for f := range numFields {
		s := f.String()
		if s == "" || seen[s] {
			t.Errorf("field %d: name %q empty or repeated", int(f), s)
		}
		seen[s] = true
	}
	if got := Field(42).String(); got != "field(42)" {
		t.Errorf("Field(42) = %q", got)
	}
}
