"""Property tests: a damaged project file is read as data or one clear ProjectError, and never more.

A project file is untrusted input. Whatever happens to it (a row edited with any value, bits flipped,
the file cut short), reading it gives data, one ``ProjectError`` or a run listed as damaged in
``Project.read_runs()``'s second element: never another exception, never a hang, and damage to one run
never hides or changes the others. The command line (``info``, ``export``, ``run --resume``) says what
is wrong in one line, never "unexpected" or a traceback, and resuming never changes the generations of
runs that were not damaged.

One real project (runs of several scenarios and policies, two sweeps, a run stopped half way that stored
only a reservoir of its samples) is built once; every example damages a copy of it with plain sqlite3 or
at the byte level and reads it with every reader there is. The cases these properties found are kept at the
end as named examples (minimal reproductions), so each one fails on its own until it is fixed.
COLLAPSE_LAB_DAMAGE_EXAMPLES=20 runs twenty times as many examples (a soak; about 10 minutes).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from core import export, queries
from core.cli import main
from core.engine import RunSpec
from core.runner import create_runs, create_sweep, drive
from core.store import Project, ProjectError, RunInfo
from core.sweep import SweepSpec, parse_axis
from core.untrusted import MAX_METRICS_CHARS, MAX_SMALL_CHARS

OP_SECONDS = 5.0  # any one read of a damaged file returns within this
MAX_MESSAGE = 4000  # a clear message is not a dump of what the file holds
ERROR = "ProjectError"
MAX_ODD_NAMES = 6  # metric names a damaged row brings, asked of every run
TABLES = ("runs", "generations", "samples", "sweeps", "sweep_cells", "meta")
SCALE = float(os.environ.get("COLLAPSE_LAB_DAMAGE_EXAMPLES", "1"))  # more examples: e.g. 20 for a long soak


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


COMMON = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                        HealthCheck.too_slow, HealthCheck.data_too_large])

# name, scenario, policy, settings, generations, samples, seed
RUNS = [
    ("gauss", "gaussian", "replace", {}, 4, 30, 1),
    ("cat", "categorical", "replace", {}, 3, 50, 2),
    ("text", "text", "replace", {}, 3, 20, 3),
    ("mix", "gaussian", "mix", {"alpha": 0.5}, 3, 30, 4),
    ("gmm2d", "gmm", "replace", {"dims": 2}, 3, 40, 5),
    ("digits", "digits", "replace", {}, 2, 20, 6),
]
PARTIAL = "partial"  # stopped after generation 1 of 6; stores a reservoir of 10 of its 20 samples


# ---- the undamaged project and what every reader gives for it ------------------------------------------
def _build(path: Path) -> None:
    with Project(path, create=True) as p:
        for name, scenario, policy, params, gens, samples, seed in RUNS:
            (rid,) = create_runs(p, RunSpec.build(scenario, policy, params, gens, samples, seed), name=name)
            for _ in drive(p, rid):
                pass
        for name, axis in (("sw-a", "alpha=0,0.5"), ("sw-b", "alpha=0.2,1")):
            spec = SweepSpec(policy="mix", axes=(parse_axis(axis),), generations=2, samples=10, seed=7, name=name)
            _, ids = create_sweep(p, spec)
            for rid in ids:
                for _ in drive(p, rid):
                    pass
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 6, 20, 8), name=PARTIAL, samples_budget=10)
        it = drive(p, rid, group_seconds=0)
        next(it)
        next(it)
        it.close()


def canon(x: Any) -> Any:
    """A value made comparable with ==: arrays by dtype, shape and bytes, floats by repr (NaN equals NaN)."""
    if isinstance(x, np.ndarray):
        return ("array", x.dtype.str, x.shape, x.tobytes())
    if isinstance(x, np.dtype):
        return ("dtype", x.str)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, tuple((f.name, canon(getattr(x, f.name))) for f in dataclasses.fields(x)))
    if isinstance(x, dict):
        return ("dict", tuple((canon(k), canon(v)) for k, v in x.items()))
    if isinstance(x, list | tuple):
        return (type(x).__name__, tuple(canon(v) for v in x))
    if isinstance(x, set | frozenset):
        return ("set", tuple(sorted(repr(canon(v)) for v in x)))
    if isinstance(x, np.generic):
        return canon(x.item())
    if isinstance(x, float):
        return ("float", repr(x))
    if isinstance(x, bool | int | str | bytes) or x is None:
        return (type(x).__name__, x)
    raise AssertionError(f"a reader returned a {type(x).__name__}: {x!r:.200}")


CSV_KEYS = {"metrics csv", "histograms csv", "samples csv", "samples csv g0", "sweeps csv"}
NO_SERIES = canon((np.array([], dtype=np.int64), np.array([], dtype=np.float64)))


def check_message(text: str, what: str) -> None:
    assert text.strip(), f"{what}: an empty message"
    assert len(text) <= MAX_MESSAGE, f"{what}: a message of {len(text):,} characters: {text[:300]!r}..."
    assert "Traceback" not in text, f"{what}: {text[:300]!r}"


@dataclasses.dataclass
class Observed:
    """What every reader gave for one file: per run id, per operation, a canonical value or ERROR."""

    opened: bool = False
    listed: list[int] = dataclasses.field(default_factory=list)  # readable runs, in order
    damaged: list[str] = dataclasses.field(default_factory=list)  # read_runs' messages
    runs: dict[int, dict[Any, Any]] = dataclasses.field(default_factory=dict)
    sweeps: dict[int, Any] = dataclasses.field(default_factory=dict)
    sweeps_damaged: list[str] = dataclasses.field(default_factory=list)
    everything: dict[str, Any] = dataclasses.field(default_factory=dict)  # whole-project reads
    infos: dict[int, RunInfo] = dataclasses.field(default_factory=dict)


class Reader:
    """Calls a reader, keeps its canonical result or ERROR; any other exception fails the test."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def call(self, into: dict[Any, Any], key: Any, fn: Callable[[], Any]) -> Any:
        started = time.monotonic()
        try:
            value = fn()
            into[key] = canon(value)
            return value
        except ProjectError as exc:
            check_message(str(exc), f"{key}")
            into[key] = ERROR
            return None
        finally:
            took = time.monotonic() - started
            assert took < OP_SECONDS, f"{key} took {took:.1f} s"

    def csv(self, into: dict[Any, Any], key: Any, write: Callable[[Path], Any]) -> None:
        """A CSV export: its text when it succeeds; when it fails, no file (whole or not at all)."""
        target = self.out_dir / "out.csv"
        target.unlink(missing_ok=True)

        def run() -> tuple[Any, str]:
            n = write(target)
            return n, target.read_text(encoding="utf-8")

        if self.call(into, key, run) is None:
            assert not target.exists(), f"{key} failed but left {target.name} behind"


def observe(path: Path, out_dir: Path, base: Observed | None = None, csv_runs: set[int] | None = None,
            all_histograms: bool = True) -> Observed:
    """Every reader on the file at `path` (read-only), for every run it lists and every run `base` knew.

    Each run's own CSV exports are written for the runs in `csv_runs` (and runs `base` did not know; None: for
    every run); the exports of all runs together always, but the histograms only with `all_histograms` (they
    are most of the time an example takes; the other runs' CSVs are made of what is compared anyway)."""
    obs = Observed()
    rd = Reader(out_dir)
    started = time.monotonic()
    try:
        project = Project(path, readonly=True)
    except ProjectError as exc:
        check_message(str(exc), "opening")
        return obs
    obs.opened = True
    with project:
        ev = obs.everything
        listing = rd.call(ev, "read_runs", project.read_runs)
        runs, damaged = listing if listing is not None else ([], [])
        for d in damaged:
            check_message(d, "a damaged run's message")
        obs.listed, obs.damaged = [r.id for r in runs], damaged
        obs.infos = {r.id: r for r in runs}
        # the runs the file lists, and those a reader (the GUI's cache) knew from before the damage
        known: dict[int, RunInfo] = {**(base.infos if base else {}), **obs.infos}
        names: set[str] = set()
        for rid in known:
            got = rd.call({}, "names", lambda rid=rid: queries.metric_names(project, [rid]))
            names.update(got or [])
            got = rd.call({}, "names", lambda rid=rid: project.metric_names(rid))
            names.update(got or [])
        # the GUI asks every selected run for every name any of them has (a few of the odd ones will do)
        if base is not None:
            usual = {k[1] for r in base.runs.values() for k in r if isinstance(k, tuple) and k[0] == "series"}
            names = usual | set(sorted(names - usual, key=lambda n: (len(n), n))[:MAX_ODD_NAMES])
        names |= {"fit_var", 'no such "metric', "a.b\\c"}
        for rid, info in known.items():
            csv = csv_runs is None or rid in csv_runs or base is None or rid not in base.infos
            obs.runs[rid] = _observe_run(project, rd, rid, info, rid in obs.infos, base, sorted(names), csv)
        got = rd.call(ev, "sweeps", project.sweeps)
        if got is not None:
            for d in got[1]:
                check_message(d, "a damaged sweep's message")
            obs.sweeps = {sw.id: canon(sw) for sw in got[0]}
            obs.sweeps_damaged = got[1]
        rd.call(ev, "sweep_names", project.sweep_names)
        rd.call(ev, "run_sizes", project.run_sizes)
        rd.call(ev, "taken_names", project.taken_names)
        rd.call(ev, "size", project.size_bytes)
        rd.call(ev, "gone run", lambda: queries.run_exists(project, 999))
        rd.call(ev, "gone span", lambda: queries.generation_span(project, 999))
        rd.csv(ev, "all metrics", lambda t: export.write_metrics_csv(project, runs, t))
        if all_histograms:
            rd.csv(ev, "all histograms", lambda t: export.write_histograms_csv(project, runs, t))
        rd.csv(ev, "all samples", lambda t: export.write_samples_csv(project, runs, t))
        rd.csv(ev, "all samples g0 g1", lambda t: export.write_samples_csv(project, runs, t, [0, 1]))
        rd.csv(ev, "all sweeps", lambda t: export.write_sweeps_csv(project, runs, t))
    took = time.monotonic() - started
    assert took < 4 * OP_SECONDS, f"reading the whole file took {took:.1f} s"
    return obs


def _observe_run(project: Project, rd: Reader, rid: int, info: RunInfo, listed: bool, base: Observed | None,
                 names: list[str], csv: bool) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    if listed:
        out["info"] = canon(info)
        rd.call(out, "run", lambda: project.run(rid))
    before = base.infos[rid].last_generation if base and rid in base.infos else -1
    last = info.last_generation
    upto = max(before, last if last < 64 else -1)  # a damaged row may claim generation 4e9: not every one before
    gens = sorted({*range(upto + 2), last, last + 1} - {-1})
    for g in gens:
        rd.call(out, ("samples", g), lambda g=g: project.samples(info, g))
        rd.call(out, ("generation_row", g), lambda g=g: project.generation_row(rid, g))
        rd.call(out, ("histogram", g), lambda g=g: project.histogram(rid, g))
    rd.call(out, "histograms", lambda: project.histograms(rid))
    rd.call(out, "metric_names", lambda: project.metric_names(rid))
    for m in names:
        rd.call(out, ("series", m), lambda m=m: project.metric_series(rid, m))
        rd.call(out, ("series_after", m), lambda m=m: queries.metric_series_after(project, rid, m))
        rd.call(out, ("series_after 0", m), lambda m=m: queries.metric_series_after(project, rid, m, 0))

    def rows() -> tuple[list[Any], list[str]]:
        damaged: list[str] = []
        got = list(project.metrics_rows([rid], damaged))
        for d in damaged:
            check_message(d, "a damaged metrics message")
        return got, damaged

    rd.call(out, "metrics_rows", rows)
    rd.call(out, "last_generation", lambda: project.last_generation(rid))
    rd.call(out, "last_note", lambda: project.last_note(rid))
    rd.call(out, "span", lambda: queries.generation_span(project, rid))
    rd.call(out, "span known", lambda: queries.generation_span(project, rid, queries.GenerationSpan(1, 0, 0)))
    rd.call(out, "exists", lambda: queries.run_exists(project, rid))
    rd.call(out, "histograms_after", lambda: queries.histograms_after(project, rid))
    rd.call(out, "histograms_after 0", lambda: queries.histograms_after(project, rid, 0))
    rd.call(out, "unreadable_after", lambda: queries.unreadable_metrics_after(project, rid))
    rd.call(out, "q metric_names", lambda: queries.metric_names(project, [rid]))
    rd.call(out, "notes", lambda: queries.notes(project, rid))
    if not csv:
        return out
    rd.csv(out, "metrics csv", lambda t: export.write_metrics_csv(project, [info], t))
    rd.csv(out, "histograms csv", lambda t: export.write_histograms_csv(project, [info], t))
    rd.csv(out, "samples csv", lambda t: export.write_samples_csv(project, [info], t))
    rd.csv(out, "samples csv g0", lambda t: export.write_samples_csv(project, [info], t, [0]))
    rd.csv(out, "sweeps csv", lambda t: export.write_sweeps_csv(project, [info], t))
    return out


class Baseline:
    """The undamaged project: its file, what every reader gave for it, its rows (a plain class: its repr is
    short in Hypothesis' reports)."""

    def __init__(self, path: Path, work: Path, observed: Observed, rows: dict[str, list[int]],
                 columns: dict[str, list[str]], values: dict[tuple[str, int, str], Any],
                 cli_metrics: list[list[str]], size: int, page_size: int) -> None:
        self.path, self.work, self.observed = path, work, observed
        self.rows, self.columns, self.values = rows, columns, values  # table -> rowids, columns; cell values
        self.cli_metrics = cli_metrics  # `export --metrics-csv` of the undamaged file
        self.size, self.page_size = size, page_size

    def __repr__(self) -> str:
        return f"Baseline({self.path.name}, {len(self.observed.infos)} runs)"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    work = tmp_path_factory.mktemp("damage")
    path = work / "base.collapse"
    _build(path)
    observed = observe(path, work)
    assert observed.opened and not observed.damaged and not observed.sweeps_damaged
    assert [k for k, v in observed.everything.items() if v == ERROR] == []
    for rid, got in observed.runs.items():  # only the generation after the last is missing
        last = observed.infos[rid].last_generation
        assert [k for k, v in got.items() if v == ERROR] == [(op, last + 1) for op in
                                                               ("samples", "generation_row", "histogram")]
    con = sqlite3.connect(path)
    try:
        rows = {t: [r[0] for r in con.execute(f"SELECT rowid FROM {t} ORDER BY rowid")] for t in TABLES}
        columns = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in TABLES}
        values = {(t, rowid, c): v for t in TABLES for c in columns[t]
                  for rowid, v in con.execute(f'SELECT rowid, "{c}" FROM {t}')}
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()
    assert all(rows.values())
    out = work / "metrics.csv"
    with _captured() as (_, err):
        assert main(["export", str(path), "--metrics-csv", str(out)]) == 0, err.getvalue()
    with open(out, newline="", encoding="utf-8") as fh:
        cli_metrics = list(csv.reader(fh))
    return Baseline(path, work, observed, rows, columns, values, cli_metrics, path.stat().st_size, page_size)


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


@contextlib.contextmanager
def damaged_copy(base: Baseline) -> Iterator[tuple[Path, Path]]:
    """A copy of the project in a fresh folder, and that folder (for outputs)."""
    with tempfile.TemporaryDirectory(dir=base.work) as d:
        target = Path(d) / "damaged.collapse"
        shutil.copyfile(base.path, target)
        yield target, Path(d)


# ---- damage: one row edited with plain sqlite3 ---------------------------------------------------------
class Value:
    """A new value for a cell: an SQL expression (with parameters); its repr is a short label."""

    def __init__(self, label: str, sql: str = "?", params: tuple[Any, ...] = ()) -> None:
        self.label, self.sql, self.params = label, sql, params

    def __repr__(self) -> str:
        return self.label


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 80 else f"{text[:60]}...<{len(v):,} {type(v).__name__}>"


def P(v: Any) -> Value:  # noqa: N802
    return Value(_short(v), "?", (v,))


def S(expr: str) -> Value:  # noqa: N802
    return Value(expr, expr)


def _deep(n: int, kind: str = "list") -> str:
    return "[" * n + "]" * n if kind == "list" else '{"a": ' * n + "1" + "}" * n


def _bad_utf8(text: str, at: int = 0) -> Value:
    """`text` stored as TEXT with an invalid UTF-8 byte inserted at `at`."""
    raw = text.encode("utf-8")
    at = min(max(at, 0), len(raw))
    raw = raw[:at] + b"\xff" + raw[at:]
    return Value(f"text {_short(text)} with byte 0xff at {at}", f"CAST(x'{raw.hex()}' AS TEXT)")


NASTY: list[Value] = [
    P(None), P(0), P(-1), P(1), P(2), P(2**31 - 1), P(2**31), P(2**32), P(2**32 + 1), P(2**62), P(2**63 - 1),
    P(-(2**63)), P(float("inf")), P(float("-inf")), P(-0.0), P(0.5), P(1e308), P(4294967296.0),
    S("(0.0 / 0.0)"),  # SQLite's NaN is NULL
    P(""), P(" "), P("0"), P("1"), P("null"), P("true"), P("[]"), P("{}"), P('"text"'), P("[1, 2, 3]"),
    P("[" * 100_000), P("{" * 100_000), P('{"a": ' * 50_000), P(_deep(1500)), P(_deep(1500, "dict")),
    P(_deep(2100)), P('{"a": NaN}'), P('{"a": Infinity, "b": -Infinity}'), P('{"a": 1e999}'), P("[1, 2"),
    P('{"a": [1, {"b": null}]}'), P('{"bins": [], "vocab": 5, "grid": "x", "labels": 3}'),
    P('{"bins": {"kind": "1d", "edges": 7}}'), P('{"bins": {"kind": "2d", "x_edges": [], "y_edges": null}}'),
    P('{"vocab": {"a": 1}, "bins": {"labels": [1, 2]}}'), P('{"a": 1, "a": "x"}'), P('{"\\u0000": 1}'),
    P(json.dumps({f"k{i}": i for i in range(30_000)})), P("x" * (MAX_METRICS_CHARS + 1)),
    P('{"k": "' + "x" * (MAX_SMALL_CHARS + 1) + '"}'), P("[" + "0, " * 200_000 + "0]"),
    P("\x00"), P("a\x00b"), P("inf"), P("-inf"), P("nan"), P("finished"), P("running"), P("interrupted"),
    P("failed"), P("<f4"), P("<i4"), P(">f4"), P("|b1"), P("<f8"), P("[64]"), P("[2]"), P("[30]"), P("[-1]"),
    P("[1e9]"), P("[0]"), P(f"{socket.gethostname()}:1"), P(f"{socket.gethostname()}:1:x"), P("x:1:2:3"),
    P(f"{socket.gethostname()}:99999999999999999999"), P(":"), P("=cmd()"), P("\u202e\u0007"), P("n" * 5000),
    _bad_utf8(""), _bad_utf8("{}", 1), _bad_utf8('{"a": "b"}', 7), S("CAST(x'c328' AS TEXT)"),
    S("CAST(x'eda080' AS TEXT)"), S("CAST(x'00' AS TEXT)"),
    P(b""), P(b"\x00"), P(b"\xff"), P(b"\xff\xff\xff"), P(b"\x00\x00\xc0\x7f" * 10), P(b"\x00\x00\x80\x7f" * 30),
    P(b"\xff\xff\xff\xff" * 25), P(b"{}"), P(b'{"a": 1}'), P(b"[" * 1000), P(b"\xff{}"), S("zeroblob(40000)"),
    S("zeroblob(1)"), P("abc"), P("0000"),
]
NASTY_ARRAYS = [None, True, False, 0, -1, 1, 2**31, 2**63, 10**30, 0.5, -0.0, float("nan"), float("inf"),
                float("-inf"), "", "inf", "nan", "x" * 1000, [], {}, [None], [0] * 10_000, {"": None},
                {"kind": "2d"}, "\x00deep"]
DEEP_MARKER = json.dumps("\x00deep")


def _paths(obj: Any, limit: int = 400) -> list[tuple[Any, ...]]:
    """Paths to the nodes of a JSON value, breadth first, at most `limit`."""
    out: list[tuple[Any, ...]] = []
    todo: list[tuple[tuple[Any, ...], Any]] = [((), obj)]
    while todo and len(out) < limit:
        path, node = todo.pop(0)
        out.append(path)
        if isinstance(node, dict):
            todo.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            todo.extend(((*path, i), v) for i, v in enumerate(node[:50]))
    return out


def _mutated_json(text: str, path: tuple[Any, ...], action: str, new: Any) -> Value:
    obj = json.loads(text)
    holder, key = None, None
    node = obj
    for k in path:
        holder, key, node = node, k, node[k]
    if action == "replace":
        repl = new
    elif action == "wrap":
        repl = [node]
    elif action == "stringify":
        repl = json.dumps(node)
    elif action == "add key":
        repl = {**node, "extra": new} if isinstance(node, dict) else [*node, new] if isinstance(node, list) else new
    else:  # delete
        repl = None
    if holder is None:
        obj = repl
    elif action == "delete":
        del holder[key]
    else:
        holder[key] = repl
    dumped = json.dumps(obj, allow_nan=True).replace(DEEP_MARKER, _deep(3000))
    return Value(f"json {action} at {list(path)[:8]}: {_short(new) if action in ('replace', 'add key') else ''}",
                 "?", (dumped,))


def derived(current: Any) -> st.SearchStrategy[Value]:
    """Values made from the cell's own value: near misses are what crafted files hold."""
    options: list[st.SearchStrategy[Value]] = []
    if isinstance(current, str):
        try:
            parsed = json.loads(current)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict | list):
            options.append(st.builds(_mutated_json, st.just(current), st.sampled_from(_paths(parsed)),
                                     st.sampled_from(["replace", "replace", "delete", "wrap", "stringify", "add key"]),
                                     st.sampled_from(NASTY_ARRAYS)))
        n = len(current)
        options += [
            st.integers(0, max(n - 1, 0)).map(lambda k: Value(f"cut to {k} chars", "?", (current[:k],))),
            st.integers(0, n).map(lambda k: _bad_utf8(current, k)),
            st.just(Value("as a BLOB", "?", (current.encode("utf-8"),))),
            st.just(Value("repeated", "?", (current * 2,))),
        ]
    elif isinstance(current, bytes):
        n = len(current)
        options += [
            st.integers(0, max(n - 1, 0)).map(lambda k: Value(f"cut to {k} bytes", "?", (current[:k],))),
            st.integers(1, 8).map(lambda k: Value(f"{k} bytes more", "?", (current + b"\x00" * k,))),
            st.just(Value("as TEXT", "CAST(? AS TEXT)", (current,))),
            st.just(Value("twice", "?", (current * 2,))),
        ]
        if n >= 4:
            words = st.sampled_from([b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f", b"\xff\xff\x7f\x7f", b"\xff\xff\xff\xff",
                                     b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80"])
            options.append(st.tuples(st.integers(0, n // 4 - 1), words).map(
                lambda a: Value(f"word {a[0]} set to {a[1].hex()}", "?",
                                (current[:4 * a[0]] + a[1] + current[4 * a[0] + 4:],))))
    elif isinstance(current, int):
        options.append(st.sampled_from([current + 1, current - 1, -current, current + 2**32, current * 2**32,
                                        current - 2**32]).map(P))
        options.append(st.just(Value(f"{current} as text", "?", (str(current),))))
        options.append(st.just(Value(f"{current} + 0.5", "?", (current + 0.5,))))
    return st.one_of(options) if options else st.sampled_from(NASTY)


class RowEdit:
    def __init__(self, table: str, rowid: int, column: str, value: Value) -> None:
        self.table, self.rowid, self.column, self.value = table, rowid, column, value

    def __repr__(self) -> str:
        return f"RowEdit({self.table} rowid {self.rowid}: {self.column} = {self.value!r})"


@st.composite
def row_edits(draw: st.DrawFn, base: Baseline) -> RowEdit:
    table = draw(st.sampled_from(TABLES))
    rowid = draw(st.sampled_from(base.rows[table]))
    column = draw(st.sampled_from(base.columns[table]))
    current = base.values[(table, rowid, column)]
    value = draw(st.one_of(st.sampled_from(NASTY), derived(current)))
    return RowEdit(table, rowid, column, value)


@dataclasses.dataclass
class Touched:
    """What an edit changed: the runs and sweeps whose rows it changed (the others must read as before)."""

    applied: bool
    runs: set[int]
    sweeps: set[int]


def apply_edit(path: Path, edit: RowEdit) -> Touched:
    """Edit one cell with plain sqlite3, as anyone can: CHECK and NOT NULL constraints do not hold for a file
    from elsewhere, so they are bypassed (NOT NULL by a schema without it while writing, then restored)."""
    table, col = edit.table, edit.column
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA ignore_check_constraints = ON")
        before = {r[0] for r in con.execute(f"SELECT rowid FROM {table}")}
        old = con.execute(f'SELECT "{col}" FROM {table} WHERE rowid = ?', [edit.rowid]).fetchone()[0]
        update = f'UPDATE {table} SET "{col}" = {edit.value.sql} WHERE rowid = ?'
        try:
            con.execute(update, [*edit.value.params, edit.rowid])
        except sqlite3.IntegrityError as exc:
            if "NOT NULL" not in str(exc):
                return Touched(False, set(), set())  # e.g. a duplicate key: the file stays as it was
            con.close()
            _without_not_null(path, table, update, [*edit.value.params, edit.rowid])
            con = sqlite3.connect(path, isolation_level=None)
        except (sqlite3.Error, OverflowError):
            return Touched(False, set(), set())  # e.g. text as a rowid
        after = {r[0] for r in con.execute(f"SELECT rowid FROM {table}")}
        new_ids = after - before or {edit.rowid}
        new = con.execute(f"SELECT CASE typeof(\"{col}\") WHEN 'integer' THEN \"{col}\" END FROM {table} WHERE "
                          f"rowid IN ({','.join(map(str, new_ids))})").fetchone()[0]
    finally:
        con.close()
    runs: set[int] = set()
    sweeps: set[int] = set()
    if table == "runs":
        runs = {edit.rowid, *new_ids}
    elif table in ("generations", "samples"):
        runs = {edit.rowid >> 32, *(i >> 32 for i in new_ids)}
    elif table == "sweeps":
        sweeps = {edit.rowid, *new_ids}
    elif table == "sweep_cells":
        sweeps = {old if col == "sweep_id" else base_sweep(path, edit.rowid)}
        if col == "sweep_id" and isinstance(new, int):
            sweeps.add(new)
    return Touched(True, runs, sweeps)


def base_sweep(path: Path, rowid: int) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT sweep_id FROM sweep_cells WHERE rowid = ?", [rowid]).fetchone()[0]
    finally:
        con.close()


def _without_not_null(path: Path, table: str, update: str, params: list[Any]) -> None:
    def schema(con: sqlite3.Connection, sql: str) -> None:
        con.execute("PRAGMA writable_schema = ON")
        con.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", [sql, table])
        con.execute("PRAGMA writable_schema = OFF")

    con = sqlite3.connect(path, isolation_level=None)
    original = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone()[0]
    schema(con, original.replace("NOT NULL", ""))
    con.close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA ignore_check_constraints = ON")
    con.execute(update, params)
    con.close()
    con = sqlite3.connect(path, isolation_level=None)
    schema(con, original)
    con.close()


def assert_untouched_as_before(obs: Observed, base: Observed, touched: Touched, rows_in_runs: int) -> None:
    """Runs and sweeps the edit did not touch read exactly as in the undamaged file; nothing is hidden."""
    assert obs.opened, "one edited row made the whole file unreadable"
    assert obs.everything["read_runs"] != ERROR, "one edited row hid every run"
    assert len(obs.listed) + len(obs.damaged) == rows_in_runs, (
        f"{rows_in_runs} run rows, but {len(obs.listed)} runs and {len(obs.damaged)} damaged ones listed")
    for rid, before in base.runs.items():
        if rid in touched.runs:
            continue
        assert rid in obs.listed, f"run {rid}, not edited, is no longer listed: {obs.damaged}"
        now = obs.runs[rid]
        differ = []
        for key in before.keys() | now.keys():
            if key in CSV_KEYS and key not in now:
                continue  # not written for this run this time
            absent = NO_SERIES if isinstance(key, tuple) and key[0].startswith("series") else "absent"
            if now.get(key, absent) != before.get(key, absent):
                differ.append(key)
        assert not differ, f"run {rid}, not edited, reads differently: {differ[:6]} (e.g. " + \
            f"{str(now.get(differ[0]))[:300]} instead of {str(before.get(differ[0]))[:300]})"
    assert obs.everything.get("sweeps") != ERROR, "one edited row hid every sweep"
    for sid, before in base.sweeps.items():
        if sid not in touched.sweeps:
            assert obs.sweeps.get(sid) == before, f"sweep {sid}, not edited, reads differently"


def _count_runs(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    finally:
        con.close()


@pytest.mark.timeout(120)
@settings(COMMON, max_examples=examples(45))
@given(data=st.data())
def test_one_edited_row_changes_nothing_else(baseline: Baseline, data: st.DataObject) -> None:
    edit = data.draw(row_edits(baseline), label="edit")
    with damaged_copy(baseline) as (path, out_dir):
        touched = apply_edit(path, edit)
        note(f"{touched}")
        obs = observe(path, out_dir, baseline.observed, csv_runs=touched.runs, all_histograms=False)
        assert_untouched_as_before(obs, baseline.observed, touched, _count_runs(path))


# ---- damage: bytes -------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ByteDamage:
    flips: tuple[tuple[int, int], ...] = ()  # (offset, bit)
    page: tuple[int, int, str] | None = None  # (start, length) overwritten with zeros, 0xff or a pattern
    length: int | None = None  # cut to this many bytes

    def apply(self, path: Path) -> None:
        data = bytearray(path.read_bytes())
        for offset, bit in self.flips:
            if offset < len(data):
                data[offset] ^= 1 << bit
        if self.page is not None:
            start, length, fill = self.page
            chunk = {"zeros": b"\x00", "ones": b"\xff", "pattern": b"\x0d\x00\x00\x00\x01\x0f\xf8"}[fill]
            end = min(len(data), start + length)
            data[start:end] = (chunk * (end - start))[:end - start]
        if self.length is not None:
            del data[self.length:]
        path.write_bytes(bytes(data))


@st.composite
def byte_damage(draw: st.DrawFn, base: Baseline) -> ByteDamage:
    """Bits flipped (in the header, the first page holding the schema, or anywhere), a page overwritten, or the
    file cut short (to a page boundary or not): one kind at a time, so most damaged files still open."""
    size, page = base.size, base.page_size
    kind = draw(st.sampled_from(["flips", "flips", "flips", "page", "cut"]))
    if kind == "flips":
        offset = st.one_of(st.integers(0, 99), st.integers(100, page - 1), st.integers(page, size - 1))
        return ByteDamage(tuple(draw(st.lists(st.tuples(offset, st.integers(0, 7)), min_size=1, max_size=8))))
    if kind == "page":
        start = draw(st.integers(0, size // page - 1)) * page
        return ByteDamage(page=(start, page, draw(st.sampled_from(["zeros", "ones", "pattern"]))))
    length = draw(st.integers(0, size) | st.sampled_from([0, 15, 16, 99, 100, 101, page - 1, page, page + 1,
                                                          2 * page, size - page, size - 1]))
    return ByteDamage(length=length)


@pytest.mark.timeout(120)
@settings(COMMON, max_examples=examples(30))
@given(data=st.data())
def test_damaged_bytes_give_data_or_one_clear_error(baseline: Baseline, data: st.DataObject) -> None:
    damage = data.draw(byte_damage(baseline), label="damage")
    with damaged_copy(baseline) as (path, out_dir):
        damage.apply(path)
        started = time.monotonic()
        observe(path, out_dir, baseline.observed, csv_runs=set())
        assert time.monotonic() - started < 4 * OP_SECONDS


# ---- the command line on a damaged file ----------------------------------------------------------------
def _damage(data: st.DataObject, base: Baseline, path: Path) -> Touched | None:
    """A row edit (what it touched) or byte damage (None: anything may be touched)."""
    if data.draw(st.booleans(), label="row edit"):
        edit = data.draw(row_edits(base), label="edit")
        return apply_edit(path, edit)
    data.draw(byte_damage(base), label="damage").apply(path)
    return None


def cli(argv: list[str]) -> tuple[int, str, str]:
    with _captured() as (out, err):
        started = time.monotonic()
        code = main(argv)
        took = time.monotonic() - started
    stderr = err.getvalue()
    assert isinstance(code, int), f"{argv[0]} returned {code!r}"
    bad = [line for line in stderr.splitlines() if "Traceback" in line or "unexpected" in line]
    assert not bad, f"{argv[0]}: {bad[0][:1000]}"
    assert took < 6 * OP_SECONDS, f"{argv[0]} took {took:.1f} s"
    if code != 0:
        assert "error: " in stderr, f"{argv[0]} exited {code} without saying why: {stderr[-500:]!r}"
    for line in stderr.splitlines():
        if line.startswith(("error: ", "warning: ")):
            check_message(line, argv[0])
    return code, out.getvalue(), stderr


def _names(base: Baseline, touched: Touched) -> dict[int, str]:
    return {rid: info.name for rid, info in base.observed.infos.items() if rid not in touched.runs}


@pytest.mark.timeout(120)
@settings(COMMON, max_examples=examples(25))
@given(data=st.data())
def test_info_and_export_say_what_is_wrong(baseline: Baseline, data: st.DataObject) -> None:
    with damaged_copy(baseline) as (path, out_dir):
        touched = _damage(data, baseline, path)
        check_cli(baseline, path, out_dir, touched)


def check_cli(base: Baseline, path: Path, out_dir: Path, touched: Touched | None) -> None:
    """`info` and `export` of a damaged file: an exit code and one clear line; after a row edit, `info` lists
    every run not edited, and an export that succeeds holds their metrics as before."""
    code, stdout, stderr = cli(["info", "--runs", str(path)])
    assert code in (0, 1)
    if touched is not None:
        assert code == 0, f"one edited row made `info` fail: {stderr[-500:]}"
        for name in _names(base, touched).values():
            assert f"- {name}: " in stdout, f"run {name!r}, not edited, is not listed by info"
    code, _, _ = cli(["info", str(path)])
    assert code in (0, 1)
    outs = {k: out_dir / f"{k}.csv" for k in ("metrics", "histograms", "samples", "sweeps")}
    code, _, _ = cli(["export", str(path), *(a for k, p in outs.items() for a in (f"--{k}-csv", str(p)))])
    assert code in (0, 1)
    if code == 0 and touched is not None:
        with open(outs["metrics"], newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        for name in _names(base, touched).values():
            assert [r for r in rows if r[0] == name] == [r for r in base.cli_metrics if r[0] == name], (
                f"the exported metrics of run {name!r}, not edited, changed")


def _stored(path: Path, base: Baseline, keep: set[int]) -> dict[int, dict[Any, Any]]:
    """The stored generations (samples, rows, histograms) of these runs, as far as the undamaged file had them."""
    out: dict[int, dict[Any, Any]] = {}
    with Project(path, readonly=True) as p:
        for rid in keep:
            info = base.observed.infos[rid]
            got: dict[Any, Any] = {}
            for g in range(info.last_generation + 1):
                got[("samples", g)] = canon(p.samples(info, g))
                got[("generation_row", g)] = canon(p.generation_row(rid, g))
                got[("histogram", g)] = canon(p.histogram(rid, g))
            out[rid] = got
    return out


@pytest.mark.timeout(120)
@settings(COMMON, max_examples=examples(15))
@given(data=st.data())
def test_writing_to_a_damaged_file_keeps_the_other_runs(baseline: Baseline, data: st.DataObject) -> None:
    with damaged_copy(baseline) as (path, _):
        touched = _damage(data, baseline, path)
        check_write(baseline, path, touched)


def check_write(base: Baseline, path: Path, touched: Touched | None) -> None:
    """A writable open, then `run --resume` and `sweep --resume`: exit 0 or 1 with one clear line; after a row
    edit the open succeeds, the generations of the runs not edited are as they were, and the run stopped half
    way is resumed to its end unless it was the one edited."""
    try:
        Project(path).close()
    except ProjectError as exc:
        assert touched is None, f"one edited row made the file refuse a writable open: {exc}"
        check_message(str(exc), "a writable open")
    code, _, _ = cli(["run", "--resume", str(path), "-q", "--workers", "1"])
    assert code in (0, 1)
    code, _, _ = cli(["sweep", "--resume", str(path), "-q", "--workers", "1"])
    assert code in (0, 1)
    if touched is None:
        return
    keep = set(base.observed.infos) - touched.runs
    expected = {rid: {k: v for k, v in base.observed.runs[rid].items()
                      if isinstance(k, tuple) and k[0] in ("samples", "generation_row", "histogram")
                      and k[1] <= base.observed.infos[rid].last_generation} for rid in keep}
    assert _stored(path, base, keep) == expected, "resuming changed the generations of a run not edited"
    partial = next(rid for rid, info in base.observed.infos.items() if info.name == PARTIAL)
    if partial in keep:
        with Project(path, readonly=True) as p:
            info = p.run(partial)
        assert info.complete, f"run {PARTIAL!r}, not edited, was not resumed: {info.status} {info.message}"


def test_the_properties_can_fail(baseline: Baseline) -> None:
    """The checks above see what they look for: an edit of one run's samples changes that run's reads only,
    and a reader's foreign exception is not taken for a ProjectError."""
    gauss = next(rid for rid, info in baseline.observed.infos.items() if info.name == "gauss")
    edit = RowEdit("samples", gauss << 32 | 1, "data", P(b"\x00\x00\x80\x3f" * 30))  # 1.0 thirty times
    with damaged_copy(baseline) as (path, out_dir):
        touched = apply_edit(path, edit)
        assert touched.applied and touched.runs == {gauss}
        obs = observe(path, out_dir, baseline.observed)
        assert obs.runs[gauss][("samples", 1)] != baseline.observed.runs[gauss][("samples", 1)]
        assert_untouched_as_before(obs, baseline.observed, touched, _count_runs(path))
        with pytest.raises(AssertionError, match="reads differently"):
            assert_untouched_as_before(obs, baseline.observed, Touched(True, set(), set()), _count_runs(path))
    with pytest.raises(KeyError):
        Reader(baseline.work).call({}, "x", lambda: {}["x"])
    assert math.isnan(float(canon(float("nan"))[1]))


# ---- the cases the properties found, kept as examples (each a minimal reproduction) ---------------------
def _key(base: Baseline, name: str, generation: int) -> int:
    """The row id of a run's generation."""
    return next(rid for rid, info in base.observed.infos.items() if info.name == name) << 32 | generation


def _root_page(base: Baseline, table: str) -> int:
    con = sqlite3.connect(base.path)
    try:
        return con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    finally:
        con.close()


def _leaf_page(base: Baseline, table: str) -> int:
    con = sqlite3.connect(base.path)
    try:
        row = con.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno LIMIT 1",
                          [table]).fetchone()
    except sqlite3.Error:
        row = None  # SQLite without the dbstat table
    finally:
        con.close()
    if row is None:
        pytest.skip("no dbstat in this SQLite")
    return row[0]


def _schema_name_offset(base: Baseline, name: str) -> int:
    """Where the name of a table is stored in the schema (page 1)."""
    head = base.path.read_bytes()[:base.page_size]
    at = head.find(b"table" + name.encode())
    assert at > 0
    return at + len("table")


KNOWN_ROW_EDITS: dict[str, Callable[[Baseline], RowEdit]] = {
    "sweep name not UTF-8": lambda b: RowEdit("sweeps", b.rows["sweeps"][0], "name", _bad_utf8("sw-a", 0)),
    "sweep cell group not UTF-8": lambda b: RowEdit("sweep_cells", b.rows["sweep_cells"][0], "group_name",
                                                    _bad_utf8("sw-a [alpha=0]", 0)),
    "histogram as text": lambda b: RowEdit("generations", _key(b, "gauss", 1), "histogram", P("abc")),
    "histogram a byte longer": lambda b: RowEdit(
        "generations", _key(b, "gauss", 1), "histogram",
        P(b.values[("generations", _key(b, "gauss", 1), "histogram")] + b"\x00")),
    "generation as text": lambda b: RowEdit("generations", _key(b, "gauss", 1), "generation", P("x")),
    "generation NULL": lambda b: RowEdit("generations", _key(b, "gauss", 1), "generation", P(None)),
    "note not UTF-8": lambda b: RowEdit("generations", _key(b, "gauss", 1), "note", _bad_utf8("", 0)),
    "metrics a JSON number": lambda b: RowEdit("generations", _key(b, "gauss", 1), "metrics", P("0")),
    "metrics a JSON array": lambda b: RowEdit("generations", _key(b, "gauss", 1), "metrics", P("[1, 2, 3]")),
    "a metric value an object": lambda b: RowEdit("generations", _key(b, "gauss", 1), "metrics",
                                                  P('{"fit_var": {"": null}}')),
    "histogram a number": lambda b: RowEdit("generations", _key(b, "gauss", 1), "histogram", P(0.5)),
    "histogram NULL": lambda b: RowEdit("generations", _key(b, "gauss", 1), "histogram", P(None)),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", KNOWN_ROW_EDITS)
def test_known_row_edits(baseline: Baseline, case: str) -> None:
    edit = KNOWN_ROW_EDITS[case](baseline)
    with damaged_copy(baseline) as (path, out_dir):
        touched = apply_edit(path, edit)
        assert touched.applied
        obs = observe(path, out_dir, baseline.observed, csv_runs=touched.runs, all_histograms=False)
        assert_untouched_as_before(obs, baseline.observed, touched, _count_runs(path))
        check_cli(baseline, path, out_dir, touched)


KNOWN_BYTE_DAMAGE: dict[str, Callable[[Baseline], ByteDamage]] = {
    "a table name in the schema not UTF-8": lambda b: ByteDamage(
        flips=((_schema_name_offset(b, "sweep_cells"), 7),)),
    "generations root page zeroed": lambda b: ByteDamage(
        page=((_root_page(b, "generations") - 1) * b.page_size, b.page_size, "zeros")),
    "generations leaf page overwritten": lambda b: ByteDamage(
        page=((_leaf_page(b, "generations") - 1) * b.page_size, b.page_size, "pattern")),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", KNOWN_BYTE_DAMAGE)
def test_known_byte_damage(baseline: Baseline, case: str) -> None:
    damage = KNOWN_BYTE_DAMAGE[case](baseline)
    with damaged_copy(baseline) as (path, out_dir):
        damage.apply(path)
        observe(path, out_dir, baseline.observed, csv_runs=set())
        check_cli(baseline, path, out_dir, None)
        try:
            Project(path).close()
        except ProjectError as exc:
            check_message(str(exc), "a writable open")


KNOWN_CLI_EDITS: dict[str, Callable[[Baseline], RowEdit]] = {
    "sweep axes not a list": lambda b: RowEdit("sweeps", b.rows["sweeps"][0], "spec", P('{"axes": 5}')),
    "sweep axis values not a list": lambda b: RowEdit("sweeps", b.rows["sweeps"][0], "spec",
                                                      P('{"axes": [{"name": "a", "values": 5}]}')),
    "a samples row's run_id not UTF-8": lambda b: RowEdit("samples", _key(b, "gauss", 0), "run_id",
                                                          _bad_utf8("", 0)),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", KNOWN_CLI_EDITS)
def test_known_cli_cases(baseline: Baseline, case: str) -> None:
    edit = KNOWN_CLI_EDITS[case](baseline)
    with damaged_copy(baseline) as (path, out_dir):
        touched = apply_edit(path, edit)
        assert touched.applied
        check_cli(baseline, path, out_dir, touched)


def _run_id(base: Baseline, name: str) -> int:
    return next(rid for rid, info in base.observed.infos.items() if info.name == name)


KNOWN_WRITE_EDITS: dict[str, Callable[[Baseline], RowEdit]] = {
    "a finished run's status not UTF-8": lambda b: RowEdit("runs", _run_id(b, "gauss"), "status",
                                                           _bad_utf8("finished", 0)),
    "an interrupted run's writer not UTF-8": lambda b: RowEdit("runs", _run_id(b, PARTIAL), "writer",
                                                               _bad_utf8("host:1", 0)),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", KNOWN_WRITE_EDITS)
def test_known_write_cases(baseline: Baseline, case: str) -> None:
    edit = KNOWN_WRITE_EDITS[case](baseline)
    with damaged_copy(baseline) as (path, _):
        touched = apply_edit(path, edit)
        assert touched.applied
        check_write(baseline, path, touched)
