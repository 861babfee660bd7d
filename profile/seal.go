package profile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/report/timeline"
)

// seal builds the new envelope from the plan and the measurement, signs it
// and writes it; with WithTimelineHTML it then writes the HTML page. A
// cancellation after the load (a signal during post-processing) stops
// before signing and before writing: nothing half-done is signed.
func (r *run) seal(ctx context.Context, p *plan, x *execution, m *measurement) error {
	env, err := r.c.buildEnvelope(r.src, p.suite, p.ds, p.engine, x.fp, m.summary, m.energy, r.res)
	if err != nil {
		return fmt.Errorf("profile: build envelope: %w", err)
	}
	if err := r.stillWanted(ctx); err != nil {
		return err
	}
	signed, err := envelope.Sign(ctx, env, p.signer)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := r.stillWanted(ctx); err != nil {
		return err
	}
	path, err := envelope.Write(r.c.outputDir, r.prefix, signed)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	r.res.Envelope, r.res.Path = signed, path
	r.log.Info("wrote envelope", "path", path)
	r.nameSideFiles(path)
	if r.c.html {
		r.writeTimelineHTML(x, m)
	}
	return nil
}

// sideSuffixes are the side files' suffixes, after their stem.
var sideSuffixes = []string{".requests.jsonl", ".timeline.csv"}

// sideSuffix returns path's side-file suffix (".requests.jsonl", …).
func sideSuffix(path string) string {
	for _, s := range sideSuffixes {
		if strings.HasSuffix(path, s) {
			return s
		}
	}
	return filepath.Ext(path)
}

// nameSideFiles renames the side files after the envelope once it is
// written, so that a person sees which files belong together:
// profile-<hash12>.json, profile-<hash12>.requests.jsonl,
// profile-<hash12>.timeline.csv (and .timeline.html). A file is never
// renamed over another; a failure is a warning and the file keeps its name.
func (r *run) nameSideFiles(envPath string) {
	stem := strings.TrimSuffix(envPath, ".json")
	for _, p := range []*string{&r.res.TracePath, &r.res.TimelinePath} {
		to := stem + sideSuffix(*p)
		if err := renameNoClobber(*p, to); err != nil {
			r.warn(fmt.Sprintf("side file %s keeps its name: %v", *p, err))
			continue
		}
		*p = to
	}
}

// renameNoClobber renames from to to, failing with an error wrapping
// fs.ErrExist when to exists: a hard link then a removal where the file
// system has links, else a check and a rename.
func renameNoClobber(from, to string) error {
	err := os.Link(from, to)
	switch {
	case err == nil:
		return os.Remove(from)
	case errors.Is(err, fs.ErrExist):
		return err
	}
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("%s: %w", to, fs.ErrExist)
	}
	return os.Rename(from, to)
}

// writeTimelineHTML writes the HTML timeline beside the side files, from
// the readings and results the page builder was fed during the run (no
// file is read back): a view, not signed data, so a failure is a warning.
func (r *run) writeTimelineHTML(x *execution, m *measurement) {
	path := strings.TrimSuffix(r.res.TimelinePath, ".csv") + ".html"
	page := timeline.Page{
		Title: r.title(), EnvelopePath: r.res.Path,
		Window: m.window, TraceOffset: m.offset,
	}
	for _, g := range r.res.GPUs.GPUs {
		page.Sensors = append(page.Sensors, timeline.Sensor{Sampler: g.Sampler, Device: g.Device,
			PowerAveraged: g.PowerAveraged, Period: g.SensorPeriod, NotCounted: !g.Counted})
	}
	if x.idle != nil {
		page.IdleWindow = *x.idle
	}
	var buf bytes.Buffer
	err := x.page.WriteHTML(&buf, page)
	if err == nil {
		err = envelope.WriteFileAtomic(path, buf.Bytes(), 0o644)
	}
	if err != nil {
		r.warn("HTML timeline not written: " + err.Error())
		return
	}
	r.res.HTMLPath = path
}

// title names the run on its pages: "benchprof profile of <suite> at
// concurrency 16", or "benchprof run of …" for a fresh one.
func (r *run) title() string {
	what := "profile"
	if r.fresh {
		what = "run"
	}
	t := "benchprof " + what + " of " + r.src.SuiteID
	if p := r.res.Point.Point; !p.IsZero() {
		t += " at " + p.String()
	}
	return t
}

// stillWanted returns ErrInterrupted once ctx is done, so that nothing is
// signed or written after the caller gave up.
func (r *run) stillWanted(ctx context.Context) error {
	res := r.res
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("%w after the load: no envelope was signed or written; the per-request trace is in %s, the telemetry timeline in %s: %w",
		ErrInterrupted, res.TracePath, res.TimelinePath, context.Cause(ctx))
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
