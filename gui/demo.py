"""The built-in demo project, so the first launch shows something moving at once.

It lives in the user data folder. On the first launch the run rows are created (milliseconds) and the
window computes them with the ordinary run worker in the background, following the latest generation; later
launches reopen the file and finish whatever was not computed yet. A damaged demo file is moved aside (never
deleted) and a fresh one is built.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.engine import RunSpec
from core.runner import create_runs
from core.store import Project, ProjectError

DEMO_FILE = "demo.collapse"
DEMO_READY = ("Demo: a pure refit (replace) beside a run that mixes in 50% real data. Space plays the generations; "
              "select runs on the left to compare them.")  # the status line once the demo is computed


@dataclass(frozen=True)
class DemoRun:
    """One run of the demo project."""

    name: str
    scenario: str
    policy: str
    generations: int
    samples: int
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> RunSpec:
        """The validated RunSpec of this demo run."""
        return RunSpec.build(self.scenario, self.policy, dict(self.settings), self.generations, self.samples,
                             self.seed)


DEMO_RUNS = (
    DemoRun("Gaussian replace", "gaussian", "replace", 200, 100, 1),
    DemoRun("Gaussian mix 50% real", "gaussian", "mix", 200, 100, 1, {"alpha": 0.5}),
    DemoRun("Three modes replace", "gmm", "replace", 100, 300, 2),
)


def demo_path(data_dir: str | Path) -> Path:
    """Where the demo project lives."""
    return Path(data_dir) / DEMO_FILE


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    path.rename(target)
    for suffix in ("-wal", "-shm", "-journal"):
        side = Path(str(path) + suffix)
        if side.exists():
            side.rename(Path(str(target) + suffix))
    return target


def prepare_demo(data_dir: str | Path) -> tuple[Path, list[int], str | None]:
    """Create the demo project if needed.

    Returns its path, the ids of demo runs still to compute (in order), and a note for the user when a
    damaged demo file had to be moved aside (else None).
    """
    path = demo_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    note = None
    try:
        project = Project(path, create=True)
    except ProjectError as exc:
        if not path.exists():
            raise
        moved = _move_aside(path)
        note = f"The demo project could not be opened ({exc}); it was moved to {moved} and rebuilt."
        project = Project(path, create=True)
    try:
        if project.readonly:
            return path, [], note
        runs = project.runs()
        if not runs:
            for d in DEMO_RUNS:
                create_runs(project, d.spec(), 1, d.name)
            runs = project.runs()
        names = {d.name for d in DEMO_RUNS}
        todo = [r.id for r in runs if r.name in names and not r.complete and r.status != "running"]
    finally:
        project.close()
    return path, todo, note


def demo_selection(runs: list[Any]) -> tuple[int | None, list[int]]:
    """The demo's first view: the pure refit as current, compared with the mixed run."""
    by_name = {r.name: r.id for r in runs}
    first = by_name.get(DEMO_RUNS[0].name)
    second = by_name.get(DEMO_RUNS[1].name)
    selected = [i for i in (first, second) if i is not None]
    return first, selected
