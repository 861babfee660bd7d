// Command bench is a thin CLI over the benchprof library, shaped after
// InferenceBench's `bench`. Every subcommand only turns flags into library
// options and prints results; the work happens in the library.
//
//	bench verify <envelope.json> [--key PATH]... [--identity ID | --identity-regexp RE --issuer URL] [--trusted-root PATH]
//	bench keygen <path>
//	bench profile <envelope.json> --base-url URL [flags]   (bench profile -h lists them)
//	bench profile <envelope.json> --base-url URL --sweep 1,4,16,64 | --rps-sweep 1,2,4 | --sweep source
//	bench profile <envelope.json> --base-url URL --find-peak --slo ttft_p99=500ms
//	bench run --suite ID --model NAME --engine KIND --base-url URL [flags]   (no envelope needed)
//	bench demo [--output DIR] [--duration D]
//
// Exit codes: 0 success; 1 the operation failed (verification failed, a
// required trust policy did not match, a key file exists, a profile run
// failed); 2 unreadable or invalid input, or a usage error; 130 or 143 a
// profile or run stopped by SIGINT or SIGTERM (nothing signed for the point
// that was running; a sweep's finished points and partial files kept).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/benchprof/benchprof/internal/textsafe"
)

func main() {
	ctx, stop := notifyContext(context.Background(), os.Stderr, os.Exit)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.silent {
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "bench:", textsafe.EscapeLines(err.Error()))
		os.Exit(exitCode(err))
	}
}
