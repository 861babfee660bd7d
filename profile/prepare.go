package profile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
	"github.com/benchprof/benchprof/internal/fdlimit"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
)

// prepare runs every check that can fail before any load is sent, in the
// reference's order (FACTS §8.2), and settles the plan: the source and its
// suite, the signer, the workload and the engine.
func (r *run) prepare(ctx context.Context) (*plan, error) {
	p := &plan{}
	for _, step := range []func(context.Context, *plan) error{r.checkSource, r.readySigner, r.loadWorkload, r.reachEngine} {
		if err := step(ctx, p); err != nil {
			p.close()
			return nil, err
		}
	}
	return p, nil
}

// checkSource verifies the source against the trust policy, requires a
// base URL, and finds the source's suite and engine kind.
func (r *run) checkSource(ctx context.Context, p *plan) error {
	if r.src == nil {
		return fmt.Errorf("profile: %w: no source: give an envelope (FromEnvelope) or a suite (FromSuite)", ErrOptions)
	}
	if err := r.verifyOnce(ctx); err != nil {
		return err
	}
	if r.c.baseURL == "" {
		return ErrNoBaseURL
	}
	if _, err := loadgen.NormalizeBaseURL(r.c.baseURL); err != nil {
		return fmt.Errorf("profile: base URL (WithBaseURL): %w", err)
	}
	suite, err := catalog.LookupSuite(r.src.SuiteID)
	if err != nil {
		return fmt.Errorf("%w: this version no longer ships benchmark id %q: %w", ErrUnknownSuite, r.src.SuiteID, err)
	}
	p.suite = suite
	if _, err := loadgen.LookupEngineKind(r.src.Engine.Name, r.c.engineKinds...); err != nil {
		return fmt.Errorf("source envelope: %w", err)
	}
	return nil
}

// readySigner builds the signer and checks it can sign, before any load;
// the points of a sweep share the first one's.
func (r *run) readySigner(ctx context.Context, p *plan) error {
	if r.shared != nil && r.shared.signer != nil {
		p.signer = r.shared.signer
		return nil
	}
	s, err := r.c.buildSigner(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigner, err)
	}
	p.signer = s
	if r.shared != nil {
		r.shared.signer = s
	}
	return nil
}

// loadWorkload loads the dataset and resolves the load point.
func (r *run) loadWorkload(ctx context.Context, p *plan) error {
	ds, err := loadDataset(ctx, p.suite, r.c.datasetURI)
	if errors.Is(err, catalog.ErrDatasetUnavailable) {
		return fmt.Errorf("profile: dataset: %w; pass a local copy (profile.WithDataset with a file:// URI)", err)
	} else if err != nil {
		return fmt.Errorf("profile: dataset: %w", err)
	}
	p.ds = ds
	for _, w := range ds.Warnings() {
		r.warn("dataset: " + w)
	}
	point, err := catalog.ResolvePoint(p.suite, r.src, r.c.sourcePath, r.c.point)
	if err != nil {
		return fmt.Errorf("profile: sweep point: %w", err)
	}
	r.res.Point = point
	for _, w := range point.Warnings {
		r.warn("sweep point: " + w)
	}
	if point.Source == catalog.SourceSuiteDefault && r.c.generator == nil && !r.fresh {
		r.warn(fmt.Sprintf("sweep point: %s is the suite's default: neither the source's driver_options nor its file name (%q) records the point it ran at, "+
			"so this may not be the source's load; set the point explicitly (profile.WithPoint) to reproduce it", point.Point, filepath.Base(r.c.sourcePath)))
	}
	r.log.Info("sweep point", "point", point.Point.String(), "source", point.Source)
	return nil
}

// reachEngine probes the engine (what it is, its version, the served
// model) and builds the load against it, after checking the process may
// open a connection per request in flight.
func (r *run) reachEngine(ctx context.Context, p *plan) error {
	c, point := r.c, r.res.Point.Point
	p.model = orElse(c.servedModel, r.src.Model.ID)
	hc := c.httpClient
	if hc == nil {
		conns := plannedInFlight(point)
		tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
		p.closers = append(p.closers, tr.CloseIdleConnections)
		hc = &http.Client{Transport: tr}
	}
	hc = loadgen.SameOriginOnly(hc) // never follow the engine to another origin with our API key
	info, err := loadgen.Probe(ctx, hc, c.baseURL, r.src.Engine.Name, p.model, c.apiKey, loadgen.WithEngineKinds(c.engineKinds...))
	if err != nil {
		return fmt.Errorf("profile: engine: %w", err)
	}
	p.engine, r.res.Engine, r.res.ServedModel = info, info, p.model
	r.log.Info("engine", "kind", info.Kind, "version", info.Version)
	given, says := "the source's engine kind", "as the source envelope says"
	if r.fresh {
		given, says = "the engine kind given (FromSuite)", "as given (FromSuite)"
	}
	switch {
	case !info.Confirmed:
		r.warn(fmt.Sprintf("the engine did not say what it is; the new envelope records %s %q unconfirmed (engine.extra.kind_confirmed false)", given, info.Kind))
	case info.Kind != r.src.Engine.Name:
		r.warn(fmt.Sprintf("the engine identifies itself as %s, not %s %s; the new envelope records %s", info.Kind, r.src.Engine.Name, says, info.Kind))
	}
	if c.generator != nil {
		p.gen = c.generator
		return nil
	}
	if err := fdlimit.Check(plannedInFlight(point)); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	gen, err := c.buildDriver(p.suite, r.src, p.ds, point, p.model, hc)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	p.gen = gen
	return nil
}

// buildSigner returns the configured signer after checking it can sign.
func (c *config) buildSigner(ctx context.Context) (envelope.Signer, error) {
	switch {
	case c.signer != nil:
		return c.signer, nil
	case c.useKeyless:
		opts := append([]keyless.Option{keyless.WithIDTokenMinValidity(c.duration + c.grace + time.Minute)}, c.keylessOpts...)
		s, err := keyless.NewSigner(opts...)
		if err != nil {
			return nil, err
		}
		if err := s.Ready(ctx); err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := envelope.LoadDevSigner(c.devKeyPath)
		if err != nil {
			return nil, fmt.Errorf("dev signing needs an ed25519 key file (profile.WithDevKey; by default %s): %w", DefaultDevKeyPath, err)
		}
		return s, nil
	}
}

// plannedInFlight is how many requests the built-in driver may hold in
// flight at p: the concurrency, or the open loop's cap of max(8, 8·RPS).
func plannedInFlight(p loadgen.Point) int {
	if p.Driver() == loadgen.DriverClosedLoop {
		return p.Concurrency
	}
	return min(max(8, int(p.RPS*8)), loadgen.MaxConcurrency)
}

func loadDataset(ctx context.Context, suite catalog.Suite, uri string) (catalog.Dataset, error) {
	if uri == "" {
		return suite.LoadDataset(ctx)
	}
	return catalog.LoadPrompts(ctx, uri, suite.N)
}

func (c *config) buildDriver(suite catalog.Suite, src *envelope.Envelope, ds catalog.Dataset, p loadgen.Point, model string, hc *http.Client) (*loadgen.Driver, error) {
	copts := []loadgen.ClientOption{loadgen.WithHTTPClient(hc), loadgen.WithMaxTokens(suite.MaxTokens)}
	if c.apiKey != "" {
		copts = append(copts, loadgen.WithAPIKey(c.apiKey))
	}
	client, err := loadgen.NewClient(c.baseURL, model, copts...)
	if err != nil {
		return nil, err
	}
	var mode loadgen.Mode
	if p.Driver() == loadgen.DriverClosedLoop {
		mode = loadgen.ClosedLoop{Concurrency: p.Concurrency}
	} else {
		mode = loadgen.Poisson{RPS: p.RPS, Seed: uint64(src.Seed)}
	}
	opts := []loadgen.DriverOption{loadgen.WithDuration(c.duration), loadgen.WithGrace(c.grace), loadgen.WithWarmup(suite.WarmupRequests)}
	if c.uses("WithStartStep") {
		opts = append(opts, loadgen.WithStartStep(c.startStep))
	}
	return loadgen.NewDriver(client, ds.Prompts, mode, opts...)
}
