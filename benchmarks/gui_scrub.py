"""Scrubbing benchmark: how long from `GenerationPanel.set_generation(k)` to repainted views, and playback fps.

Builds (or reuses) a project with one long Gaussian `replace` run, puts it in a GenerationPanel offscreen and
measures, over random jumps across the whole run (the worst case for caches):

- ``events``: set_generation(k) then QApplication.processEvents() -- what the app does: the changed items
  repaint their dirty regions;
- ``repaint``: set_generation(k) then panel.repaint() -- a synchronous repaint of the whole panel (upper
  bound: every view redrawn even where nothing changed);
- playback: generations advanced one by one as fast as the views allow (set_generation + processEvents),
  reported as frames per second;

each in the three distribution modes (single, overlay of 8, ridgeline of 8). Then the same with ``--compare``
runs (default 4) selected together: the distribution and the heatmap show one pane per run (small multiples),
so every step swaps one generation in each pane; the goal for comparing 4 runs is p95 <= 16 ms. Numbers are
printed; the goal (p95 well under 16 ms, i.e. 60 fps) is a ratio to the frame budget, not a pass/fail test.

    python benchmarks/gui_scrub.py                  # 2,000 generations x 100,000 samples (about 1-2 min to build)
    python benchmarks/gui_scrub.py --full           # 10,000 generations x 100,000 samples (several minutes)
    python benchmarks/gui_scrub.py --project P.collapse   # reuse a project (its first run)
    python benchmarks/gui_scrub.py --compare 0      # without the several-runs case

The compare project has the same number of generations but at most 10,000 samples per generation (hist1d draws
the stored histograms, so the sample count does not change the drawing cost; it keeps the build short).

Samples are generated in full (10^5 per generation: histograms and metrics come from all of them) but only a
reservoir of ``--keep-samples`` per generation is stored, which bounds the file size; hist1d never reads them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def build_project(path: Path, generations: int, samples: int, keep: int, seed: int) -> None:
    from core.engine import RunSpec
    from core.runner import create_runs, drive
    from core.store import Project

    spec = RunSpec.build("gaussian", "replace", {}, generations, samples, seed)
    started = time.monotonic()
    with Project(path, create=True) as project:
        (run_id,) = create_runs(project, spec, 1, "benchmark replace", samples_budget=keep)
        last = started
        for rec in drive(project, run_id):
            now = time.monotonic()
            if now - last > 5:
                rate = rec.generation / (now - started)
                print(f"  building: generation {rec.generation}/{generations}, {rate:.0f} gen/s, "
                      f"ETA {(generations - rec.generation) / max(rate, 1e-9):.0f} s", flush=True)
                last = now
    print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.0f} s", flush=True)


def build_compare_project(path: Path, runs: int, generations: int, samples: int, keep: int, seed: int) -> None:
    """`runs` Gaussian runs (replace, and 50% real data mixed in, alternately) for the several-runs case."""
    from core.engine import RunSpec
    from core.runner import create_runs, drive
    from core.store import Project

    started = time.monotonic()
    with Project(path, create=True) as project:
        for i in range(runs):
            policy, params = ("mix", {"alpha": 0.5}) if i % 2 else ("replace", {})
            spec = RunSpec.build("gaussian", policy, params, generations, samples, seed + i)
            (run_id,) = create_runs(project, spec, 1, f"compare {i + 1} {policy}", samples_budget=keep)
            for _ in drive(project, run_id):
                pass
    print(f"built {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.0f} s", flush=True)


def measure(app, panel, last: int, rng: np.random.Generator, args: argparse.Namespace):  # noqa: ANN001, ANN201
    """(events, repaints, playback fps) of the median of `args.rounds` rounds of random jumps and playback."""
    rounds = []
    for _ in range(max(1, args.rounds)):
        ks = rng.integers(0, last + 1, size=args.jumps)
        ev, rp = [], []
        for i, k in enumerate(ks):
            t = time.perf_counter()
            panel.set_generation(int(k))
            app.processEvents()
            ev.append(time.perf_counter() - t)
            k2 = int(ks[(i + 7) % len(ks)])
            t = time.perf_counter()
            panel.set_generation(k2)
            panel.repaint()
            rp.append(time.perf_counter() - t)
        # playback: one generation per frame, as fast as the views allow
        frames = 0
        k = int(rng.integers(0, last + 1))
        t_end = time.perf_counter() + args.playback
        t = time.perf_counter()
        while time.perf_counter() < t_end:
            k = (k + 1) % (last + 1)
            panel.set_generation(k)
            app.processEvents()
            frames += 1
        rounds.append((ev, rp, frames / (time.perf_counter() - t)))
    rounds.sort(key=lambda r: pct(r[0], 95))
    return rounds[len(rounds) // 2]


def pct(a: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(a) * 1000.0, q))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generations", type=int, default=2000)
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--full", action="store_true", help="10,000 generations x 100,000 samples")
    ap.add_argument("--keep-samples", type=int, default=1000, help="stored reservoir per generation")
    ap.add_argument("--project", type=Path, help="use (or build here) this project file")
    ap.add_argument("--jumps", type=int, default=400, help="random set_generation calls per measurement")
    ap.add_argument("--playback", type=float, default=3.0, help="seconds of playback per mode")
    ap.add_argument("--size", default="1280x960", help="panel size WIDTHxHEIGHT")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--compare", type=int, default=4, help="also measure this many runs selected together (0: no)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="repeat the measurements; the median round is reported (other processes on the machine "
                         "disturb single rounds)")
    args = ap.parse_args(argv)
    if args.full:
        args.generations, args.samples = 10_000, 100_000
    path = args.project or Path(f"/tmp/collapse-bench-{args.generations}x{args.samples}.collapse")
    if not path.exists():
        print(f"building {args.generations:,} generations x {args.samples:,} samples -> {path}", flush=True)
        build_project(path, args.generations, args.samples, args.keep_samples, args.seed)

    from PySide6.QtWidgets import QApplication

    from core.store import Project
    from gui.cache import RunCache
    from gui.panels.generation_panel import GenerationPanel

    app = QApplication.instance() or QApplication([])
    project = Project(path, readonly=True)
    run = project.runs()[0]
    w, h = (int(v) for v in args.size.split("x"))
    panel = GenerationPanel()
    panel.resize(w, h)
    panel.show()
    app.processEvents()
    cache = RunCache(project)
    t0 = time.perf_counter()
    panel.set_cache(cache)
    panel.set_runs(run, [run])
    app.processEvents()
    t_open = time.perf_counter() - t0
    last = cache.last_generation(run)
    gens, mat = cache.histograms(run)
    print(f"\nproject: {path.name}: {last + 1:,} generations x {run.spec.samples:,} samples per generation, "
          f"{mat.shape[1]} bins; panel {w}x{h}, platform {app.platformName()}")
    print(f"open the run (histogram matrix, heatmap image {panel.heatmap.image_shape}, timelines): "
          f"{t_open * 1000:.0f} ms")

    # refresh cost: what a running run pays per committed generation (after the 100 ms coalescing)
    cache.invalidate(run.id)
    t0 = time.perf_counter()
    panel.refresh(run.id)
    panel.flush()
    app.processEvents()
    print(f"refresh after a commit (no new rows): {(time.perf_counter() - t0) * 1000:.1f} ms")

    rng = np.random.default_rng(0)
    view = panel.distribution.view
    load_before = os.getloadavg()[0]
    results = []
    for mode in ("single", "overlay", "ridgeline"):
        view.mode_combo.setCurrentIndex(view.mode_combo.findData(mode))
        app.processEvents()
        ev, rp, fps = measure(app, panel, last, rng, args)
        results.append((mode, ev, rp, fps))
    view.mode_combo.setCurrentIndex(view.mode_combo.findData("single"))
    compared = None
    project_c = None
    if args.compare >= 2:  # several runs selected: one pane per run in the distribution and the heatmap
        samples_c = min(args.samples, 10_000)
        path_c = Path(f"/tmp/collapse-bench-compare{args.compare}-{args.generations}x{samples_c}.collapse")
        if not path_c.exists():
            print(f"building {args.compare} runs of {args.generations:,} generations x {samples_c:,} samples -> "
                  f"{path_c}", flush=True)
            build_compare_project(path_c, args.compare, args.generations, samples_c, args.keep_samples, args.seed)
        project_c = Project(path_c, readonly=True)
        runs_c = project_c.runs()[:args.compare]
        cache_c = RunCache(project_c)
        panel.set_cache(cache_c)
        panel.set_runs(runs_c[0], runs_c)
        app.processEvents()
        last_c = min(cache_c.last_generation(r) for r in runs_c)
        panes = (len(panel.distribution.cells), len(panel.heatmap.active))
        compared = (len(runs_c), panes, *measure(app, panel, last_c, rng, args))
    load_after = os.getloadavg()[0]

    print(f"\n{'mode':<10} {'events p50':>11} {'p95':>8} {'max':>8} | {'repaint p50':>12} {'p95':>8} {'max':>8} | "
          f"{'playback':>10}")
    for mode, ev, rp, fps in results:
        print(f"{mode:<10} {pct(ev, 50):>9.2f}ms {pct(ev, 95):>6.2f}ms {pct(ev, 100):>6.2f}ms | "
              f"{pct(rp, 50):>10.2f}ms {pct(rp, 95):>6.2f}ms {pct(rp, 100):>6.2f}ms | {fps:>7.0f} fps")
    if compared is not None:
        n, (n_dist, n_heat), ev, rp, fps = compared
        label = f"{n} runs"
        print(f"{label:<10} {pct(ev, 50):>9.2f}ms {pct(ev, 95):>6.2f}ms {pct(ev, 100):>6.2f}ms | "
              f"{pct(rp, 50):>10.2f}ms {pct(rp, 95):>6.2f}ms {pct(rp, 100):>6.2f}ms | {fps:>7.0f} fps   "
              f"({n_dist} distribution panes, {n_heat} heatmap rows; single mode)")
        print(f"\ncomparing {n} runs: p95 (set_generation -> repainted views) {pct(ev, 95):.2f} ms "
              f"(goal <= 16 ms)")
    worst = max(pct(ev, 95) for _, ev, _, _ in results)
    print(f"\nworst p95 (set_generation -> repainted views): {worst:.2f} ms = {worst / 16.7:.2f} of a 60 Hz frame "
          f"(median of {args.rounds} rounds of {args.jumps} random jumps; load average {load_before:.1f} -> "
          f"{load_after:.1f} on {os.cpu_count()} CPUs)")
    print(f"cache: {cache.nbytes / 1e6:.1f} MB, {cache.reads} store reads; samples loaded for hist1d: "
          f"{sum(f.samples_loaded for f in cache._frames.values())}")
    project.close()
    if project_c is not None:
        project_c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
