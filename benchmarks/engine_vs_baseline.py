"""Cost per generation of the engine (gaussian, replace) against a bare numpy + sqlite3 loop, in one run.

The baseline does the same sampling and fitting (float32 samples, mean/std in float64) and inserts the
samples as a little-endian float32 BLOB in one transaction per generation, with the same journal settings
the store uses (WAL, synchronous=NORMAL) and SQLite's own checkpoints (inside a commit, every 1,000 pages).
The engine additionally computes every metric, the histogram and the density curve and stores them.

Columns: wall-clock ms per generation of each and their ratio (the goal: within 1.3x); the ratio of CPU
time (all threads: the engine's store checkpoints the WAL on a background thread, core/checkpointer.py, so
its CPU time can exceed its wall time); the wall ratio of the engine with SQLite's in-commit checkpoints
like the baseline's (what the background checkpointer buys); and the engine's extra work re-timed alone
(histogram, metrics and curve of each stored generation, without the mean/variance pass the fit needs
anyway) so the gap can be attributed.
Usage: python benchmarks/engine_vs_baseline.py [--sizes M ...] [--generations N] [--repeats R]
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


def baseline(path: Path, m: int, generations: int, seed: int) -> tuple[float, float]:
    """Wall and CPU seconds per generation of the bare loop."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = NORMAL")
    con.execute("CREATE TABLE samples (generation INTEGER PRIMARY KEY, data BLOB)")
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, m).astype(np.float32)
    start, cpu = time.perf_counter(), time.process_time()
    for g in range(1, generations + 1):
        xd = x.astype(np.float64)
        mean, std = xd.mean(), xd.std()
        x = rng.normal(mean, std, m).astype(np.float32)
        with con:
            con.execute("INSERT INTO samples VALUES (?, ?)", (g, x.astype("<f4").tobytes()))
    con.close()  # timed too: closing checkpoints what is left in the WAL, as the engine's close does
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed / generations, cpu / generations


def engine(path: Path, m: int, generations: int, seed: int, background: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds per generation of Collapse Lab's engine + store, generation 0 excluded and closing
    the project included; with background=False the store checkpoints inside commits, as the baseline does."""
    with Project(path, create=True) as p:
        p.background_checkpoints = background
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, generations, m, seed))
        it = drive(p, rid)
        next(it)  # generation 0 (reference set-up) is not part of the per-generation cost
        start, cpu = time.perf_counter(), time.process_time()
        for _ in it:
            pass
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu  # the close's checkpoint included
    return elapsed / generations, cpu / generations


def extra_work(path: Path) -> float:
    """Seconds per generation of what the baseline does not do (histogram, metrics and density curve),
    re-timed on a stored run's samples."""
    with Project(path) as p:
        (info,) = p.runs()
        rid, generations = info.id, info.spec.generations
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
    return derived / generations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--generations", type=int, default=0, help="generations per measurement (default by M)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6], help="sample sizes M")
    args = ap.parse_args()
    print(f"{'M':>9} {'bare ms/gen':>12} {'engine ms/gen':>14} {'ratio (range)':>17} {'CPU ratio':>10} "
          f"{'ratio, in-commit checkpoints':>29} {'metrics etc. ms':>16}")
    for m in args.sizes:
        gens = args.generations or max(20, min(5000, 3 * 10**7 // m))  # about a second: a steady state
        rows: dict[str, list[tuple[float, float]]] = {"bare": [], "engine": [], "in-commit": []}
        derived = []
        with tempfile.TemporaryDirectory() as tmp:
            for r in range(args.repeats):  # interleaved, so drift in machine load hits all alike
                rows["bare"].append(baseline(Path(tmp) / "b.db", m, gens, r))
                e = Path(tmp) / "e.collapse"
                rows["engine"].append(engine(e, m, gens, r))
                derived.append(extra_work(e))
                for f in Path(tmp).iterdir():
                    os.remove(f)
                rows["in-commit"].append(engine(Path(tmp) / "s.collapse", m, gens, r, background=False))
                for f in Path(tmp).iterdir():
                    os.remove(f)
        # Each repeat's ratio pairs measurements taken back to back; the median of those is robust to the slow
        # drifts of a shared machine (disk flushes, neighbours), which hit a whole repeat alike.
        ratios = {k: [w / b for (w, _), (b, _) in zip(v, rows["bare"])] for k, v in rows.items()}
        cpu_ratios = [c / b for (_, c), (_, b) in zip(rows["engine"], rows["bare"])]
        wall = {k: statistics.median(w for w, _ in v) * 1e3 for k, v in rows.items()}
        spread = f"{statistics.median(ratios['engine']):.2f} ({min(ratios['engine']):.2f}-{max(ratios['engine']):.2f})"
        print(f"{m:>9} {wall['bare']:>12.3f} {wall['engine']:>14.3f} {spread:>17} "
              f"{statistics.median(cpu_ratios):>10.2f} {statistics.median(ratios['in-commit']):>29.2f} "
              f"{statistics.median(derived) * 1e3:>16.3f}", flush=True)


if __name__ == "__main__":
    main()
