package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit codes, as the reference's CLI uses them.
const (
	exitFailure = 1 // the operation ran and failed
	exitUsage   = 2 // unreadable or invalid input, or bad usage
)

// exitError carries an exit code. A silent one has already been reported
// on the output streams.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error { return &exitError{code: code, err: err} }

func usageErr(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// exitCode maps an error from run to the process exit status.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitFailure
}

const usage = `usage: bench <command> [arguments]     (bench help <command> for its flags; bench --version)

commands:
  verify <envelope.json> [--key PATH]... [--identity ID | --identity-regexp RE --issuer URL] [--trusted-root PATH]
        check an envelope's signature and whether its signer is trusted
  keygen <path>
        write a new ed25519 dev signing key pair (<path> and its .pub)
  profile <envelope.json> --base-url URL [--duration SECONDS] [--output DIR]
          [--signing-mode dev|keyless] [--dev-key PATH] [--verify|--no-verify] [more: bench profile -h]
        re-run the envelope's benchmark against a live engine with GPU/CPU telemetry
        and write a new signed envelope profile-<hash12>.json
          [--sweep 1,4,16,64 | --sweep source | --rps-sweep 1,2,4]   one envelope per point
          (profile-c16-<hash12>.json) and a summary with the curves
          [--find-peak --slo ttft_p99=500ms[,tpot_p99=50ms][,suite]]  the highest load that holds the SLO
  run --suite ID --model NAME --engine KIND --base-url URL [flags as profile's]
        run a bundled suite from nothing (no envelope needed) and write a signed
        envelope <hash12>.json in ./results; --sweep and --find-peak as profile's
  demo [--output DIR] [--duration D]
        profile a bundled real envelope against a built-in fake engine for 5 s
`

// run is the whole CLI: it parses args, writes results to stdout and
// diagnostics to stderr, and returns an error carrying the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, stdout, stderr)
	var help *helpRequest
	if errors.As(err, &help) {
		fmt.Fprint(stdout, help.text)
		return nil
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: exitUsage, silent: true}
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "verify":
		return runVerify(ctx, rest, stdout, stderr)
	case "keygen":
		return runKeygen(rest, stdout)
	case "profile":
		return runProfile(ctx, rest, stdout, stderr)
	case "run":
		return runFresh(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "help":
		if len(rest) > 0 {
			if _, ok := commandDocs[rest[0]]; ok {
				return dispatch(ctx, []string{rest[0], "--help"}, stdout, stderr)
			}
			fmt.Fprint(stderr, usage)
			return usageErr("help: unknown command %q", rest[0])
		}
		fmt.Fprint(stdout, usage)
		return nil
	case "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, version())
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageErr("unknown command %q", cmd)
	}
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments (`verify FILE --key K`), returning the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
			return nil, &helpRequest{text: commandHelp(fs)}
		} else if err != nil {
			return nil, usageErr("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// helpRequest is returned by parseInterspersed for -h; run prints it.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return h.text }

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, not printed twice
	return fs
}
