//go:build unix

package fdlimit

import "syscall"

// current returns the soft RLIMIT_NOFILE.
func current() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	if rl.Cur == ^uint64(0) { // RLIM_INFINITY
		return 0, false
	}
	return uint64(rl.Cur), true
}
