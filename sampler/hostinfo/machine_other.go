//go:build !linux

package hostinfo

import "runtime"

// machine approximates Python's platform.machine() off Linux from GOARCH,
// with uname's names for the common architectures.
func machine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "386":
		return "i686"
	case "arm64":
		return "arm64" // macOS's name; Linux's "aarch64" is read from uname(2)
	}
	return runtime.GOARCH
}
