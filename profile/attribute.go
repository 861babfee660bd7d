package profile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// energyReport computes the energy figures of the timeline over w, in one
// pass: the samplers' stats give the achieved GPU interval; the idle
// phase, the idle baseline; the GPU selection, which GPUs count. Then it
// attributes the GPU energy to the requests (attribute).
func (r *run) energyReport(x *execution, w energy.Window, tokens int, offset time.Duration) (*energy.Report, error) {
	if w.End <= w.Start {
		w.End = w.Start + time.Nanosecond
	}
	opts := []energy.Option{energy.WithSamplerStats(x.stats...), energy.WithAttributionBin(gpuInterval(x.tel, r.c.nvmlInterval))}
	if x.idle != nil {
		opts = append(opts, energy.WithIdleWindow(*x.idle))
	}
	if ids := x.gpus.counted(); len(ids) > 0 {
		opts = append(opts, energy.WithGPUs(ids...))
	}
	acc, err := energy.NewAccumulator(w, opts...)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(r.res.TimelinePath)
	if err != nil {
		return nil, err
	}
	err = sampler.ReadTimeline(f, func(rd sampler.Reading) error { acc.Add(rd); return nil })
	f.Close()
	if err != nil {
		return nil, err
	}
	rep, err := acc.Report(int64(tokens))
	if err != nil {
		return nil, err
	}
	if x.idle == nil {
		why := "the idle phase was skipped (profile.WithIdlePhase(0))"
		if _, noGPU := x.tel.missing[sampler.KindGPU]; noGPU {
			why = "no GPU sampler, so no idle phase was run"
		} else if r.c.idlePhase > 0 {
			why = "the idle phase did not run"
		}
		rep.PowerIdleW, rep.EnergyJoulesGPUAboveIdle, rep.JoulesPerTokenAboveIdle = energy.Absent(why), energy.Absent(why), energy.Absent(why)
	}
	if err := r.attribute(acc, rep, offset); err != nil {
		return nil, fmt.Errorf("per-request attribution: %w", err)
	}
	return rep, nil
}

// gpuInterval is the attribution's bin: the shortest interval of the
// samplers that describe a GPU, else the NVML interval.
func gpuInterval(t *telemetry, def time.Duration) time.Duration {
	var d time.Duration
	for _, s := range t.samplers {
		desc, ok := s.Sampler.(sampler.Describer)
		if !ok {
			continue
		}
		for _, di := range desc.Describe().Devices {
			if di.Kind == sampler.KindGPU && (d == 0 || s.Interval < d) {
				d = s.Interval
			}
		}
	}
	if d == 0 {
		return def
	}
	return d
}

// attribute splits the window's GPU energy among the requests (the energy
// package's rule) and rewrites the per-request trace with each request's
// joules (loadgen.Result.GPUJoules), atomically, before the envelope
// hashes it. It reads the trace twice, streaming — the requests' work,
// then their shares — and holds no result. Without GPU energy the trace
// is left as it is.
func (r *run) attribute(acc *energy.Accumulator, rep *energy.Report, offset time.Duration) error {
	att, err := acc.Attribution()
	if err != nil {
		return err
	}
	defer att.Fill(rep)
	if !rep.EnergyJoulesGPU.Measured {
		return nil
	}
	path := r.res.TracePath
	err = readTrace(path, func(res loadgen.Result) error {
		att.AddWork(request(&res, offset))
		return nil
	})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	w := loadgen.NewJSONLWriter(tmp)
	err = readTrace(path, func(res loadgen.Result) error {
		if j, ok := att.Attribute(request(&res, offset)); ok {
			res.GPUJoules = &j
		}
		return w.Write(&res)
	})
	err = errors.Join(err, w.Flush(), tmp.Sync(), tmp.Close())
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func readTrace(path string, fn func(loadgen.Result) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return loadgen.ReadJSONL(f, fn)
}

// request puts a result on the telemetry's clock, for the attribution.
// The percentiles are over the requests the latency metrics count: ok and
// not warmup.
func request(res *loadgen.Result, offset time.Duration) energy.Request {
	q := energy.Request{
		Start: res.Sent + offset, End: res.End + offset,
		PromptTokens: res.PromptTokens, OutputTokens: res.OutputTokens,
		Measured: res.OK() && !res.Warmup,
		Chunks:   make([]energy.Chunk, len(res.Chunks)),
	}
	for i, c := range res.Chunks {
		q.Chunks[i] = energy.Chunk{At: c.At + offset, Tokens: c.Tokens}
	}
	return q
}
