// Package archtest holds no code, only tests that keep the architecture's
// one-way streets (see the root package doc): which package may import which,
// that only one leaf under sampler/ imports go-nvml or uses cgo, and that the
// module builds with CGO_ENABLED=0.
package archtest
