package main

import (
	"os"
	"testing"
)

// asCLIEnv, set to "1" in a test binary's environment, makes that binary
// the bench command: TestMain then runs main with the binary's arguments
// instead of the tests. Tests that must watch the CLI from outside — its
// peak memory, its exit status, its answer to signals — start os.Args[0]
// this way (see startCLI) instead of building the command each time.
const asCLIEnv = "BENCH_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLIEnv) == "1" {
		main() // exits by itself on failure
		os.Exit(0)
	}
	os.Exit(m.Run())
}
