"""Cost per generation of the engine (gaussian, replace) against a bare numpy + sqlite3 loop, in one run.

The baseline does the same sampling and fitting (float32 samples, mean/std in float64) and inserts the
samples as a little-endian float32 BLOB in one transaction per generation, with the same journal settings
the store uses (WAL, synchronous=NORMAL). The engine additionally computes every metric, the histogram and
the density curve and stores them; the last column re-times that extra work alone (histogram, metrics and
curve of each stored generation, without the mean/variance pass the fit needs anyway) so the gap can be
attributed. Usage: python benchmarks/engine_vs_baseline.py [--sizes M ...] [--generations N] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.engine import RunSpec, Simulation  # noqa: E402
from core.metrics import moments  # noqa: E402
from core.runner import create_runs, drive  # noqa: E402
from core.store import Project  # noqa: E402


def baseline(path: Path, m: int, generations: int, seed: int) -> float:
    """Seconds per generation of the bare loop."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("CREATE TABLE samples (generation INTEGER PRIMARY KEY, data BLOB)")
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, m).astype(np.float32)
    start = time.perf_counter()
    for g in range(1, generations + 1):
        xd = x.astype(np.float64)
        mean, std = xd.mean(), xd.std()
        x = rng.normal(mean, std, m).astype(np.float32)
        with con:
            con.execute("INSERT INTO samples VALUES (?, ?)", (g, x.astype("<f4").tobytes()))
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed / generations


def engine(path: Path, m: int, generations: int, seed: int) -> tuple[float, float]:
    """Seconds per generation of Collapse Lab's engine + store (generation 0 excluded), and of the part of it
    the baseline does not do: histogram, metrics and density curve, re-timed afterwards on the stored samples."""
    with Project(path, create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, generations, m, seed))
        it = drive(p, rid)
        next(it)  # generation 0 (reference set-up) is not part of the per-generation cost
        start = time.perf_counter()
        for _ in it:
            pass
        elapsed = time.perf_counter() - start
        info = p.run(rid)
        sim = Simulation(info.spec)
        sim.first()  # sets the run's bins and references, as the run did
        scenario, derived = sim.scenario, 0.0
        for g in range(1, generations + 1):
            x = p.samples(info, g).copy()  # a fresh array: nothing cached from an earlier call
            model = sim.model_of(g, p.generation_row(rid, g)["model"])
            moments(x)  # the fit's own pass over the samples (the baseline does it too), remembered for metrics
            t = time.perf_counter()
            scenario.histogram(x)
            scenario.metrics(x, model, g)
            scenario.curve(model)
            derived += time.perf_counter() - t
    return elapsed / generations, derived / generations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=0, help="generations per measurement (default by M)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6], help="sample sizes M")
    args = ap.parse_args()
    print(f"{'M':>9} {'baseline ms/gen':>16} {'engine ms/gen':>14} {'ratio':>6} {'of which metrics etc.':>22}")
    for m in args.sizes:
        gens = args.generations or max(20, min(300, 3 * 10**6 // m))
        base, ours, derived = [], [], []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):  # interleaved, so drift in machine load hits both alike
                b = Path(tmp) / f"b{r}.db"
                e = Path(tmp) / f"e{r}.collapse"
                base.append(baseline(b, m, gens, r))
                total, extra = engine(e, m, gens, r)
                ours.append(total)
                derived.append(extra)
                for f in Path(tmp).iterdir():
                    os.remove(f)
        b_ms, e_ms = statistics.median(base) * 1e3, statistics.median(ours) * 1e3
        d_ms = statistics.median(derived) * 1e3
        print(f"{m:>9} {b_ms:>16.3f} {e_ms:>14.3f} {e_ms / b_ms:>6.2f} {d_ms:>22.3f}")


if __name__ == "__main__":
    main()
