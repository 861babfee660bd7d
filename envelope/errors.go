package envelope

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is one validation failure: the dotted path of the field
// ("hardware_fingerprint.gpus[0].serial", "metrics.ok_rate") and the rule it
// breaks ("must be 64 lowercase hex characters").
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) String() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// ValidationError lists every way an envelope breaks the v1 schema, in field
// order. Its message is the first failure, plus a count of the rest.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "invalid envelope"
	}
	msg := e.Errors[0].String()
	if n := len(e.Errors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more: %s)", n, e.Errors[1].String())
		if n > 1 {
			msg = strings.TrimSuffix(msg, ")") + ", …)"
		}
	}
	return msg
}

// ErrFingerprintMismatch is wrapped by the error for an envelope whose
// hardware_fingerprint.fingerprint_sha256 does not match its content.
var ErrFingerprintMismatch = errors.New("fingerprint_sha256 mismatch")

// ErrNoMetrics is wrapped by the error for an envelope without metrics.
var ErrNoMetrics = errors.New("must contain at least one metric")

// Is makes errors.Is(err, ErrFingerprintMismatch) and errors.Is(err,
// ErrNoMetrics) work on a ValidationError that holds those failures.
func (e *ValidationError) Is(target error) bool {
	for _, fe := range e.Errors {
		switch {
		case target == ErrFingerprintMismatch && strings.HasPrefix(fe.Msg, ErrFingerprintMismatch.Error()):
			return true
		case target == ErrNoMetrics && fe.Path == "metrics" && fe.Msg == ErrNoMetrics.Error():
			return true
		}
	}
	return false
}

// escapeControls returns s with control characters, other characters that
// are not printable (bidirectional marks, zero-width characters, line
// separators) and invalid UTF-8 written as Go escapes, for texts this
// package does not compose itself (errors of other libraries, file names)
// that may quote envelope or certificate content. Printable text is kept as
// it is.
func escapeControls(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
