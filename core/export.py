"""CSV export written from the store: tidy metrics, histograms and samples (UTF-8, header row).

Text cells that start with = + - @ (or a tab / carriage return) get a leading apostrophe so a spreadsheet
never evaluates them; numeric cells are written as plain numbers.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

import numpy as np

from core.output_files import replacing
from core.store import DamagedDataError, Project, RunInfo

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: Any) -> Any:
    """A text cell made safe for spreadsheets; numbers (also as text, e.g. a bin edge in a header) pass through."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _fmt_float(v: float | None) -> float | str:
    """A metric value as a CSV number ('' for missing); numbers are never escaped."""
    if v is None or np.isnan(v):
        return ""
    return float(v)


CsvTarget = str | os.PathLike[str] | TextIO


def _write_rows(fh: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    w = csv.writer(fh)
    w.writerow(header)
    n = 0
    for row in rows:
        w.writerow([escape_cell(c) for c in row])
        n += 1
    return n


def _write(target: CsvTarget, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write the CSV to an open text stream (e.g. stdout) or, whole or not at all, to a file."""
    if not isinstance(target, (str, os.PathLike)):
        return _write_rows(target, header, rows)
    with replacing(target, "CSV") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        return _write_rows(fh, header, rows)


def write_metrics_csv(project: Project, runs: Sequence[RunInfo], path: CsvTarget,
                      damaged: list[str] | None = None) -> int:
    """Tidy metrics: run, replicate, generation, metric, value. Returns the number of rows. Generations whose
    stored metrics are damaged are left out, and named in `damaged`."""
    rows = ((name, rep, gen, metric, _fmt_float(value))
            for name, rep, gen, metric, value in project.metrics_rows([r.id for r in runs], damaged))
    return _write(path, ("run", "replicate", "generation", "metric", "value"), rows)


def _is_2d(run: RunInfo) -> bool:
    return run.reference.get("bins", {}).get("kind") == "2d"


def _bin_rows(run: RunInfo) -> list[tuple[Any, ...]]:
    """Per bin: (left, right) on x, plus (bottom, top) on y for 2-D bins."""
    bins = run.reference.get("bins", {})
    kind = bins.get("kind")
    if kind == "1d":
        e = bins["edges"]
        return [(e[i], e[i + 1]) for i in range(len(e) - 1)]
    if kind == "2d":
        xe, ye = bins["x_edges"], bins["y_edges"]
        return [(xe[i], xe[i + 1], ye[j], ye[j + 1]) for i in range(len(xe) - 1) for j in range(len(ye) - 1)]
    labels = bins.get("labels")
    if labels is not None:
        return [(label, label) for label in labels]
    return []


def write_histograms_csv(project: Project, runs: Sequence[RunInfo], path: CsvTarget,
                         damaged: list[str] | None = None) -> int:
    """run, replicate, generation, bin_left, bin_right, count; categories give their label as both edges. With
    2-D runs, bin_left/bin_right are the x edges and two more columns, bin_bottom and bin_top, the y edges.
    Damaged generations are left out and named in `damaged`."""
    header = ["run", "replicate", "generation", "bin_left", "bin_right", "count"]
    two_d = any(_is_2d(r) for r in runs)
    if two_d:
        header += ["bin_bottom", "bin_top"]

    def rows() -> Iterator[tuple[Any, ...]]:
        for run in runs:
            bins = _bin_rows(run)
            gens, mat = project.histograms(run.id, damaged)
            for g, counts in zip(gens, mat):
                for i, c in enumerate(counts):
                    edges = bins[i] if i < len(bins) else (i, i + 1)
                    row = (run.name, run.replicate, int(g), edges[0], edges[1], int(c))
                    yield row + (tuple(edges[2:4]) or ("", "")) if two_d else row

    return _write(path, header, rows())


def _decoder(run: RunInfo) -> tuple[str, Any] | None:
    """A column name and a function turning one stored sample into readable text, for token/category runs."""
    ref = run.reference
    vocab = ref.get("vocab")
    if vocab is not None and run.unit_shape:
        return "text", lambda row: " ".join(vocab[t] for t in row if 0 <= t < len(vocab))
    labels = ref.get("bins", {}).get("labels")
    if labels is not None and not run.unit_shape and run.dtype.kind == "i":
        return "label", lambda v: labels[v] if 0 <= v < len(labels) else ""
    return None


def write_samples_csv(project: Project, runs: Sequence[RunInfo], path: CsvTarget,
                      generations: Sequence[int] | None = None, damaged: list[str] | None = None) -> int:
    """run, replicate, generation, index, value (or value_0..value_k for vector samples) of stored samples;
    token and category runs get one more column with the words (`text`) or the category label (`label`).
    Generations whose samples are damaged are left out and named in `damaged` (without it, they raise)."""
    width = max((int(np.prod(r.unit_shape)) if r.unit_shape else 1) for r in runs) if runs else 1
    decoders = {r.id: _decoder(r) for r in runs}
    extra = sorted({d[0] for d in decoders.values() if d is not None})
    header = ("run", "replicate", "generation", "index") + (("value",) if width == 1 else
                                                           tuple(f"value_{i}" for i in range(width))) + tuple(extra)

    def rows() -> Iterator[tuple[Any, ...]]:
        for run in runs:
            wanted = range(run.last_generation + 1) if generations is None else generations
            dec = decoders[run.id]
            for g in wanted:
                if g < 0 or g > run.last_generation:
                    continue
                try:
                    x = project.samples(run, g)
                except DamagedDataError as exc:
                    if damaged is None:
                        raise
                    damaged.append(project.message_of(exc))
                    continue
                pad = [""] * (width - (x[0].size if len(x) else 0))
                for i, vals in enumerate(x.reshape(len(x), -1).tolist()):
                    words = [dec[1](vals if run.unit_shape else vals[0]) if c == dec[0] else ""
                             for c in extra] if dec else [""] * len(extra)
                    yield (run.name, run.replicate, g, i, *vals, *pad, *words)

    return _write(path, header, rows())


def write_sweeps_csv(project: Project, runs: Sequence[RunInfo], path: CsvTarget) -> int:
    """One row per run of a sweep: sweep, cell, run, replicate and one column per swept setting (empty where a
    sweep does not sweep it), to join with the metrics CSV on `run`. Returns the number of rows."""
    sweeps, _ = project.sweeps()
    by_group: dict[str, list[RunInfo]] = {}
    for r in runs:
        by_group.setdefault(r.group, []).append(r)
    axes: list[str] = []
    for sw in sweeps:
        for c in sw.cells:
            axes.extend(k for k in c.values if k not in axes)
    rows = [(sw.name, c.cell + 1, r.name, r.replicate, *(c.values.get(a, "") for a in axes))
            for sw in sweeps for c in sw.cells for r in by_group.get(c.group, [])]
    return _write(path, ("sweep", "cell", "run", "replicate", *axes), rows)
