package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// ErrInvalidPoint is wrapped by errors about a sweep point that cannot be
// run: from [Point.Validate], a concurrency or rate ≤ 0, NaN or infinite, a
// concurrency above MaxConcurrency or a rate above MaxRPS, or both set at
// once. Package catalog wraps it too when a source envelope records a point
// that is not one (a non-integral concurrency, a value of the wrong JSON
// type).
var ErrInvalidPoint = errors.New("invalid sweep point")

// DriverKind says how load is driven at a [Point]; the values are the
// reference's driver types (FACTS §5.2, §5.3).
type DriverKind string

// The driver kinds.
const (
	// DriverClosedLoop keeps a fixed number of requests in flight
	// (Point.Concurrency workers, each sending its next request when the
	// previous one ends): [ClosedLoop].
	DriverClosedLoop DriverKind = "closed_loop"
	// DriverOpenLoop sends requests at Poisson arrival times of a fixed
	// mean rate (Point.RPS), whether or not earlier ones have finished:
	// [Poisson].
	DriverOpenLoop DriverKind = "open_loop"
)

// Point is one point of a sweep: a closed-loop concurrency or an open-loop
// request rate. Exactly one field is set in a valid point; the set field
// also says which driver runs it ([Point.Driver]). The zero Point means
// "not chosen".
type Point struct {
	// Concurrency is the number of closed-loop workers.
	Concurrency int
	// RPS is the open-loop mean arrival rate, in requests per second.
	RPS float64
}

// IsZero reports whether p is the zero Point (nothing chosen).
func (p Point) IsZero() bool { return p.Concurrency == 0 && p.RPS == 0 }

// Driver returns [DriverClosedLoop] when Concurrency is set,
// [DriverOpenLoop] when RPS is set, and "" for the zero Point.
func (p Point) Driver() DriverKind {
	switch {
	case p.Concurrency != 0:
		return DriverClosedLoop
	case p.RPS != 0 || math.IsNaN(p.RPS):
		return DriverOpenLoop
	}
	return ""
}

// Validate returns nil if exactly one of Concurrency and RPS is set and it
// is positive and at most the driver's limit (MaxConcurrency, MaxRPS),
// else an error wrapping [ErrInvalidPoint].
func (p Point) Validate() error {
	switch {
	case p.IsZero():
		return fmt.Errorf("%w: neither concurrency nor rps is set", ErrInvalidPoint)
	case p.Concurrency != 0 && p.RPS != 0:
		return fmt.Errorf("%w: both concurrency (%d) and rps (%g) are set; choose one", ErrInvalidPoint, p.Concurrency, p.RPS)
	case p.Concurrency != 0:
		return checkConcurrency(p.Concurrency)
	}
	return checkRPS(p.RPS)
}

func checkConcurrency(c int) error {
	switch {
	case c <= 0:
		return fmt.Errorf("%w: concurrency %d must be positive", ErrInvalidPoint, c)
	case c > MaxConcurrency:
		return fmt.Errorf("%w: concurrency %d exceeds MaxConcurrency (%d)", ErrInvalidPoint, c, MaxConcurrency)
	}
	return nil
}

func checkRPS(r float64) error {
	switch {
	case !(r > 0) || math.IsInf(r, 1):
		return fmt.Errorf("%w: rps %g must be a positive finite number", ErrInvalidPoint, r)
	case r > MaxRPS:
		return fmt.Errorf("%w: rps %g exceeds MaxRPS (%g)", ErrInvalidPoint, r, MaxRPS)
	}
	return nil
}

// String renders p for logs: "concurrency 16", "rps 0.5", or "none".
func (p Point) String() string {
	switch p.Driver() {
	case DriverClosedLoop:
		return "concurrency " + strconv.Itoa(p.Concurrency)
	case DriverOpenLoop:
		return "rps " + strconv.FormatFloat(p.RPS, 'g', -1, 64)
	}
	return "none"
}
