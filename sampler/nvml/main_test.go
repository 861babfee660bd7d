package nvml

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// cleanups run after all tests (the fake library's build directory).
var cleanups []func()

// hungChildEnv makes the test binary run one hung-driver test itself,
// without the leak check (see inHungChild).
const hungChildEnv = "BENCHPROF_NVML_HUNG_CHILD"

func TestMain(m *testing.M) {
	cleanup := func(code int) {
		for _, f := range cleanups {
			f()
		}
		os.Exit(code)
	}
	if os.Getenv(hungChildEnv) != "" {
		// The hung-GPU test's child: it leaves goroutines blocked in the
		// fake driver on purpose, which is what it checks Close survives.
		cleanup(m.Run())
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(cleanup))
}
