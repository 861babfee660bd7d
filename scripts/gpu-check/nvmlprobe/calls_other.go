//go:build !linux || !cgo

package main

import "errors"

func timeCalls(lib string, n int) (*Calls, error) {
	return nil, errors.New("-calls needs a Linux cgo build (this build cannot reach NVML)")
}
