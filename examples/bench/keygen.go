package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/benchprof/benchprof/envelope"
)

func runKeygen(args []string, stdout io.Writer) error {
	fs := newFlagSet("keygen")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("keygen: expected one key path (e.g. cosign.key), got %d arguments", len(pos))
	}
	pub, err := envelope.GenerateKeyPair(pos[0])
	if errors.Is(err, os.ErrExist) {
		return withCode(exitFailure, err)
	}
	if err != nil {
		return withCode(exitFailure, err)
	}
	fmt.Fprintf(stdout, "wrote private key %s (mode 0600) and public key %s (mode 0644)\n", pos[0], pub)
	fmt.Fprintf(stdout, "sign with --dev-key %s; verifiers pin the key with --key %s\n", pos[0], pub)
	return nil
}
