package timeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// Defaults of Options and Page, exported so that a CLI can use them as
// flag defaults.
const (
	// DefaultTitle is the page title when Page.Title is empty.
	DefaultTitle = "benchprof timeline"
	// DefaultMaxPoints is the most points drawn per series when
	// Options.MaxPoints is 0.
	DefaultMaxPoints = 2000
	// DefaultTokenBin is the narrowest bin of the tokens/s chart when
	// Options.TokenBin is 0.
	DefaultTokenBin = 250 * time.Millisecond
	// MinMaxPoints is the smallest MaxPoints accepted.
	MinMaxPoints = 64
)

// Options configures how a Builder bins what it is fed: fixed for its
// life, since the bins are filled as readings and results arrive. The zero
// value is valid: every field documents what its zero value means.
type Options struct {
	// MaxPoints bounds the points drawn per series; longer series are
	// downsampled (see WriteHTML). By default (0) it is DefaultMaxPoints.
	// It must be 0 or at least MinMaxPoints.
	MaxPoints int
	// TokenBin is the narrowest bin of the tokens/s chart; bins widen by
	// doubling when the trace is long. By default (0) it is
	// DefaultTokenBin. It must not be negative.
	TokenBin time.Duration
}

// Page says what a page shows besides the data — what is known only once
// the run is over. The zero value is valid: every field documents what its
// zero value means.
type Page struct {
	// Title heads the page and names it in the browser. By default
	// (empty) it is DefaultTitle.
	Title string
	// EnvelopePath, if not empty, is shown under the title as the envelope
	// the timeline belongs to. By default nothing is shown.
	EnvelopePath string
	// Window is the measurement window, as offsets on the timeline's clock
	// (from the run's origin, as energy.Window); it is shaded on every
	// chart. By default (the zero Window) it is taken from the trace as
	// the load generator's metrics define it (loadgen.Summary's
	// WindowStart and WindowEnd): from the first send to the last end of
	// the requests that are not warmup, shifted by TraceOffset; with no
	// such request nothing is shaded. If it is not zero, its End must be
	// after its Start.
	Window energy.Window
	// TraceOffset is added to every offset of the trace (which count from
	// the load driver's start, loadgen.RunInfo.Start) to put it on the
	// timeline's clock (which counts from the samplers' origin). By
	// default (0) the two clocks are taken to be the same. The trace's
	// bins are aligned to its own clock, so the offset may be learnt after
	// the load, when the page is written.
	TraceOffset time.Duration
	// Sensors describes the GPUs' power sensors, to label the GPU power
	// chart: each GPU's line says which reading it is (the instant field
	// or a 1 s average), the sensor's measured update period, and whether
	// the energy figures count the GPU. By default (nil) the lines carry
	// the devices' names only and the caption says what NVML's power
	// reading usually is.
	Sensors []Sensor
	// IdleWindow is the idle phase before the load (the idle baseline's
	// window), as offsets on the timeline's clock; it is named in the
	// page's header. By default (the zero Window) there is none. If it is
	// not zero, its End must be after its Start.
	IdleWindow energy.Window
}

// Sensor describes one GPU's power sensor for the page (see
// Page.Sensors).
type Sensor struct {
	// Sampler and Device name the GPU as its readings do.
	Sampler, Device string
	// PowerAveraged: its power reading is a 1 s moving average (NVML's
	// nvmlDeviceGetPowerUsage); else the instant field.
	PowerAveraged bool
	// Period is the sensor's measured update period; 0 when unknown.
	Period time.Duration
	// NotCounted marks a GPU the energy figures leave out (not the
	// engine's).
	NotCounted bool
}

// label is the sensor's note on its line: "instant, ~20 ms", "1 s
// average, ~100 ms; not counted".
func (s Sensor) label() string {
	l := "instant"
	if s.PowerAveraged {
		l = "1 s average"
	}
	if s.Period > 0 {
		l += ", updates ~" + s.Period.Round(time.Millisecond/10).String()
	}
	if s.NotCounted {
		l += "; not counted"
	}
	return l
}

// config is Options validated, with its defaults applied.
type config struct {
	maxPoints int
	tokenBin  int64
}

func (o Options) config() (config, error) {
	c := config{maxPoints: o.MaxPoints, tokenBin: int64(o.TokenBin)}
	if c.maxPoints == 0 {
		c.maxPoints = DefaultMaxPoints
	}
	if c.tokenBin == 0 {
		c.tokenBin = int64(DefaultTokenBin)
	}
	var errs []error
	if o.MaxPoints < 0 || (o.MaxPoints > 0 && o.MaxPoints < MinMaxPoints) {
		errs = append(errs, fmt.Errorf("timeline: MaxPoints %d is below %d", o.MaxPoints, MinMaxPoints))
	}
	if o.TokenBin < 0 {
		errs = append(errs, fmt.Errorf("timeline: TokenBin %v is negative", o.TokenBin))
	}
	return c, errors.Join(errs...)
}

// pageConfig is Page validated, with its defaults applied.
type pageConfig struct {
	title, envelope string
	win             span // the given window; !ok when none
	idle            span // the idle phase; !ok when none
	offset          int64
	sensors         map[devKey]Sensor
}

func (p Page) config() (pageConfig, error) {
	c := pageConfig{title: p.Title, envelope: p.EnvelopePath, offset: int64(p.TraceOffset)}
	if c.title == "" {
		c.title = DefaultTitle
	}
	if p.Window != (energy.Window{}) {
		if p.Window.End <= p.Window.Start {
			return c, fmt.Errorf("timeline: window end %v is not after its start %v", p.Window.End, p.Window.Start)
		}
		c.win = span{ok: true, lo: int64(p.Window.Start), hi: int64(p.Window.End)}
	}
	if p.IdleWindow != (energy.Window{}) {
		if p.IdleWindow.End <= p.IdleWindow.Start {
			return c, fmt.Errorf("timeline: idle window end %v is not after its start %v", p.IdleWindow.End, p.IdleWindow.Start)
		}
		c.idle = span{ok: true, lo: int64(p.IdleWindow.Start), hi: int64(p.IdleWindow.End)}
	}
	if len(p.Sensors) > 0 {
		c.sensors = make(map[devKey]Sensor, len(p.Sensors))
		for _, s := range p.Sensors {
			c.sensors[devKey{sampler: s.Sampler, device: s.Device}] = s
		}
	}
	return c, nil
}

// Builder accumulates a run's telemetry readings and request results, as
// they happen, into the page's bins, so that the page is written from
// memory without reading the timeline or the trace back. Its memory is
// bounded by the number of devices and Options.MaxPoints, not by the
// length of the run: an hour of 8 GPUs at 10 ms takes as much as a minute.
//
// A Builder is safe for concurrent use: AddReading may be called from
// several samplers' goroutines at once, AddResult from the load's sink at
// the same time (readings and results are guarded separately, so neither
// waits for the other), and WriteHTML at any time, even while adds go on:
// it draws what was added before it. An add takes a lock for a time
// proportional to the reading's devices (now and then to MaxPoints, when
// bins merge), so it is cheap enough to call from a sampler's tick or a
// loadgen.Sink.
//
// Readings of one sampler should come in time order, as sampler.Run
// delivers them; results in any order. Nothing passed in is retained.
type Builder struct {
	cfg  config
	tlMu sync.Mutex
	tl   *timelineAgg
	trMu sync.Mutex
	tr   *traceAgg
	// noTimeline and noTrace say that the page is drawn from files and
	// that file was not given ("none given", not "empty").
	noTimeline, noTrace bool
}

// NewBuilder returns an empty builder. An error means invalid options.
func NewBuilder(opts Options) (*Builder, error) {
	c, err := opts.config()
	if err != nil {
		return nil, err
	}
	return &Builder{cfg: c, tl: newTimelineAgg(c.maxPoints), tr: newTraceAgg(c)}, nil
}

// AddReading adds one sampler reading (one tick of one sampler). It is
// meant to be called from the callback of sampler.Run. r is not retained.
func (b *Builder) AddReading(r sampler.Reading) {
	b.tlMu.Lock()
	b.tl.add(&r)
	b.tlMu.Unlock()
}

// AddResult adds one finished request, with its offsets on the load
// driver's clock (as a loadgen.Sink receives it; see Page.TraceOffset). It
// is meant to be called from the load's sink, before the sink drops
// anything of the result (its Chunks make the tokens/s chart). r is not
// retained.
func (b *Builder) AddResult(r loadgen.Result) {
	b.trMu.Lock()
	b.tr.add(&r)
	b.trMu.Unlock()
}

// WriteHTML writes the page of what has been added so far (see the
// package documentation for what it shows). The builder is left as it
// was: adds may go on, and a later call draws them too. An error means an
// invalid page (nothing is written) or a write error.
func (b *Builder) WriteHTML(w io.Writer, p Page) error {
	pc, err := p.config()
	if err != nil {
		return err
	}
	var v view
	func() {
		b.tlMu.Lock()
		defer b.tlMu.Unlock()
		b.trMu.Lock()
		defer b.trMu.Unlock()
		tl, tr := b.tl, b.tr
		if b.noTimeline {
			tl = nil
		}
		if b.noTrace {
			tr = nil
		}
		v = newView(pc, tl, tr)
	}()
	var buf bytes.Buffer
	v.write(&buf)
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteHTML writes the page of a run that is on disk: timeline is a
// telemetry timeline (the CSV a sampler.TimelineWriter writes), trace a
// per-request trace (the JSONL a loadgen.JSONLWriter writes). Either may
// be nil, and the page then says it was not given. It is a Builder fed
// from the files: the page is the one a builder fed the same readings and
// results live would write.
//
// Both inputs are read once, concurrently, streaming, in memory bounded
// as a Builder's; nothing is written to w until both have been read. They
// are read to their end and cannot be cancelled: to abandon a call, close
// them (an io.PipeReader, a file).
//
// An error means invalid options or page (nothing is read), an input that
// could not be read or parsed (nothing is written), or a write error.
func WriteHTML(w io.Writer, timeline, trace io.Reader, opts Options, p Page) error {
	b, err := NewBuilder(opts)
	if _, perr := p.config(); err != nil || perr != nil {
		return errors.Join(err, perr)
	}
	b.noTimeline, b.noTrace = timeline == nil, trace == nil
	var (
		wg           sync.WaitGroup
		tlErr, trErr error
	)
	if timeline != nil {
		wg.Go(func() {
			if err := sampler.ReadTimeline(timeline, func(r sampler.Reading) error { b.AddReading(r); return nil }); err != nil {
				tlErr = fmt.Errorf("timeline: reading the telemetry timeline: %w", err)
			}
		})
	}
	if trace != nil {
		wg.Go(func() {
			if err := loadgen.ReadJSONL(trace, func(r loadgen.Result) error { b.AddResult(r); return nil }); err != nil {
				trErr = fmt.Errorf("timeline: reading the request trace: %w", err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(tlErr, trErr); err != nil {
		return err
	}
	return b.WriteHTML(w, p)
}
