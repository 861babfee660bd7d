// Package archtest holds no code, only tests that keep the architecture's
// one-way streets (see the root package doc): which package may import which,
// that only one leaf under sampler/ uses cgo, and that it compiles from an
// empty build cache without a compiler warning, that only envelope/keyless
// imports the Sigstore stack (sigstore, rekor, TUF, gRPC) and that the load
// generator, the samplers, energy, report and the envelope core do not
// depend on it, and that the module builds with CGO_ENABLED=0.
package archtest
