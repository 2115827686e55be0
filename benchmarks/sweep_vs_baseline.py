"""Breadth: many runs at once against bare loops, measured as ratios in one run (issue 11's four figures).

1. papers: the papers' standard workload (gaussian, replace, M = 100, 200 replicates x 100 generations,
   everything stored) end to end as a user runs it (`main.py run --replicates 200`, process start included),
   with 1 worker and the default workers, against two bare numpy scripts that store nothing:
   - "bare + metrics": per seed and generation, sample, fit mean and variance, and measure what a paper's
     script measures and Collapse Lab records (histogram on fixed bins, KL to generation 0, entropy, W1 to
     generation 0, tail mass, held-out NLL, the density curve) with plain numpy;
   - "bare fit only": sample and fit, nothing measured (the floor: no loop that records anything is faster).
2. scaling: a 24-cell sweep (gaussian mix, alpha x samples, 4 replicates x 300 generations) computed by 2 local
   worker processes and by a 2-worker Dask LocalCluster, against 1 worker (this process).
3. accumulate: ms per generation of gaussian accumulate at M = 10^5 around generation 1,000 against around
   generation 10.
4. info: `main.py info FILE` cold start against `python -c "import numpy, sqlite3"`.
5. memory: peak resident memory of the coordinator and of its largest worker for sweeps of 6, 60 and 600
   cells (M = 10^4, 50 generations, 2 replicates, 2 workers): it must not grow with the number of cells.

Usage: python benchmarks/sweep_vs_baseline.py [--only papers scaling accumulate info] [--repeats R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_FIT_ONLY = """
import numpy as np
for seed in range(200):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, 100).astype(np.float32)
    for g in range(100):
        xd = x.astype(np.float64)
        x = rng.normal(xd.mean(), xd.std(), 100).astype(np.float32)
"""

BARE_WITH_METRICS = """
import numpy as np
M, G, R = 100, 100, 200
rows = []
for seed in range(R):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(0.0, 1.0, M).astype(np.float32)
    held = rng.normal(0.0, 1.0, 2000)
    mu0, sd0 = float(x0.astype(np.float64).mean()), float(x0.astype(np.float64).std())
    edges = np.linspace(mu0 - 6 * sd0, mu0 + 6 * sd0, 101)
    width = edges[1] - edges[0]
    grid = np.linspace(edges[0], edges[-1], 200)
    lo, hi = np.quantile(np.concatenate([x0, held]), [0.01, 0.99])
    s0 = np.sort(x0.astype(np.float64))
    c0 = np.histogram(x0, edges)[0] + 0.5
    p0 = c0 / c0.sum()
    x = x0
    for g in range(G + 1):
        xd = x.astype(np.float64)
        mean, var = xd.mean(), xd.var()
        sd = np.sqrt(var)
        counts = np.histogram(x, edges)[0]
        q = (counts + 0.5) / (counts + 0.5).sum()
        kl = float(np.sum(p0 * np.log(p0 / q)))
        c = counts[counts > 0]
        entropy = float(np.log(M) - np.dot(c, np.log(c)) / M + np.log(width))
        w1 = float(np.mean(np.abs(np.sort(xd) - s0)))
        tail = float(np.mean((xd < lo) | (xd > hi)))
        z = (held - mean) / sd
        nll = float(np.mean(0.5 * z * z + np.log(sd) + 0.5 * np.log(2 * np.pi)))
        zg = (grid - mean) / sd
        curve = np.exp(-0.5 * zg * zg) / (sd * np.sqrt(2 * np.pi))
        rows.append((seed, g, mean, sd, var / sd0**2, w1, kl, entropy, tail, nll, var))
        x = rng.normal(mean, sd, M).astype(np.float32)
"""


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def papers(repeats: int) -> None:
    py = sys.executable
    rows: dict[str, list[float]] = {k: [] for k in ("fit only", "bare + metrics", "1 worker", "default workers")}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(repeats):  # interleaved: drifts of the machine's load hit every variant alike
            rows["fit only"].append(_timed([py, "-c", BARE_FIT_ONLY]))
            rows["bare + metrics"].append(_timed([py, "-c", BARE_WITH_METRICS]))
            for label, extra in (("1 worker", ["--workers", "1"]), ("default workers", [])):
                out = Path(tmp) / f"{r}-{len(extra)}.collapse"
                rows[label].append(_timed([py, "main.py", "run", "--scenario", "gaussian", "--policy", "replace",
                                           "--samples", "100", "--generations", "100", "--replicates", "200",
                                           "--seed", str(r), "-q", "-o", str(out), *extra]))
                os.remove(out)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print("papers' workload (200 replicates x 100 generations, M = 100, stored), wall seconds, median of "
          f"{repeats}:")
    for k, v in med.items():
        print(f"  {k:>16}: {v:6.2f} s")
    for k in ("1 worker", "default workers"):
        per = [a / b for a, b in zip(rows[k], rows["bare + metrics"])]
        floor = [a / b for a, b in zip(rows[k], rows["fit only"])]
        print(f"  {k} / bare + metrics: {statistics.median(per):.2f} ({min(per):.2f}-{max(per):.2f});  "
              f"/ fit only: {statistics.median(floor):.2f}")


SCALING_SWEEP = """
import sys, tempfile, time
from pathlib import Path
sys.path.insert(0, ".")
from core.coordinator import compute_runs, make_executor
from core.runner import create_sweep
from core.store import Project
from core.sweep import SweepSpec, parse_axis
spec = SweepSpec(policy="mix", axes=(parse_axis("alpha=0,0.05,0.1,0.2,0.5,1"),
                                     parse_axis("samples=100,300,1000,3000", True)),
                 generations=300, replicates=4, name="s")
assert len(spec.cells()) == 24
where = sys.argv[1]
executor = make_executor(scheduler=where) if where.startswith("tcp://") else make_executor(int(where))
with tempfile.TemporaryDirectory() as tmp, Project(Path(tmp) / "s.collapse", create=True) as p:
    _, ids = create_sweep(p, spec)
    t = time.perf_counter()
    compute_runs(p, ids, executor)
    print(time.perf_counter() - t)
executor.close()
"""


def scaling(repeats: int) -> None:
    """Each measurement in a process of its own, as `main.py sweep` runs (this one imports dask)."""
    from distributed import LocalCluster

    def timed(where: str) -> float:
        res = subprocess.run([sys.executable, "-c", SCALING_SWEEP, where], check=True, cwd=ROOT,
                             capture_output=True, text=True)
        return float(res.stdout.split()[-1])

    rows: dict[str, list[float]] = {"1 worker": [], "2 processes": [], "2-worker LocalCluster": []}
    for _ in range(repeats):  # the cluster runs only while it is measured: its idle processes cost CPU too
        rows["1 worker"].append(timed("1"))
        rows["2 processes"].append(timed("2"))
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                          host="127.0.0.1") as cluster:
            rows["2-worker LocalCluster"].append(timed(cluster.scheduler_address))
    print("24-cell sweep (96 runs x 300 generations, M 100-3000), seconds of computing and committing, median of "
          f"{repeats}:")
    for k, v in rows.items():
        speedups = [a / b for a, b in zip(rows["1 worker"], v)]
        print(f"  {k:>22}: {statistics.median(v):6.2f} s, speed-up {statistics.median(speedups):.2f} "
              f"({min(speedups):.2f}-{max(speedups):.2f})")


def accumulate(repeats: int) -> None:
    from core.engine import RunSpec, Simulation

    ratios = []
    for r in range(repeats):
        sim = Simulation(RunSpec.build("gaussian", "accumulate", {}, 1010, 100_000, r))
        times = {}
        last = time.perf_counter()
        for rec in sim.run():
            now = time.perf_counter()
            times[rec.generation] = now - last
            last = now
        early = statistics.median(times[g] for g in range(5, 16))
        late = statistics.median(times[g] for g in range(995, 1006))
        ratios.append(late / early)
        print(f"  repeat {r + 1}: {early * 1e3:.2f} ms/gen around generation 10, {late * 1e3:.2f} around 1,000")
    print(f"gaussian accumulate at M = 10^5, generation 1,000 / generation 10: {statistics.median(ratios):.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f})")


def info(repeats: int) -> None:
    from core.engine import RunSpec
    from core.runner import create_runs, drive
    from core.store import Project

    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "i.collapse"
        with Project(path, create=True) as p:
            for rid in create_runs(p, RunSpec.build("gaussian", "mix", {}, 50, 100, 1), 8):
                for _ in drive(p, rid):
                    pass
        base, ours = [], []
        for _ in range(repeats * 5):
            base.append(_timed([py, "-c", "import numpy, sqlite3"]))
            ours.append(_timed([py, "main.py", "info", str(path)]))
    ratio = [a / b for a, b in zip(ours, base)]
    print(f"main.py info (8 runs) {statistics.median(ours) * 1e3:.0f} ms, import numpy, sqlite3 "
          f"{statistics.median(base) * 1e3:.0f} ms: ratio {statistics.median(ratio):.2f} "
          f"({min(ratio):.2f}-{max(ratio):.2f})")


MEASURE_SWEEP = """
import resource, sys
sys.argv = ["main.py", *sys.argv[1:]]
sys.path.insert(0, ".")
from core.cli import main
code = main(sys.argv[1:])
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(me, kids)
sys.exit(code)
"""


def memory(repeats: int) -> None:
    py = sys.executable
    print("peak resident memory (MB) of a sweep, M = 10^4, 50 generations, 2 replicates per cell, 2 workers:")
    with tempfile.TemporaryDirectory() as tmp:
        for cells in (6, 60, 600):
            out = Path(tmp) / f"m{cells}.collapse"
            res = subprocess.run([py, "-c", MEASURE_SWEEP, "sweep", "--grid", f"sigma0=1:2:{cells}", "--samples",
                                  "10000", "--generations", "50", "--replicates", "2", "--workers", "2", "-q", "-o",
                                  str(out)], check=True, cwd=ROOT, capture_output=True, text=True)
            me, kids = (int(v) / 1024 for v in res.stdout.split())
            size = out.stat().st_size / 2**20
            print(f"  {cells:>4} cells ({cells * 2} runs, project {size:,.0f} MB): coordinator {me:.0f} MB, "
                  f"largest worker {kids:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=("papers", "scaling", "accumulate", "info", "memory"),
                    default=["papers", "scaling", "accumulate", "info", "memory"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    for name in args.only:
        globals()[name](args.repeats)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
