#!/usr/bin/python3
"""Generate loadgen/testdata/percentile/vectors.jsonl from numpy.percentile.

The Go test loadgen.TestPercentileVectors checks loadgen.Percentile against
every case bit for bit. Run it with Debian's numpy (apt-get install -y
python3-numpy gives numpy 1.24.2) through /usr/bin/python3, from the module
root:

    /usr/bin/python3 scripts/gen-percentile-vectors.py

The output is deterministic for a given numpy version (the seed is fixed).

File format: JSON Lines. The first line is a header object
{"generator": ..., "numpy": ..., "seed": ..., "cases": ..., "checks": ...}.
Every other line is one case:

    {"name": "<distribution>/<k>", "a": [...], "p": [...], "want": [...]}

"a" is the input in the order it was drawn (unsorted), "p" the percentages
and "want" numpy.percentile(a, p, method="linear") for each p. Every float is
a string holding Python's repr of the float64 ("0.1", "-0.0", "5e-324",
"inf", "nan"), which Go's strconv.ParseFloat reads back exactly.

No case mixes -0.0 and +0.0 in one array: the sign of a zero result then
depends on where the sort (numpy's introselect partition, Go's pdqsort)
leaves each zero, which neither library specifies.
"""

import json
import math
import sys

import numpy as np

SEED = 20260613
OUT = "loadgen/testdata/percentile/vectors.jsonl"
STANDARD_P = [50.0, 75.0, 90.0, 95.0, 99.0, 99.9]
MAX_N = 500


def r(x):
    """Python repr of a float64, as a string."""
    return repr(float(x))


def size(rng):
    """Sizes 1..MAX_N, log-uniform so that small arrays (where the edge
    cases live) are common and the file stays small."""
    return int(min(MAX_N, max(1, math.floor(math.exp(rng.uniform(0, math.log(MAX_N + 1)))))))


def finite_bits(rng, n):
    """Finite float64 values with uniformly random bit patterns."""
    out = []
    while len(out) < n:
        v = rng.integers(0, 2**64, dtype=np.uint64).view(np.float64)
        if np.isfinite(v):
            out.append(float(v))
    return np.array(out, dtype=np.float64)


def no_mixed_zeros(a):
    """Make all zeros of a the same sign (see the module doc)."""
    zeros = a == 0
    if zeros.any():
        a[zeros] = a[zeros][0]
    return a


DISTRIBUTIONS = {
    "uniform": lambda rng, n: rng.uniform(0, 1, n),
    "normal": lambda rng, n: rng.normal(0, 100, n),
    "latency_ms": lambda rng, n: rng.lognormal(4, 1, n),
    # Durations in integer nanoseconds converted to ms, as loadgen does.
    "ns_to_ms": lambda rng, n: rng.integers(1, 5_000_000_000, n).astype(np.float64) / 1e6,
    "exponential": lambda rng, n: rng.exponential(50, n),
    "negative": lambda rng, n: -rng.lognormal(0, 3, n),
    "integers": lambda rng, n: rng.integers(-20, 21, n).astype(np.float64),
    "duplicates": lambda rng, n: rng.choice(rng.normal(0, 10, 3), n),
    "constant": lambda rng, n: np.full(n, rng.normal(0, 1e3)),
    "tiny": lambda rng, n: rng.uniform(-1, 1, n) * 1e-300,
    "subnormal": lambda rng, n: rng.integers(-1000, 1000, n).astype(np.float64) * 5e-324,
    "huge": lambda rng, n: rng.uniform(-1, 1, n) * 1.7e308,
    "magnitudes": lambda rng, n: rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-300, 300, n),
    "bits": finite_bits,
    "zeros": lambda rng, n: rng.choice([0.0, 1.0, 2.5], n) * rng.choice([-1.0, 1.0]),
    "with_inf": lambda rng, n: np.where(rng.uniform(0, 1, n) < 0.2,
                                        rng.choice([np.inf, -np.inf], n),
                                        rng.normal(0, 1, n)),
}

# Arrays drawn per distribution; "bits" and "with_inf" need fewer.
COUNTS = {"bits": 25, "with_inf": 12, "constant": 15}
DEFAULT_COUNT = 45
RANDOM_P = 4


def edge_p(rng, n):
    """Percentages that put the virtual index (n-1)*p/100 on or next to an
    integer or a half, where the floor and the t >= 0.5 branch switch."""
    out = [0.0, 100.0, np.nextafter(100.0, 0.0), np.nextafter(0.0, 1.0), 50.0]
    if n > 1:
        k = int(rng.integers(0, n))
        for frac in (0.0, 0.5):
            p = (k + frac) / (n - 1) * 100.0
            if p <= 100.0:
                out += [p, np.nextafter(p, 0.0), np.nextafter(p, 101.0)]
    return [min(100.0, max(0.0, float(p))) for p in out]


def case(name, a, ps):
    want = [np.percentile(a, p, method="linear") for p in ps]
    return {"name": name, "a": [r(x) for x in a], "p": [r(p) for p in ps], "want": [r(w) for w in want]}


def main():
    rng = np.random.default_rng(SEED)
    cases = []
    with np.errstate(all="ignore"):
        # Hand-picked cases.
        for name, a, ps in [
            ("fixed/single", [7.5], STANDARD_P + [0.0, 100.0]),
            ("fixed/single_negzero", [-0.0], STANDARD_P + [0.0, 100.0]),
            ("fixed/negzeros", [-0.0, -0.0, -0.0], STANDARD_P + [0.0, 25.0, 100.0]),
            ("fixed/two", [1.0, 2.0], STANDARD_P + [0.0, 25.0, 100.0]),
            ("fixed/one_to_ten", [float(i) for i in range(1, 11)], STANDARD_P + [0.0, 100.0, 10.0, 1.0 / 3.0]),
            ("fixed/tenths", [0.1, 0.2, 0.3, 0.7], STANDARD_P + [0.0, 100.0, 100.0 / 3.0]),
            ("fixed/inf_top", [1.0, 2.0, np.inf], STANDARD_P + [0.0, 100.0]),
            ("fixed/inf_both", [-np.inf, 0.5, np.inf], STANDARD_P + [0.0, 100.0]),
            ("fixed/overflow", [-1.7e308, 1.7e308], STANDARD_P + [0.0, 100.0]),
        ]:
            cases.append(case(name, np.array(a, dtype=np.float64), [float(p) for p in ps]))
        for dist, draw in DISTRIBUTIONS.items():
            for k in range(COUNTS.get(dist, DEFAULT_COUNT)):
                n = size(rng)
                a = no_mixed_zeros(np.asarray(draw(rng, n), dtype=np.float64))
                ps = STANDARD_P + [float(rng.uniform(0, 100)) for _ in range(RANDOM_P)]
                if k % 3 == 0:
                    ps += edge_p(rng, n)
                cases.append(case(f"{dist}/{k}", a, ps))
        # Large arrays at the maximum size, where (n-1)*q rounds most.
        for k in range(4):
            a = rng.lognormal(3, 1.5, MAX_N)
            cases.append(case(f"max_size/{k}", a, STANDARD_P + edge_p(rng, MAX_N)))

    header = {
        "generator": "scripts/gen-percentile-vectors.py",
        "numpy": np.__version__,
        "seed": SEED,
        "cases": len(cases),
        "checks": sum(len(c["p"]) for c in cases),
    }
    with open(OUT, "w", encoding="ascii", newline="\n") as f:
        f.write(json.dumps(header, separators=(",", ":")) + "\n")
        for c in cases:
            f.write(json.dumps(c, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}: {header['cases']} cases, {header['checks']} checks, numpy {np.__version__}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
