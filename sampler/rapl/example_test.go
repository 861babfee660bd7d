package rapl_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/rapl"
)

// Example reads a small powercap tree: package-0 with a core and a dram
// subzone. CPU+DRAM energy adds the cpu_package and dram readings only.
func Example() {
	root, err := os.MkdirTemp("", "rapl-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	write := func(zone, file, value string) {
		dir := filepath.Join(root, "class", "powercap", zone)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(value+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for zone, name := range map[string]string{"intel-rapl:0": "package-0", "intel-rapl:0:0": "core", "intel-rapl:0:1": "dram"} {
		write(zone, "name", name)
		write(zone, "energy_uj", "1000000")
		write(zone, "max_energy_range_uj", "262143328850")
	}

	s, err := rapl.Open(rapl.WithRoot(root)) // rapl.Open() reads /sys/class/powercap
	if err != nil {
		log.Fatal(err) // errors.Is(err, sampler.ErrUnavailable) without RAPL
	}
	defer s.Close()

	write("intel-rapl:0", "energy_uj", "3500000")   // +2.5 J
	write("intel-rapl:0:0", "energy_uj", "2000000") // +1 J, part of the package's
	write("intel-rapl:0:1", "energy_uj", "1500000") // +0.5 J
	readings, err := s.Sample(context.Background(), nil)
	if err != nil {
		log.Fatal(err)
	}
	var cpuDRAM float64
	for _, r := range readings {
		fmt.Printf("%-9s %-11s %.1f J\n", r.Device, r.Kind, r.EnergyJ)
		if r.Kind == sampler.KindCPUPackage || r.Kind == sampler.KindDRAM {
			cpuDRAM += r.EnergyJ
		}
	}
	fmt.Printf("CPU+DRAM: %.1f J\n", cpuDRAM)
	// Output:
	// package-0 cpu_package 2.5 J
	// core-0    other       1.0 J
	// dram-0    dram        0.5 J
	// CPU+DRAM: 3.0 J
}
