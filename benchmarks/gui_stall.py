"""How long can the GUI's event loop stall while a run computes? (goal: under 50 ms)

Opens the real main window (offscreen unless QT_QPA_PLATFORM says otherwise) on a temporary project,
starts runs of 10^5 samples per generation from the Run setup form with "follow latest" on, so every view
redraws as generations are saved, and measures the gaps between ticks of a 1 ms precise QTimer in the GUI
thread. The longest gap is the longest time the window could not react to input.

Two runs are measured in one session: the first run after launch ("cold": includes one-time costs such as
lazy imports and the first paint of each view) and a second, identical run with a new seed ("warm").

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_stall.py [--samples 100000]
        [--generations 300] [--scenario gaussian] [--policy replace] [--play] [--profile]

--play also plays the generations at 60 fps while the run computes; --profile samples the GUI thread's
Python stack whenever it stalls for more than 25 ms and prints where, and times the garbage collector's
passes. Prints max, p99 and p50 of the gaps and PASS/FAIL against the 50 ms goal. Nothing is written
outside a temporary folder. The numbers depend on the machine's load: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

GOAL_MS = 50.0
PROFILE_MS = 25.0


class StallProfiler:
    """Samples the GUI thread's Python stack while it has not ticked for PROFILE_MS, and times the garbage
    collector's passes (a full pass holds the GIL, so it stalls the GUI whichever thread runs it)."""

    def __init__(self) -> None:
        import gc

        self.main = threading.get_ident()
        self.last = time.perf_counter()
        self.active = False
        self.stacks: collections.Counter[str] = collections.Counter()
        self.gc_ms: collections.defaultdict[str, list[float]] = collections.defaultdict(list)
        self._gc_start = 0.0
        gc.callbacks.append(self._gc)
        threading.Thread(target=self._watch, daemon=True).start()

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        elif self.active:
            key = f"gen {info['generation']} ({threading.current_thread().name})"
            self.gc_ms[key].append((time.perf_counter() - self._gc_start) * 1000)

    def beat(self) -> None:
        self.last = time.perf_counter()

    def _watch(self) -> None:
        while True:
            time.sleep(0.003)
            if not self.active or (time.perf_counter() - self.last) * 1000 < PROFILE_MS:
                continue
            frame = sys._current_frames().get(self.main)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)[-7:]
            key = " <- ".join(f"{Path(s.filename).name}:{s.lineno}:{s.name}" for s in reversed(stack))
            self.stacks[key] += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--scenario", default="gaussian")
    ap.add_argument("--policy", default="replace")
    ap.add_argument("--play", action="store_true", help="also play the current run's generations at 60 fps")
    ap.add_argument("--profile", action="store_true", help="print where the GUI thread was during stalls")
    args = ap.parse_args(argv)

    import numpy as np
    from PySide6.QtCore import QSettings, Qt, QTimer

    tmp = Path(tempfile.mkdtemp(prefix="collapse-stall-"))
    os.environ["COLLAPSE_LAB_DATA_DIR"] = str(tmp / "data")
    from gui.app import apply_theme, make_app, preload

    app = make_app()
    apply_theme(app)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "settings"))
    from gui.window.main_window import MainWindow

    window = MainWindow(settings=QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat), data_dir=tmp / "data")
    window.show()
    window.projects.new_project(str(tmp / "stall.collapse"))
    profiler = StallProfiler() if args.profile else None

    gaps: list[float] = []
    state = {"last": 0.0}

    def tick() -> None:
        now = time.perf_counter()
        if state["last"]:
            gaps.append(now - state["last"])
        state["last"] = now
        if profiler is not None:
            profiler.beat()

    def done() -> None:
        if not window.is_running():
            app.exit(0)  # (quit() would also close the window in Qt 6)

    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(1)
    probe.timeout.connect(tick)
    watcher = QTimer()
    watcher.setInterval(50)
    watcher.timeout.connect(done)

    def settle(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()

    settle(0.5)  # the window's first paint
    preload()  # as run_app does right after the first paint (a one-off ~1 s import, before any Start)
    failed = False
    for label, seed in (("cold (first run after launch)", 1), ("warm (second run)", 2)):
        window.run_panel.set_values(scenario=args.scenario, policy=args.policy, generations=args.generations,
                                    samples=args.samples, seed=seed)
        if window.run_panel.spec is None:
            print(f"bad settings: {window.run_panel.error_text()}", file=sys.stderr)
            return 2
        gaps.clear()
        state["last"] = 0.0
        probe.start()
        if profiler is not None:
            profiler.beat()
            profiler.active = True
        t0 = time.perf_counter()
        window.run_panel.request_start()  # creates the run in the GUI thread (part of what is measured)
        if args.play:
            window.scrubber.fps_spin.setValue(60)
            window.scrubber.loop_box.setChecked(True)
            QTimer.singleShot(300, window.state.playback.play)
        watcher.start()
        app.exec()
        elapsed = time.perf_counter() - t0
        probe.stop()
        watcher.stop()
        window.state.playback.pause()
        if profiler is not None:
            profiler.active = False
        run = window.current_run()
        g = np.asarray(gaps) * 1000.0
        worst = float(g.max()) if len(g) else float("nan")
        p99 = float(np.percentile(g, 99)) if len(g) else float("nan")
        p50 = float(np.percentile(g, 50)) if len(g) else float("nan")
        gens = run.last_generation if run is not None else 0
        print(f"{label}: {args.scenario}/{args.policy}, M={args.samples:,}, {gens} generations in {elapsed:.2f} s "
              f"({gens / elapsed:.0f} gen/s), status {run.status if run else '?'}")
        print(f"  event-loop gaps (1 ms timer, {len(g)} ticks{', playing at 60 fps' if args.play else ''}): "
              f"max {worst:.1f} ms, p99 {p99:.1f} ms, p50 {p50:.2f} ms, gaps > 16 ms: {int((g > 16).sum())}")
        failed |= not worst < GOAL_MS
        settle(0.3)
    window.close()
    if profiler is not None:
        print(f"GUI thread stacks while stalled > {PROFILE_MS:.0f} ms (samples every 3 ms):")
        for key, n in profiler.stacks.most_common(15):
            print(f"  {n:4d}  {key}")
        print("garbage collections while measuring:")
        for key, ms in sorted(profiler.gc_ms.items()):
            print(f"  {key}: {len(ms)} passes, longest {max(ms):.1f} ms, total {sum(ms):.0f} ms")
    print(f"{'FAIL' if failed else 'PASS'}: goal: longest stall < {GOAL_MS:.0f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
