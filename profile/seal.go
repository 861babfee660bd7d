package profile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
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
	path, err := envelope.Write(r.c.outputDir, FilePrefix, signed)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	r.res.Envelope, r.res.Path = signed, path
	r.log.Info("wrote envelope", "path", path)
	if r.c.html {
		r.writeTimelineHTML(m)
	}
	return nil
}

// writeTimelineHTML writes the HTML timeline beside the side files: a
// view, not signed data, so a failure is a warning.
func (r *run) writeTimelineHTML(m *measurement) {
	path := strings.TrimSuffix(r.res.TimelinePath, ".csv") + ".html"
	err := writeHTML(path, r.res.TimelinePath, r.res.TracePath, timeline.Page{
		Title: "benchprof profile of " + r.src.SuiteID, EnvelopePath: r.res.Path,
		Window: m.window, TraceOffset: m.offset,
	})
	if err != nil {
		r.warn("HTML timeline not written: " + err.Error())
		return
	}
	r.res.HTMLPath = path
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

// writeHTML renders the timeline page from the two side files.
func writeHTML(path, timelinePath, tracePath string, page timeline.Page) error {
	tl, err := os.Open(timelinePath)
	if err != nil {
		return err
	}
	defer tl.Close()
	tr, err := os.Open(tracePath)
	if err != nil {
		return err
	}
	defer tr.Close()
	var buf bytes.Buffer
	if err := timeline.WriteHTML(&buf, tl, tr, timeline.Options{}, page); err != nil {
		return err
	}
	return envelope.WriteFileAtomic(path, buf.Bytes(), 0o644)
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
