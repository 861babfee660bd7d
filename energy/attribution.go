package energy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/benchprof/benchprof/internal/stats"
)

// Defaults of the per-request attribution (see the package documentation,
// "Joules per request").
const (
	// DefaultPrefillWeight is the work of one prompt token, in output
	// tokens: prefill processes a prompt token in a batched forward pass
	// at a small fraction of the cost of decoding one output token.
	DefaultPrefillWeight = 0.1
	// MaxAttributionBins bounds the bins the window is cut into, so that
	// the attribution's memory (a few float64 per bin) does not grow with
	// the run's length beyond it: past it, the bins widen.
	MaxAttributionBins = 1 << 17
)

// WithAttributionBin makes the accumulator keep the GPU energy of the
// window in bins of width d (widened to (End − Start) /
// MaxAttributionBins when that is more), for Accumulator.Attribution. A
// profile gives its GPU sampling interval. d must be positive. By default,
// if this option is not used, no bins are kept and Attribution fails. A
// repeat replaces the earlier width.
func WithAttributionBin(d time.Duration) Option {
	return optionFunc(func(c *config) { c.bin, c.binSet = d, true })
}

// WithPrefillWeight sets the work of one prompt token, counted in output
// tokens, with which a request waiting for its first token takes its share
// of the GPU energy. It must be finite and not negative; 0 counts only
// output tokens. By default, if this option is not used, it is
// DefaultPrefillWeight (0.1). A repeat replaces the earlier value.
func WithPrefillWeight(w float64) Option {
	return optionFunc(func(c *config) { c.prefill = w })
}

func (c *config) validateAttribution() error {
	var errs []error
	if c.binSet && c.bin <= 0 {
		errs = append(errs, fmt.Errorf("energy: attribution bin %v is not positive", c.bin))
	}
	if !(c.prefill >= 0) || math.IsInf(c.prefill, 0) {
		errs = append(errs, fmt.Errorf("energy: prefill weight %v is not a finite number ≥ 0", c.prefill))
	}
	return errors.Join(errs...)
}

// grid cuts the window [s, e] into n bins of width w (float64 ns); the
// last one may be shorter.
type grid struct {
	s, e, w float64
	n       int
}

func newGrid(win Window, bin time.Duration) grid {
	s, e := float64(win.Start), float64(win.End)
	w := max(float64(bin), (e-s)/MaxAttributionBins)
	n := max(int(math.Ceil((e-s)/w)), 1)
	for n > MaxAttributionBins { // rounding
		w *= 1 + 1e-9
		n = int(math.Ceil((e - s) / w))
	}
	return grid{s: s, e: e, w: w, n: n}
}

// index returns the bin holding t, clamped to the grid.
func (g grid) index(t float64) int {
	return min(max(int((t-g.s)/g.w), 0), g.n-1)
}

// each calls f with every bin that [u, v] overlaps, clipped to the
// window, and the length of the overlap (> 0).
func (g grid) each(u, v float64, f func(i int, overlap float64)) {
	u, v = max(u, g.s), min(v, g.e)
	if v <= u {
		return
	}
	for i := g.index(u); i < g.n; i++ {
		lo := g.s + float64(i)*g.w
		if lo >= v {
			break
		}
		hi := min(lo+g.w, g.e)
		if i == g.n-1 {
			hi = g.e
		}
		if ov := min(hi, v) - max(lo, u); ov > 0 {
			f(i, ov)
		}
	}
}

// spread adds total, spread evenly over [ta, tb], to the bins (the part
// inside the window).
func (g grid) spread(dst []float64, ta, tb, total float64) {
	if tb <= ta {
		return
	}
	rate := total / (tb - ta)
	g.each(ta, tb, func(i int, ov float64) { dst[i] += rate * ov })
}

// trapezoid adds ∫ v dt of the line through (ta, va) and (tb, vb) to the
// bins (the part inside the window), in unit·ns.
func (g grid) trapezoid(dst []float64, ta, va, tb, vb float64) {
	if tb <= ta {
		return
	}
	g.each(ta, tb, func(i int, ov float64) {
		u := max(ta, g.s+float64(i)*g.w, g.s)
		w := u + ov
		dst[i] += ov * (lerp(ta, va, tb, vb, u) + lerp(ta, va, tb, vb, w)) / 2
	})
}

// binState is the accumulator's binned GPU energy of the counted GPUs:
// from their energy counters and from their power traces, in W·ns.
type binState struct {
	g          grid
	ctr, power []float64
}

// Request is one request as the attribution sees it, with its times on
// the timeline's clock (a loadgen.Result's offsets plus the trace's
// offset).
type Request struct {
	// Start and End bound the request's time in flight: sent, and ended
	// (completed, failed or cut off).
	Start, End time.Duration
	// PromptTokens is the prompt's length in tokens (0 when unknown).
	PromptTokens int
	// Chunks are the content chunks as they arrived, in order: the first
	// one ends the prefill.
	Chunks []Chunk
	// OutputTokens is the request's output token count, for the per-token
	// percentiles.
	OutputTokens int
	// Measured marks the requests the percentiles are over (in a profile:
	// ok and not warmup). Every request takes its share of the energy.
	Measured bool
}

// Chunk is one content chunk of a streamed response: when it arrived and
// how many tokens it carried.
type Chunk struct {
	At     time.Duration
	Tokens int
}

// Attribution splits the GPU energy of the window among the requests in
// flight (see the package documentation, "Joules per request"). Make one
// with Accumulator.Attribution; call AddWork for every request, then
// Attribute for every request (the same ones), then Fill. Its memory is a
// few float64 per bin and one per measured request (for the percentiles);
// it keeps no request. It is not safe for concurrent use.
type Attribution struct {
	g       grid
	e       []float64 // J per bin
	work    []float64 // work (output-token equivalents) per bin
	occ     []float64 // request-ns in flight per bin
	prefill float64
	total   float64
	why     string // why nothing can be attributed; "" when it can

	attributed     float64
	requests       int
	perReq, perTok []float64
}

// Attribution returns the attribution of the GPU energy of the window, as
// Report gives it now (energy_joules_gpu over the counted GPUs): its bins
// take the shape of the energy counters' steps (or of the power traces',
// where a GPU's energy of record is its ∫P dt), scaled so that they add up
// to energy_joules_gpu exactly. It fails without WithAttributionBin. When
// energy_joules_gpu is absent, the Attribution attributes nothing and Fill
// gives its figures absent with the reason.
func (a *Accumulator) Attribution() (*Attribution, error) {
	if a.bins == nil {
		return nil, errors.New("energy: Attribution needs the bins of energy.WithAttributionBin")
	}
	g := a.bins.g
	t := &Attribution{g: g, e: make([]float64, g.n), work: make([]float64, g.n), occ: make([]float64, g.n), prefill: a.cfg.prefill}
	rep, err := a.Report(0)
	if err != nil {
		return nil, err
	}
	f := rep.EnergyJoulesGPU
	if !f.Measured {
		t.why = KeyEnergyJoulesGPU + " is absent: " + f.Reason
		return t, nil
	}
	t.total = f.Value
	counters := true
	for _, d := range rep.Devices {
		if GroupOf(d.Kind) == GroupGPU && !d.Apart && d.EnergyJ.Measured && d.EnergySource != SourceCounter {
			counters = false
		}
	}
	shape := a.bins.ctr
	if !counters {
		shape = a.bins.power
	}
	var sum float64
	for _, v := range shape {
		sum += v
	}
	for i := range t.e {
		if sum > 0 {
			t.e[i] = shape[i] / sum * t.total
		} else {
			t.e[i] = t.total / float64(g.n)
		}
	}
	return t, nil
}

// visit calls work with the request's work in each bin and occ with its
// time in flight in each bin. The work is the first chunk's tokens plus
// the prompt's (times the prefill weight), spread evenly from Start to the
// first chunk, then each later chunk's tokens spread evenly since the
// chunk before it; nothing after the last chunk. Without chunks, the
// prompt's weight is spread from Start to End.
func (t *Attribution) visit(r *Request, work, occ func(i int, v float64)) {
	g := t.g
	start, end := float64(r.Start), float64(r.End)
	end = max(end, start)
	g.each(start, end, occ)
	seg := func(a, b, k float64) {
		switch {
		case !(k > 0):
		case b > a:
			d := k / (b - a)
			g.each(a, b, func(i int, ov float64) { work(i, d*ov) })
		case a >= g.s && a <= g.e:
			work(g.index(a), k)
		}
	}
	prompt := t.prefill * float64(max(r.PromptTokens, 0))
	if len(r.Chunks) == 0 {
		seg(start, end, prompt)
		return
	}
	prev := start
	for i, c := range r.Chunks {
		at := min(max(float64(c.At), prev), end)
		k := float64(max(c.Tokens, 0))
		if i == 0 {
			k += prompt
		}
		seg(prev, at, k)
		prev = at
	}
}

// AddWork adds a request's work and time in flight to the bins. Call it
// for every request before the first Attribute.
func (t *Attribution) AddWork(r Request) {
	t.visit(&r, func(i int, v float64) { t.work[i] += v }, func(i int, v float64) { t.occ[i] += v })
}

// Attribute returns the GPU energy attributed to a request, in joules,
// and false when it has none (it was not in flight in the window, or the
// GPU energy is absent). In each bin the energy goes to the requests in
// proportion to their work in it; in a bin where requests were in flight
// but none did work (all waiting after their last chunk, or failing), in
// proportion to their time in flight; a bin with nothing in flight goes
// to energy_joules_gpu_idle_gaps. The sum over all requests plus that is
// energy_joules_gpu.
func (t *Attribution) Attribute(r Request) (float64, bool) {
	if t.why != "" || float64(r.End) < t.g.s || float64(r.Start) > t.g.e {
		return 0, false
	}
	var j float64
	t.visit(&r, func(i int, v float64) {
		if t.work[i] > 0 {
			j += t.e[i] * v / t.work[i]
		}
	}, func(i int, v float64) {
		if t.work[i] == 0 && t.occ[i] > 0 {
			j += t.e[i] * v / t.occ[i]
		}
	})
	t.attributed += j
	t.requests++
	if r.Measured {
		t.perReq = append(t.perReq, j)
		if r.OutputTokens > 0 {
			t.perTok = append(t.perTok, j/float64(r.OutputTokens))
		}
	}
	return j, true
}

// Fill sets the report's attribution figures: energy_joules_gpu_idle_gaps
// and the p50 and p99 over the measured requests of their joules and of
// their joules per output token. A warning says when the requests'
// joules and the gaps do not add up to energy_joules_gpu (a request
// attributed twice, or not added first).
func (t *Attribution) Fill(r *Report) {
	if t.why != "" {
		r.EnergyJoulesGPUIdleGaps = Absent(t.why)
		r.JoulesPerRequestP50, r.JoulesPerRequestP99 = Absent(t.why), Absent(t.why)
		r.JoulesPerOutputTokenP50, r.JoulesPerOutputTokenP99 = Absent(t.why), Absent(t.why)
		return
	}
	var gaps float64
	for i := range t.e {
		if t.work[i] == 0 && t.occ[i] == 0 {
			gaps += t.e[i]
		}
	}
	r.EnergyJoulesGPUIdleGaps = Measured(gaps)
	r.JoulesPerRequestP50, r.JoulesPerRequestP99 = percentiles(t.perReq, "no measured request was in flight in the window")
	r.JoulesPerOutputTokenP50, r.JoulesPerOutputTokenP99 = percentiles(t.perTok, "no measured request with output tokens was in flight in the window")
	if sum := t.attributed + gaps; math.Abs(sum-t.total) > 1e-6*math.Abs(t.total)+1e-9 {
		r.warnf("per-request attribution: %s to %d requests and %s with nothing in flight add up to %s, not %s = %s: a request was attributed without its work, or twice",
			fmtJ(t.attributed), t.requests, fmtJ(gaps), fmtJ(sum), KeyEnergyJoulesGPU, fmtJ(t.total))
	}
}

// Attributed returns the joules attributed to requests so far and the
// number of requests they went to.
func (t *Attribution) Attributed() (joules float64, requests int) { return t.attributed, t.requests }

func percentiles(vs []float64, none string) (p50, p99 Figure) {
	if len(vs) == 0 {
		return Absent(none), Absent(none)
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	return Measured(stats.Percentile(s, 50)), Measured(stats.Percentile(s, 99))
}
