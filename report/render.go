package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/internal/textsafe"
)

// TextOptions configures WriteText.
type TextOptions struct {
	// Color adds ANSI colors (cyan field names, bold headers, green/red
	// match cells). By default (false) the output is plain text with no
	// escape codes, for pipes, files and NO_COLOR.
	Color bool
}

const (
	ansiReset = "\x1b[0m"
	ansiBold  = "\x1b[1m"
	ansiDim   = "\x1b[2m"
	ansiCyan  = "\x1b[36m"
	ansiGreen = "\x1b[32m"
	ansiRed   = "\x1b[31m"
)

// WriteText writes the three tables as aligned text, then the footer line
// and any warnings.
//
// Every cell, warning and the trust line are escaped with textsafe.Escape:
// text from an envelope or an engine cannot move the cursor, hide text or
// forge a line.
func WriteText(w io.Writer, p Profile, opts TextOptions) error {
	ew := &errWriter{w: w}
	if p.SourceTrust != "" {
		style := ansiBold
		if !strings.HasPrefix(p.SourceTrust, "trusted") {
			style = ansiBold + ansiRed
		}
		ew.printf("%s %s\n\n", paint("source:", style, opts.Color), textsafe.Escape(p.SourceTrust))
	}
	for i, t := range Tables(p) {
		if i > 0 {
			ew.printf("\n")
		}
		if err := writeTable(ew, t, opts.Color); err != nil {
			return err
		}
	}
	ew.printf("\n%s\n", paint(Footer, ansiDim, opts.Color))
	for _, warn := range p.Warnings {
		ew.printf("%s %s\n", paint("warning:", ansiBold, opts.Color), textsafe.Escape(warn))
	}
	return ew.err
}

func paint(s, code string, on bool) string {
	if !on || s == "" {
		return s
	}
	return code + s + ansiReset
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

func (e *errWriter) Write(b []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(b)
	e.err = err
	return n, err
}

// WriteTables writes tables as WriteText writes a profile's: aligned text,
// one blank line between tables, every cell escaped with textsafe.Escape.
// Other views of envelopes (a sweep's summary) render their tables with it.
func WriteTables(w io.Writer, ts []Table, opts TextOptions) error {
	for i, t := range ts {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := writeTable(w, t, opts.Color); err != nil {
			return err
		}
	}
	return nil
}

func writeTable(w io.Writer, t Table, color bool) error {
	ew := &errWriter{w: w}
	t = escapeTable(t)
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	ew.printf("%s\n", paint(t.Title, ansiBold, color))
	line := func(cells []string, style func(col int, cell string) string) {
		parts := make([]string, len(cells))
		for i, c := range cells {
			parts[i] = style(i, pad(c, widths[i], align(t.Align, i)))
		}
		ew.printf("%s\n", strings.TrimRight(strings.Join(parts, "  "), " "))
	}
	line(t.Columns, func(_ int, c string) string { return paint(c, ansiBold, color) })
	rules := make([]string, len(widths))
	for i, n := range widths {
		rules[i] = strings.Repeat("-", n)
	}
	ew.printf("%s\n", strings.Join(rules, "  "))
	for _, r := range t.Rows {
		line(r, func(col int, c string) string {
			switch {
			case col == 0:
				return paint(c, ansiCyan, color)
			case t.Columns[col] == "match" && strings.TrimSpace(c) == "yes":
				return paint(c, ansiGreen, color)
			case t.Columns[col] == "match":
				return paint(c, ansiRed, color)
			case t.Columns[col] == "note":
				return paint(c, ansiDim, color)
			}
			return c
		})
	}
	return ew.err
}

func align(spec string, i int) byte {
	if i < len(spec) {
		return spec[i]
	}
	return 'l'
}

func pad(s string, width int, how byte) string {
	n := width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	switch how {
	case 'r':
		return strings.Repeat(" ", n) + s
	case 'c':
		return strings.Repeat(" ", n/2) + s + strings.Repeat(" ", n-n/2)
	}
	return s + strings.Repeat(" ", n)
}

// escapeTable returns t with every cell escaped for a terminal.
func escapeTable(t Table) Table {
	out := t
	out.Title = textsafe.Escape(t.Title)
	out.Columns = make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out.Columns[i] = textsafe.Escape(c)
	}
	out.Rows = make([][]string, len(t.Rows))
	for i, r := range t.Rows {
		out.Rows[i] = make([]string, len(r))
		for j, c := range r {
			out.Rows[i][j] = textsafe.Escape(c)
		}
	}
	return out
}

// WriteMarkdown writes the tables as GitHub-flavoured Markdown, with the
// trust line first and every cell escaped as WriteText does.
func WriteMarkdown(w io.Writer, p Profile) error {
	ew := &errWriter{w: w}
	if p.SourceTrust != "" {
		ew.printf("**source:** %s\n\n", escapeMD([]string{p.SourceTrust})[0])
	}
	for i, t := range Tables(p) {
		t = escapeTable(t)
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("### %s\n\n", t.Title)
		ew.printf("| %s |\n", strings.Join(escapeMD(t.Columns), " | "))
		seps := make([]string, len(t.Columns))
		for j := range seps {
			switch align(t.Align, j) {
			case 'r':
				seps[j] = "---:"
			case 'c':
				seps[j] = ":---:"
			default:
				seps[j] = "---"
			}
		}
		ew.printf("| %s |\n", strings.Join(seps, " | "))
		for _, r := range t.Rows {
			ew.printf("| %s |\n", strings.Join(escapeMD(r), " | "))
		}
	}
	ew.printf("\n_%s_\n", Footer)
	if len(p.Warnings) > 0 {
		ew.printf("\n")
		for _, warn := range p.Warnings {
			ew.printf("- **warning:** %s\n", escapeMD([]string{textsafe.Escape(warn)})[0])
		}
	}
	return ew.err
}

func escapeMD(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		c = strings.ReplaceAll(textsafe.Escape(c), "|", `\|`)
		out[i] = c
	}
	return out
}

// jsonReport is the JSON document WriteJSON emits.
type jsonReport struct {
	Files       map[string]string `json:"files,omitempty"`
	SourceTrust string            `json:"source_trust,omitempty"`
	Failures    []Failure         `json:"failures,omitempty"`
	Tables      []Table           `json:"tables"`
	Footer      string            `json:"footer"`
	Warnings    []string          `json:"warnings"`
	Metrics     struct {
		Source  map[string]any `json:"source"` // null for a run without a source
		Profile map[string]any `json:"profile"`
	} `json:"metrics"`
}

// WriteJSON writes the tables, the footer, the warnings and both envelopes'
// metrics as one JSON document.
func WriteJSON(w io.Writer, p Profile) error {
	var doc jsonReport
	doc.Files = p.Files
	doc.SourceTrust = p.SourceTrust
	doc.Failures = p.Failures
	doc.Tables = Tables(p)
	doc.Footer = Footer
	doc.Warnings = append([]string{}, p.Warnings...)
	doc.Metrics.Source = metricMap(p.Source)
	doc.Metrics.Profile = metricMap(p.Profile)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(textsafe.JSON(b.Bytes())) // same value, no raw bidi or C1 characters
	return err
}

func metricMap(e *envelope.Envelope) map[string]any {
	m := map[string]any{}
	if e == nil {
		return nil
	}
	for k, v := range e.Metrics.All() {
		switch v.Kind() {
		case envelope.KindString:
			s, _ := v.AsString()
			m[k] = s
		case envelope.KindNull:
			m[k] = nil
		default:
			if f, ok := v.AsFloat64(); ok && !math.IsInf(f, 0) && !math.IsNaN(f) {
				m[k] = f
			}
		}
	}
	return m
}
