//go:build race

package nvml

const raceEnabled = true
