//go:build race

package loadgen_test

// raceEnabled reports a build with the race detector, which multiplies
// memory and time: whole-process bounds are not measured there.
const raceEnabled = true
