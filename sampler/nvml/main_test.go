package nvml

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// cleanups run after all tests (the fake library's build directory).
var cleanups []func()

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		for _, f := range cleanups {
			f()
		}
		os.Exit(code)
	}))
}
