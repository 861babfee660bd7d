// Package timeline draws a run over time as one self-contained HTML page:
// inline CSS and inline SVG only, with no script and no reference to
// anything outside the file, so that it can be attached to a ticket or
// opened offline. That is its one job; the tables of a profile are
// package report's.
//
// A [Builder] is fed as the run goes — [Builder.AddReading] from the
// samplers' callbacks, [Builder.AddResult] from the load's sink — and
// writes the page from memory with [Builder.WriteHTML], so nothing is read
// back from disk. [WriteHTML] draws the same page from the files a run
// leaves (the telemetry timeline CSV and the request trace JSONL), for
// those who have only the files; it is a Builder fed from them.
//
// # The charts
//
// Five charts share one time axis, in seconds from the run's origin:
// per-GPU power and its sum; per-GPU utilization; CPU package and DRAM
// power and their sum; requests in flight (+1 at send, −1 at end); and
// output tokens per second from the trace's content chunks. The
// measurement window is shaded on each. A chart whose source is missing
// (no timeline, no GPU rows, no CPU package or DRAM rows, an empty trace)
// is replaced by a short "not measured" panel that says why; missing data
// is never an error.
//
// Which devices are drawn and summed is package energy's rule
// ([energy.GroupOf]), the one the envelope's figures follow: GPUs (kind
// gpu, from any sampler) on the GPU charts, CPU packages and DRAM domains
// on the CPU and DRAM chart; devices of kind other (a platform's psys,
// core subzones) overlap these and are never drawn, only counted. The
// power of a CPU package or DRAM domain is its energy counter's step
// power ([energy.CounterPower]: the growth between consecutive readings
// over the time between them, none across a reset), drawn at the middle
// of the step; over the window, the step powers integrate to the
// device's share of energy_joules_cpu_dram. A sum holds each device's
// latest value until its next.
//
// # Size
//
// Memory is bounded by the number of devices and Options.MaxPoints, not by
// the length of the run. Each series is accumulated into fixed-width time
// bins whose width doubles whenever the bins would number more than its
// share of MaxPoints. Sampled series (power, utilization) keep the first,
// lowest, highest and last reading of each bin, so peaks and edges survive
// downsampling (MaxPoints/4 bins). In-flight requests are the
// time-weighted mean count over each bin and tokens/s the tokens received
// in each bin over its width, drawn as steps (MaxPoints/2 bins); these
// bins are aligned to the trace's own clock (the load's start), so that
// the trace's offset can be given when the page is written. The page is
// about 17 KB plus some 11 bytes per drawn point, so at most about 22 KB
// per series with the default MaxPoints: an hour of 8 GPUs at 10 ms, 4
// RAPL zones and a trace of 28,800 requests renders to about 300 KB.
//
// # Safety
//
// All text from the inputs and the page options is escaped; lines are
// named in SVG <title> elements, which browsers show on hover without any
// script.
package timeline
