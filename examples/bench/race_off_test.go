//go:build !race

package main

// raceEnabled reports whether the race detector is on: it multiplies a
// child's memory and time, so the bounds of the hostile tests do not apply.
const raceEnabled = false
