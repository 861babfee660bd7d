package hostinfo_test

import (
	"context"
	"fmt"

	"github.com/benchprof/benchprof/sampler/hostinfo"
)

// Collecting the fingerprint of a fixture host: the GPU inventory comes
// from NVML (here, by hand), dmidecode printed nothing (no root), and the
// NCCL version variable is unset.
func ExampleCollect() {
	gpus := []hostinfo.GPU{
		{Index: 0, Model: "NVIDIA H200", PCIID: "00000000:01:00.0", Serial: "1654224017102", VBIOS: "96.00.AF.00.01"},
		{Index: 1, Model: "NVIDIA H200", PCIID: "00000000:21:00.0"}, // serial and VBIOS unreadable
	}
	res, err := hostinfo.Collect(context.Background(),
		hostinfo.WithRoot("testdata/roots/epyc-9654"),
		hostinfo.WithGPUs(gpus, "570.133.20", hostinfo.FormatCUDAVersion(12080)),
		hostinfo.WithDMIDecodeOutput(nil),
		hostinfo.WithLookupEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		panic(err)
	}
	hf := res.Fingerprint
	fmt.Println(hf.DMIUUID)
	fmt.Printf("%s, microcode %s\n", hf.CPU.Model, hf.CPU.Microcode)
	fmt.Printf("memory %d/%d/%v, BIOS %s\n", hf.Memory.Channels, hf.Memory.SpeedMTS, hf.Memory.ECC, hf.BIOS.Version)
	fmt.Printf("%s %s %s %s\n", hf.GPUs[1].Model, hf.GPUs[1].Serial, hf.Driver, hf.CUDA)
	fmt.Println(hf.FingerprintSHA256)
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// 4c4c4544-0051-3510-8052-b9c04f4e3934
	// AMD EPYC 9654 96-Core Processor, microcode 0xa10113e
	// memory 1/1/false, BIOS 1.9.3
	// NVIDIA H200 unknown 570.133.20 12.8
	// f2d7dfbbd5da0597fca94ef507c9840b7617b32f9bf3f4fdfc24bdbaaf1368e8
	// warning: memory: the dmidecode output given is empty; recorded the reference's placeholder {channels 1, speed_mts 1, ecc false}
}
