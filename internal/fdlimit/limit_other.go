//go:build !unix

package fdlimit

// current reports that the platform has no open-file limit to check.
func current() (uint64, bool) { return 0, false }
