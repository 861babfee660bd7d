package profile_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/profile"
)

// The README's quickstart, verbatim. It is compiled by go test but not run:
// it needs an engine serving the envelope's model on localhost:8000 and a
// dev key in ./cosign.key (bench keygen cosign.key). ExampleRun shows the
// same call against the built-in fake engine, and runs.
func Example_quickstart() {
	ctx := context.Background()
	src, err := envelope.Load("c16-b91875fdf860.json")
	if err != nil {
		log.Fatal(err)
	}
	res, err := profile.Run(ctx, src,
		profile.WithBaseURL("http://localhost:8000/v1"),
		profile.WithNVMLInterval(10*time.Millisecond),
		profile.WithSourcePath("c16-b91875fdf860.json"), // the c16- prefix is the sweep point
		profile.WithDevKey("cosign.key"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", res.Path, "ok_rate", res.OKRate())
	if joules, ok := res.Envelope.Metric("energy_joules_gpu"); ok {
		fmt.Printf("GPU energy over the window: %.0f J\n", joules)
	}
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
}
