"""The command line: `run`, `export`, `info`, `scenarios`, `open` (and no arguments: the app).

Bad arguments or values give one clear line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, TextIO

from core import __version__
from core.output_files import check_output_path
from core.params import ParamError, parse_assignments
from core.sizes import human_bytes
from core.spec import MAX_REPLICATES, MAX_SAMPLES, RunSpec
from core.store import (
    DEFAULT_SAMPLES_BUDGET,
    Project,
    ProjectError,
    RunInfo,
    SweepInfo,
    clean_run_name,
    remove_foreign_objects,
)

if TYPE_CHECKING:
    from core.coordinator import Committed, Executor
    from core.sweep import Cell, SweepSpec

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad command-line usage; printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        command = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
        raise UsageError(f"{message} (see: python main.py {command}--help)")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py", description="Collapse Lab: watch model collapse happen. Without a command the "
                "app opens on the demo project.")
    p.add_argument("--version", action="version", version=f"Collapse Lab {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    o = sub.add_parser("open", help="open the app on a project file (`main.py FILE` does the same)")
    o.add_argument("file", help="a .collapse project")

    r = sub.add_parser("run", help="run experiments headless and store them in a project")
    r.add_argument("--scenario", help="a scenario (default gaussian; see: main.py scenarios)")
    r.add_argument("--policy", help="a policy (default replace; see: main.py scenarios)")
    r.add_argument("--generations", type=_int_arg("generations", 1), default=None,
                   help="generations after the real data (default 100; with --resume: extend to this many)")
    r.add_argument("--samples", type=_int_arg("samples", 1, MAX_SAMPLES), default=None,
                   help="samples M per generation (default: the scenario's)")
    r.add_argument("--seed", type=_int_arg("seed", 0, 2**63 - 1), help="random seed (default 0)")
    r.add_argument("--replicates", type=_int_arg("replicates", 1, MAX_REPLICATES),
                   help="R runs differing only in seed stream, stored as one group (default 1)")
    r.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="scenario or policy parameter (repeatable); see `python main.py scenarios`")
    r.add_argument("--name", help="name of the new run (group); default from scenario and policy")
    r.add_argument("--keep-samples", type=_int_arg("keep-samples", 1, MAX_SAMPLES),
                   help=f"stored-samples budget per generation; above it a reservoir is kept (default "
                        f"{DEFAULT_SAMPLES_BUDGET})")
    r.add_argument("-o", "--output", help="project file to create, or to add the runs to")
    r.add_argument("--resume", metavar="FILE", help="finish the interrupted runs of this project")
    r.add_argument("--run", dest="run_name", help="with --resume: only this run (or group)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _executor_options(r)

    w = sub.add_parser("sweep", help="a grid of settings x replicates, computed on every core or a Dask cluster",
                       description="Every combination of the --grid values is one cell: a replicate group of "
                       "--replicates runs. Example: sweep --policy mix --grid alpha=0,0.1,0.5 --grid "
                       "samples=10:1000:log3 --replicates 50 -o sweep.collapse")
    w.add_argument("--scenario", help="a scenario (default gaussian; see: main.py scenarios)")
    w.add_argument("--policy", help="a policy (default replace; see: main.py scenarios)")
    w.add_argument("--grid", action="append", default=[], metavar="NAME=VALUES",
                   help="a swept setting: a list (alpha=0,0.1,0.5), a range (alpha=0:1:11) or a log range "
                        "(samples=10:10000:log7); any scenario or policy parameter, or samples, generations, "
                        "policy, scenario (repeatable: the grid is the product)")
    w.add_argument("--generations", type=_int_arg("generations", 1), default=None,
                   help="generations after the real data (default 100)")
    w.add_argument("--samples", type=_int_arg("samples", 1, MAX_SAMPLES), default=None,
                   help="samples M per generation (default: the scenario's)")
    w.add_argument("--seed", type=_int_arg("seed", 0, 2**63 - 1), help="random seed of every cell (default 0)")
    w.add_argument("--replicates", type=_int_arg("replicates", 1, MAX_REPLICATES), default=None,
                   help="runs per cell, differing only in seed stream (default 1)")
    w.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed scenario or policy parameter for every cell (repeatable)")
    w.add_argument("--name", help="name of the sweep (default from scenario, policy and the swept settings)")
    w.add_argument("--keep-samples", type=_int_arg("keep-samples", 1, MAX_SAMPLES),
                   help="stored-samples budget per generation (see run --help)")
    w.add_argument("-o", "--output", help="project file to create, or to add the sweep to")
    w.add_argument("--resume", metavar="FILE", help="finish the unfinished sweeps of this project")
    w.add_argument("--sweep", dest="sweep_name", help="with --resume: only this sweep")
    w.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _executor_options(w)

    e = sub.add_parser("export", help="write CSVs (and a chart PNG) from a project")
    e.add_argument("file")
    e.add_argument("--metrics-csv", metavar="FILE",
                   help="tidy metrics: run, replicate, generation, metric, value ('-': standard output)")
    e.add_argument("--histograms-csv", metavar="FILE",
                   help="run, replicate, generation, bin_left, bin_right, count (2-D runs add bin_bottom, bin_top)")
    e.add_argument("--samples-csv", metavar="FILE",
                   help="run, replicate, generation, index, value (vector samples: value_0, value_1, ...; "
                        "token and category runs add the words or labels)")
    e.add_argument("--sweeps-csv", metavar="FILE",
                   help="sweep, cell, run, replicate and the swept settings of every run of a sweep (join with "
                        "the metrics CSV on run)")
    e.add_argument("--generation", type=_int_arg("generation", 0), action="append",
                   help="with --samples-csv: only this generation (repeatable)")
    e.add_argument("--run", dest="run_names", action="append", help="only this run or group (repeatable)")
    e.add_argument("--png", help="render a chart to this PNG")
    e.add_argument("--svg", help="render a chart to this SVG")
    e.add_argument("--chart", default="var_ratio",
                   help="chart for --png/--svg: a metric name (timeline), 'histogram' or 'heatmap'")
    e.add_argument("--size", default="1200x800", help="PNG size WIDTHxHEIGHT (default 1200x800)")

    i = sub.add_parser("info", help="runs, sweeps, parameters, status and sizes of a project")
    i.add_argument("file")
    i.add_argument("--runs", action="store_true", help="list every run of a sweep too, not only its cells")

    fix = sub.add_parser("repair", help="remove SQL a project file holds beyond its format (triggers, views, ...)",
                         description="A project file may hold triggers, views, indexes or tables Collapse Lab did "
                         "not write (SQL that could run when the file is read or changed). Collapse Lab opens such a "
                         "file only read-only; this removes them, keeping every run and generation.")
    fix.add_argument("file")

    sub.add_parser("scenarios", help="scenarios, policies and their parameters")
    return p


def _executor_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_int_arg("workers", 1, 1024), default=None,
                   help="worker processes computing runs at once (default: the number of cores; 1: this process)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", type=_scheduler_arg,
                   help="compute on this Dask distributed cluster instead (see README: dask scheduler / dask worker)")


def _scheduler_arg(text: str) -> str:
    proto, sep, rest = text.partition("://")
    host, colon, port = (rest if sep else text).rpartition(":")
    if (sep and proto not in ("tcp", "tls")) or not colon or not host or not port.isdigit() or \
            not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"--scheduler must look like tcp://HOST:PORT, got {text!r}")
    return text if sep else f"tcp://{text}"


def _int_arg(name: str, minimum: int, maximum: int | None = None):  # type: ignore[no-untyped-def]
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--{name} must be a whole number, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"--{name} must be at least {minimum}, got {v}")
        if maximum is not None and v > maximum:
            raise argparse.ArgumentTypeError(f"--{name} must be at most {maximum}, got {v}")
        return v
    return parse


# ---- commands ---------------------------------------------------------------------------------------------
def _rate(r: float) -> str:
    return f"{r:,.0f}" if r >= 10 else f"{r:.2g}"


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "unknown"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class Progress:
    """Terminal progress of runs computed together: cells (or runs) done / total, generations per second, ETA."""

    def __init__(self, out: TextIO, quiet: bool, label: str, remaining: dict[int, int],
                 cells: dict[int, Hashable]) -> None:
        self.out, self.quiet, self.label = out, quiet, label
        self.tty = out.isatty()
        self.started = self.last = time.monotonic()
        self.total = sum(remaining.values())
        self.done = 0
        self.cells = cells  # run id -> its cell (any key naming the cell)
        self.runs_left: dict[Hashable, int] = {}
        for rid in remaining:
            self.runs_left[cells[rid]] = self.runs_left.get(cells[rid], 0) + 1
        self.n_cells = len(self.runs_left)
        self.cells_done = 0

    def update(self, c: Committed) -> None:
        self.done += max(0, c.last - c.first + 1)
        if c.finished:
            cell = self.cells.get(c.run_id)
            if cell in self.runs_left:
                self.runs_left[cell] -= 1
                if self.runs_left[cell] == 0:
                    self.cells_done += 1
        now = time.monotonic()
        if self.quiet or now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        rate = self.done / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        where = f"cells {self.cells_done}/{self.n_cells}, " if self.n_cells > 1 else ""
        line = (f"{self.label}: {where}generations {self.done:,}/{self.total:,}, {_rate(rate)} gen/s, "
                f"ETA {_duration(eta)}")
        self.out.write(("\r" + line.ljust(79)) if self.tty else line + "\n")
        self.out.flush()

    def finish(self, text: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            rate = self.done / max(elapsed, 1e-9)
            self.out.write(("\r" + " " * 79 + "\r" if self.tty else "") +
                           f"{text} in {elapsed:.2f} s ({_rate(rate)} generations/s)\n")
            self.out.flush()


def _executor(args: argparse.Namespace, runs: int) -> Executor:
    """The executor the options ask for (made before a new project is written: an unreachable cluster then
    leaves nothing behind, and local workers fork from a process with no file open)."""
    from core.coordinator import default_workers, make_executor

    workers = args.workers
    if workers is None and not args.scheduler:
        workers = min(default_workers(), runs)
    return make_executor(workers, args.scheduler)


def _compute(project: Project, run_ids: Sequence[int], args: argparse.Namespace, label: str,
             cells: dict[int, Hashable] | None = None, resume_hint: str = "run", executor: Executor | None = None) -> int:
    """Compute these runs on the chosen executor with progress; Ctrl-C keeps what was committed."""
    from core.coordinator import compute_runs

    runs = [project.run(rid) for rid in run_ids]
    remaining = {r.id: r.spec.generations - r.last_generation for r in runs}
    cells = cells if cells is not None else {r.id: k for k, r in enumerate(runs)}
    progress = Progress(sys.stderr, args.quiet, label, remaining, cells)
    executor = executor or _executor(args, len(run_ids))
    skipped: list[str] = []

    def skip(reason: str) -> None:  # a run whose stored state is damaged: the others go on
        skipped.append(reason)
        print(f"warning: {reason}; it is left as it is", file=sys.stderr)

    try:
        compute_runs(project, run_ids, executor, progress.update, on_skip=skip)
    except KeyboardInterrupt:
        executor.close(cancel=True)
        print(f"\ninterrupted: every finished generation is saved; continue with: python main.py {resume_hint} "
              f"--resume {project.path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        executor.close(cancel=True)
        raise
    executor.close()
    if not args.quiet:
        for r in runs:
            final = project.run(r.id)
            if final.message and (final.status != "finished" or len(runs) <= 10) and final.message not in skipped:
                print(f"{final.name}: {final.message}", file=sys.stderr)
    n = len(run_ids)
    progress.finish(f"{progress.done} generations of {n} run{'s' * (n != 1)} saved to {project.path}")
    if skipped:
        print(f"error: {len(skipped)} run{'s' * (len(skipped) != 1)} could not be resumed (damaged; see above)",
              file=sys.stderr)
        return EXIT_FAILED
    return 0


_COMMANDS = ("open", "run", "sweep", "export", "info", "repair", "scenarios")
_NEW_RUN_OPTIONS = (("scenario", "--scenario"), ("policy", "--policy"), ("samples", "--samples"), ("seed", "--seed"),
                    ("replicates", "--replicates"), ("settings", "--set"), ("name", "--name"),
                    ("keep_samples", "--keep-samples"))


def _check_resume(args: argparse.Namespace, new_options: tuple[tuple[str, str], ...], why: str) -> None:
    """--resume goes with neither -o nor the options that set up new runs."""
    if args.output:
        raise UsageError("use either --resume FILE or -o FILE, not both")
    given = [flag for attr, flag in new_options if getattr(args, attr) not in (None, [])]
    if given:
        raise UsageError(f"{given[0]} does not go with --resume: {why}")


def _refuse_held(project: Project, runs: Sequence[RunInfo]) -> None:
    """Nothing to resume, but runs another process is computing: say so rather than "complete"."""
    held = project.holders(runs)
    if held:
        more = f" (and {len(held) - 1} more)" if len(held) > 1 else ""
        raise ProjectError(f"{project.path}: {held[0]}{more}; wait for it to finish or stop it, then resume")


def cmd_run(args: argparse.Namespace) -> int:
    from core.runner import create_runs, resumable, version_change

    if args.resume:
        _check_resume(args, _NEW_RUN_OPTIONS, "runs continue with the settings they were started with (only "
                      "--generations, --run, --workers, --scheduler and -q apply)")
        with Project(args.resume) as project:
            ids = resumable(project, args.run_name)
            if args.run_name and not project.find_runs(args.run_name):
                raise UsageError(f"no run or group named {args.run_name!r} in {args.resume}")
            if args.generations is not None:
                targets = project.find_runs(args.run_name) if args.run_name else project.runs()
                for r in targets:
                    if args.generations > r.spec.generations:
                        project.extend_run(r.id, args.generations)
                ids = resumable(project, args.run_name)
            if not ids:
                _refuse_held(project, project.find_runs(args.run_name) if args.run_name else project.runs())
                print("nothing to resume: every run is complete", file=sys.stderr)
                return 0
            for rid in ids:
                note = version_change(project.run(rid))
                if note:
                    print(f"note: {note}", file=sys.stderr)
            return _compute(project, ids, args, args.run_name or "resume")

    if not args.output:
        raise UsageError("run needs -o FILE (the project to create or add to), or --resume FILE")
    if args.run_name:
        raise UsageError("--run only goes with --resume")
    settings = parse_assignments(args.settings)
    from core.scenarios import scenario_class

    scenario, policy = args.scenario or "gaussian", args.policy or "replace"
    samples = args.samples if args.samples is not None else scenario_class(scenario).default_samples
    spec = RunSpec.build(scenario, policy, settings, args.generations or 100, samples, args.seed or 0)
    try:
        name = clean_run_name(args.name) if args.name is not None else None
    except ProjectError as exc:
        raise UsageError(f"--name: {exc}") from None
    executor = _executor(args, args.replicates or 1)
    try:
        with Project(args.output, create=True) as project:
            ids = create_runs(project, spec, args.replicates or 1, name, args.keep_samples or DEFAULT_SAMPLES_BUDGET)
            cells = dict.fromkeys(ids, 0)  # one cell: a replicate group
            return _compute(project, ids, args, project.run(ids[0]).group, cells, executor=executor)
    finally:
        executor.close(cancel=True)


_NEW_SWEEP_OPTIONS = (("scenario", "--scenario"), ("policy", "--policy"), ("grid", "--grid"),
                      ("generations", "--generations"), ("samples", "--samples"), ("seed", "--seed"),
                      ("replicates", "--replicates"), ("settings", "--set"), ("name", "--name"),
                      ("keep_samples", "--keep-samples"))


def cmd_sweep(args: argparse.Namespace) -> int:
    from core.runner import resumable
    from core.sweep import SweepSpec, axis_is_integer, parse_axis

    if args.resume:
        _check_resume(args, _NEW_SWEEP_OPTIONS, "a sweep continues with the settings it was started with (only "
                      "--sweep, --workers, --scheduler and -q apply)")
        with Project(args.resume) as project:
            sweeps, damaged = project.sweeps()
            for d in damaged:
                print(f"warning: left out a damaged sweep ({d})", file=sys.stderr)
            if args.sweep_name:
                sweeps = [sw for sw in sweeps if sw.name == args.sweep_name]
                if not sweeps:
                    raise UsageError(f"no sweep named {args.sweep_name!r} in {args.resume}")
            if not sweeps:
                print(f"nothing to resume: {args.resume} has no sweeps", file=sys.stderr)
                return 0
            ready = set(resumable(project))
            groups = _by_group(project.runs())
            ids, cells = [], {}
            for sw in sweeps:
                for cell in sw.cells:
                    for r in groups.get(cell.group, []):
                        if r.id in ready and r.id not in cells:
                            ids.append(r.id)
                            cells[r.id] = (sw.id, cell.cell)
            if not ids:
                _refuse_held(project, [r for sw in sweeps for c in sw.cells for r in groups.get(c.group, [])])
                for sw in sweeps:
                    project.set_sweep_status(sw.id, "finished")
                print("nothing to resume: every run of the sweep is complete", file=sys.stderr)
                return 0
            label = sweeps[0].name if len(sweeps) == 1 else f"{len(sweeps)} sweeps"
            return _compute_sweeps(project, [sw.id for sw in sweeps], ids, args, label, cells)

    if not args.output:
        raise UsageError("sweep needs -o FILE (the project to create or add to), or --resume FILE")
    if args.sweep_name:
        raise UsageError("--sweep only goes with --resume")
    scenario, policy = args.scenario or "gaussian", args.policy or "replace"
    axes = []
    for text in args.grid:
        name = text.partition("=")[0].strip()
        axes.append(parse_axis(text, axis_is_integer(name, scenario, policy)))
    try:
        name = clean_run_name(args.name) if args.name is not None else None
    except ProjectError as exc:
        raise UsageError(f"--name: {exc}") from None
    spec = SweepSpec(scenario, policy, parse_assignments(args.settings), args.generations or 100, args.samples,
                     args.seed or 0, args.replicates or 1, tuple(axes), name, args.keep_samples)
    cells = spec.cells()  # every cell validated before anything is written
    executor = _executor(args, len(cells) * spec.replicates)
    try:
        return _new_sweep(args, spec, cells, executor)
    finally:
        executor.close(cancel=True)


def _new_sweep(args: argparse.Namespace, spec: SweepSpec, cells: list[Cell], executor: Executor) -> int:
    from core.runner import create_sweep

    with Project(args.output, create=True) as project:
        sweep_id, ids = create_sweep(project, spec, cells, args.keep_samples or DEFAULT_SAMPLES_BUDGET)
        per_cell = spec.replicates
        cell_of = {rid: k // per_cell for k, rid in enumerate(ids)}
        sweep = next(sw for sw in project.sweeps()[0] if sw.id == sweep_id)
        if not args.quiet:
            print(f"sweep {sweep.name!r}: {len(cells)} cell{'s' * (len(cells) != 1)} x {per_cell} replicate"
                  f"{'s' * (per_cell != 1)} = {len(ids)} runs", file=sys.stderr)
        return _compute_sweeps(project, [sweep_id], ids, args, sweep.name, cell_of, executor)


def _compute_sweeps(project: Project, sweep_ids: Sequence[int], ids: Sequence[int], args: argparse.Namespace,
                    label: str, cells: dict[int, Hashable], executor: Executor | None = None) -> int:
    for sid in sweep_ids:
        project.set_sweep_status(sid, "running")
    code = EXIT_FAILED
    try:
        code = _compute(project, ids, args, label, cells, resume_hint="sweep", executor=executor)
    finally:
        _settle_sweeps(project, sweep_ids)
    return code


def _by_group(runs: Iterable[RunInfo]) -> dict[str, list[RunInfo]]:
    """Runs by replicate group (a sweep cell's runs are its group's)."""
    groups: dict[str, list[RunInfo]] = {}
    for r in runs:
        groups.setdefault(r.group, []).append(r)
    return groups


def _settle_sweeps(project: Project, sweep_ids: Sequence[int]) -> None:
    """Record each sweep finished when all its runs are complete, interrupted otherwise."""
    try:
        sweeps = {sw.id: sw for sw in project.sweeps()[0]}
        groups = _by_group(project.runs())
        for sid in sweep_ids:
            sw = sweeps.get(sid)
            if sw is not None:
                done = all(groups.get(c.group) and all(r.done for r in groups[c.group]) for c in sw.cells)
                project.set_sweep_status(sid, "finished" if done else "interrupted")
    except ProjectError:
        pass


def _selected_runs(project: Project, names: Sequence[str] | None) -> list[RunInfo]:
    if not names:
        runs, damaged = project.read_runs()
        for d in damaged:
            print(f"warning: left out a damaged run ({d})", file=sys.stderr)
        return runs
    out: list[RunInfo] = []
    for n in names:
        found = project.find_runs(n)
        if not found:
            raise UsageError(f"no run or group named {n!r} in {project.path}")
        out.extend(r for r in found if r not in out)
    return out


def _export_outputs(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(kind, path) of every requested output, checked before anything is written; '-' is standard output."""
    outputs = [(k, p) for k, p in (("metrics", args.metrics_csv), ("histograms", args.histograms_csv),
                                   ("samples", args.samples_csv), ("sweeps", args.sweeps_csv), ("png", args.png),
                                   ("svg", args.svg)) if p]
    if not outputs:
        raise UsageError("export needs at least one of --metrics-csv, --histograms-csv, --samples-csv, --sweeps-csv, "
                         "--png, --svg")
    if args.generation and not args.samples_csv:
        raise UsageError("--generation only applies to --samples-csv")
    stdout_kinds = [k for k, p in outputs if p == "-"]
    if any(k in ("png", "svg") for k in stdout_kinds):
        raise UsageError("--png and --svg need a file name ('-' for standard output is for CSVs only)")
    if len(stdout_kinds) > 1:
        raise UsageError("only one CSV can go to standard output ('-')")
    real: dict[str, str] = {}
    for kind, path in outputs:
        if path == "-":
            continue
        target = os.path.realpath(check_output_path(path, "CSV" if kind not in ("png", "svg") else kind.upper()))
        if target in real:
            raise UsageError(f"{path}: given for two outputs ({real[target]} and {kind}); use two file names")
        real[target] = kind
    if args.png or args.svg:
        _parse_size(args.size)
    return outputs


def _check_generations(runs: Sequence[RunInfo], generations: Sequence[int] | None) -> None:
    if not generations or not runs:
        return
    last = max(r.last_generation for r in runs)
    beyond = sorted({g for g in generations if g > last})
    if beyond:
        raise UsageError(f"--generation {beyond[0]} is beyond the last stored generation ({last}) of the "
                         "selected runs")


def cmd_export(args: argparse.Namespace) -> int:
    from core import export

    outputs = _export_outputs(args)
    with Project(args.file, readonly=True) as project:
        _opening_notes(project)
        runs = _selected_runs(project, args.run_names)
        _check_generations(runs, args.generation)
        for kind, path in outputs:  # charts first: an unknown --chart fails before any CSV is written
            if kind in ("png", "svg"):
                if _HOOKS.export_chart is None:
                    raise ProjectError("chart export needs the GUI (PySide6, pyqtgraph); run it through main.py")
                _HOOKS.export_chart(project, runs, args.chart, path, _parse_size(args.size))
                print(f"wrote {args.chart} chart to {path}", file=sys.stderr)
        for kind, path in outputs:
            if kind in ("png", "svg"):
                continue
            target = sys.stdout if path == "-" else path
            damaged: list[str] = []
            if kind == "metrics":
                n = export.write_metrics_csv(project, runs, target, damaged)
            elif kind == "histograms":
                n = export.write_histograms_csv(project, runs, target, damaged)
            elif kind == "sweeps":
                n = export.write_sweeps_csv(project, runs, target)
            else:
                n = export.write_samples_csv(project, runs, target, args.generation, damaged)
            for d in damaged[:20]:
                print(f"warning: left out {d}", file=sys.stderr)
            if len(damaged) > 20:
                print(f"warning: left out {len(damaged) - 20} more damaged generations", file=sys.stderr)
            if target is sys.stdout:
                sys.stdout.flush()
            print(f"wrote {n} {kind[:-1]} rows to "
                  f"{'standard output' if path == '-' else path}", file=sys.stderr)
    return 0


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--size must look like 1200x800, got {text!r}") from None
    if not (16 <= w <= 10000 and 16 <= h <= 10000):
        raise UsageError(f"--size must be between 16 and 10000 pixels per side, got {text!r}")
    return w, h


def _key_params(run: RunInfo) -> str:
    spec = run.spec
    items = {**spec.scenario_params, **spec.policy_params}
    return ", ".join(f"{k}={v}" for k, v in items.items())


def cmd_info(args: argparse.Namespace) -> int:
    with Project(args.file, readonly=True) as project:
        _opening_notes(project)
        runs, damaged = project.read_runs()
        sizes = project.run_sizes()
        print(f"{project.path}  ({human_bytes(project.size_bytes())}, {len(runs)} run{'s' * (len(runs) != 1)}"
              f"{f', {len(damaged)} damaged' if damaged else ''})")
        for d in damaged:
            print(f"- cannot be read: {d}")
        sweeps, bad_sweeps = project.sweeps()
        for d in bad_sweeps:
            print(f"- sweep cannot be read: {d}")
        by_group = _by_group(runs)
        in_sweeps: set[str] = set()
        for sw in sweeps:
            in_sweeps.update(c.group for c in sw.cells)
            _print_sweep(project, sw, by_group)
        shown = runs if args.runs else [r for r in runs if r.group not in in_sweeps]
        if sweeps and not args.runs and len(shown) < len(runs):
            print(f"({len(runs) - len(shown)} runs of sweeps not listed one by one; --runs lists them)")
        for r in shown:
            print(f"- {r.name}: {r.scenario} / {r.policy}, M={r.spec.samples}, seed={r.spec.seed}"
                  f"{f', replicate {r.replicate + 1}' if r.group != r.name else ''}")
            print(f"    status {r.status}, generations {max(r.last_generation, 0) if r.last_generation >= 0 else 0}"
                  f"/{r.spec.generations} done, samples stored {human_bytes(sizes.get(r.id, 0))}")
            print(f"    parameters: {_key_params(r) or '(defaults)'}")
            if r.message:
                print(f"    note: {r.message}")
            if r.status == "interrupted" and not r.complete:
                print(f"    resume with: python main.py run --resume {project.path} --run \"{r.name}\"")
    return 0


MAX_CELLS_LISTED = 50


def _print_sweep(project: Project, sw: SweepInfo, by_group: dict[str, list[RunInfo]]) -> None:
    """A sweep's summary line and one line per cell (the unfinished ones first when there are many)."""
    cells = [(c, by_group.get(c.group, [])) for c in sw.cells]
    finished = [bool(rs) and all(r.done for r in rs) for _, rs in cells]
    n_runs = sum(len(rs) for _, rs in cells)
    runs_done = sum(r.done for _, rs in cells for r in rs)
    axes = " x ".join(f"{a.get('name')} ({len(a.get('values', []))})" for a in sw.spec.get("axes", [])
                      if isinstance(a, dict)) or "no grid"
    running = any(r.status == "running" for _, rs in cells for r in rs)
    status = "finished" if all(finished) else ("running" if running else "interrupted")
    print(f"sweep {sw.name}: {axes}, {sw.spec.get('replicates', 1)} replicates per cell; cells "
          f"{sum(finished)}/{len(cells)} done, runs {runs_done}/{n_runs}, {status}")
    listed = [(c, rs) for (c, rs), f in zip(cells, finished) if not f] + \
        [(c, rs) for (c, rs), f in zip(cells, finished) if f]
    for c, rs in listed[:MAX_CELLS_LISTED]:
        gens = sum(max(r.last_generation, 0) for r in rs)
        target = sum(r.spec.generations for r in rs)
        states = ", ".join(f"{n} {st}" for st, n in sorted(Counter(r.status for r in rs).items()))
        print(f"    [{', '.join(f'{k}={v}' for k, v in c.values.items())}]: {sum(r.done for r in rs)}/{len(rs)} runs done "
              f"({states or 'no runs'}), generations {gens:,}/{target:,}")
    if len(listed) > MAX_CELLS_LISTED:
        print(f"    ... and {len(listed) - MAX_CELLS_LISTED} more cells")
    if status == "interrupted":
        print(f"    resume with: python main.py sweep --resume {project.path} --sweep \"{sw.name}\"")


def cmd_repair(args: argparse.Namespace) -> int:
    removed = remove_foreign_objects(args.file)
    if not removed:
        print(f"{args.file}: holds nothing beyond its format; nothing to remove")
    for what in removed:
        print(f"removed {what}")
    return 0


def _opening_notes(project: Project) -> None:
    """What the user should know about how the file was opened."""
    if project.full_disk:
        print(f"note: the disk is full, so {project.path} is open read-only", file=sys.stderr)
    if project.schema.foreign:
        print(f"note: {project.path} holds SQL that Collapse Lab did not write ({project.schema.describe()}); it is "
              f"read as it is and never run (main.py repair removes it)", file=sys.stderr)


def cmd_scenarios(args: argparse.Namespace) -> int:
    from core.params import Param
    from core.policies import POLICIES
    from core.scenarios import SCENARIOS
    from core.scenarios.base import LOOP_METRICS

    def show(p: Param) -> str:
        return f"    {p.name} ({p.kind}, default {p.default!r}, {p.range_text()}): {p.help}"

    print("Scenarios (set parameters with --set key=value):")
    for name, cls in SCENARIOS.items():
        print(f"  {name}: {cls.summary}")
        print(f"    samples per generation: default {cls.default_samples:,}, at most {cls.max_samples:,}")
        for p in cls.schema:
            print(show(p))
        print(f"    metrics: {', '.join(m.name for m in (*cls.metric_infos, *LOOP_METRICS))}")
    print("\nPolicies:")
    for name, pcls in POLICIES.items():
        print(f"  {name}: {pcls.summary}")
        for p in pcls.schema:
            print(show(p))
    return 0


@dataclass
class GuiHooks:
    """What the GUI layer provides to the command line (core never imports the GUI itself)."""

    open_app: Callable[[str | None], int] | None = None
    export_chart: Callable[[Project, list[RunInfo], str, str, tuple[int, int]], None] | None = None


_HOOKS = GuiHooks()


def cmd_open(path: str | None) -> int:
    if _HOOKS.open_app is None:
        print("error: the app needs PySide6 and pyqtgraph; run `make run` to install them", file=sys.stderr)
        return EXIT_FAILED
    return _HOOKS.open_app(path)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, hooks: GuiHooks | None = None) -> int:
    """Entry point; returns the process exit code. `hooks` connect the app and chart export."""
    global _HOOKS
    _HOOKS = hooks or GuiHooks()
    if not os.environ.get("COLLAPSE_LAB_DEBUG"):
        # Degenerate data (a collapsed fit, a zero probability) makes numpy warn about log(0) or 0/0 where the
        # result (inf, nan) is what is stored and shown; the warnings themselves would only be noise.
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    argv = list(sys.argv[1:] if argv is None else argv)
    previous = None
    if argv and argv[0] in ("run", "sweep") and threading.current_thread() is threading.main_thread():
        # `kill PID` stops a computation as Ctrl-C does: what was computed is saved, the runs left resumable
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _main(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str]) -> int:
    try:
        if not argv:
            return cmd_open(None)
        if argv[0] not in _COMMANDS and not argv[0].startswith("-") and \
                (os.path.exists(argv[0]) or argv[0].endswith(".collapse")):
            argv = ["open", *argv]  # `main.py FILE`, as a file manager's "Open with" calls it
        args = _parser().parse_args(argv)
        if args.command is None:
            return cmd_open(None)
        if args.command == "open":
            if not os.path.exists(args.file):
                raise ProjectError(f"{args.file}: no such file")
            return cmd_open(args.file)
        handler = {"run": cmd_run, "sweep": cmd_sweep, "export": cmd_export, "info": cmd_info,
                   "repair": cmd_repair, "scenarios": cmd_scenarios}
        return handler[args.command](args)
    except (UsageError, ParamError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ProjectError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: never a traceback for a user
        print(f"error: unexpected {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        return EXIT_FAILED
