"""Read-only queries the GUI cache needs beyond `core.store.Project`'s read methods.

Every function takes an open `Project` (one per thread) and only reads. They exist so the GUI can read a
growing run incrementally (only the generations after the ones it already has) and check cheaply whether
what it cached is still what the file holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.schema import GENERATION_OF_ID, METRICS_READABLE, METRICS_VALUE_SQL
from core.store import DamagedDataError, Project, reading, row_key, run_keys


@dataclass(frozen=True)
class GenerationSpan:
    """How many generations a run has stored and their range (count 0: none, first = last = -1)."""

    count: int
    first: int
    last: int


@reading("reading a run's generations")
def generation_span(project: Project, run_id: int, known: GenerationSpan | None = None) -> GenerationSpan:
    """Count, first and last stored generation of a run.

    First and last are two key lookups; counting reads every row counted, so with `known` (an earlier span of
    this run: generations are only ever appended) only the rows after known.last are counted.
    """
    lo, hi = run_keys(run_id)
    first, last = project.db.execute(
        "SELECT (SELECT MIN(id) FROM generations WHERE id BETWEEN ?1 AND ?2), "
        "(SELECT MAX(id) FROM generations WHERE id BETWEEN ?1 AND ?2)", [lo, hi]).fetchone()
    if first is None or last is None:
        return GenerationSpan(0, -1, -1)
    first, last = int(first) - lo, int(last) - lo
    if known is not None and known.count > 0 and known.first == first and known.last <= last:
        start, base = row_key(run_id, known.last + 1), known.count
    else:
        start, base = lo, 0
    (count,) = project.db.execute("SELECT COUNT(*) FROM generations WHERE id BETWEEN ? AND ?",
                                  [start, hi]).fetchone()
    return GenerationSpan(base + int(count), first, last)


@reading("reading the runs")
def run_exists(project: Project, run_id: int) -> bool:
    return project.db.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is not None


@reading("reading histograms")
def histograms_after(project: Project, run_id: int, after: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(generations, int32 counts matrix generations x bins) of the generations > `after`, in order.

    An empty result has shape (0,) and (0, 0).
    """
    rows = project.db.execute(f"SELECT {GENERATION_OF_ID}, histogram FROM generations WHERE id BETWEEN ? AND ? "
                              "ORDER BY id", [row_key(run_id, after + 1), run_keys(run_id)[1]]).fetchall()
    if not rows:
        return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.int32)
    gens = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    bad = next((r[0] for r in rows if not isinstance(r[1], bytes) or len(r[1]) % 4), None)
    if bad is not None:
        raise DamagedDataError(f"{project.path}: the histogram of run {run_id} generation {bad} is damaged")
    blobs = [r[1] for r in rows]
    width = len(blobs[0]) // 4
    if any(len(b) != width * 4 for b in blobs):
        # an inconsistent row: decode one by one and pad so the matrix stays rectangular
        arrays = [np.frombuffer(b, dtype="<i4") for b in blobs]
        width = max(len(a) for a in arrays)
        mat = np.zeros((len(rows), width), dtype=np.int32)
        for i, a in enumerate(arrays):
            mat[i, :len(a)] = a
        return gens, mat
    mat = np.frombuffer(b"".join(blobs), dtype="<i4").reshape(len(rows), width)
    return gens, mat.astype(np.int32, copy=True)


@reading("reading metrics")
def metric_series_after(project: Project, run_id: int, metric: str, after: int = -1
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(generations, values) of one metric for generations > `after`; missing values are NaN."""
    rows = project.db.execute(f"SELECT (g.id & 4294967295), {METRICS_VALUE_SQL} FROM generations AS g, "
                              f"json_each(g.metrics) AS j WHERE g.id BETWEEN ? AND ? AND {METRICS_READABLE} AND j.key = ? "
                              "ORDER BY g.id",
                              [row_key(run_id, after + 1), run_keys(run_id)[1], metric]).fetchall()
    gens = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vals = np.fromiter((np.nan if r[1] is None else r[1] for r in rows), dtype=np.float64, count=len(rows))
    return gens, vals


@reading("reading metrics")
def unreadable_metrics_after(project: Project, run_id: int, after: int = -1) -> list[int]:
    """Generations > `after` of a run whose stored metrics are damaged (not JSON as Collapse Lab writes it)."""
    rows = project.db.execute(f"SELECT {GENERATION_OF_ID} FROM generations WHERE id BETWEEN ? AND ? AND NOT "
                              f"({METRICS_READABLE}) ORDER BY id",
                              [row_key(run_id, after + 1), run_keys(run_id)[1]]).fetchall()
    return [int(r[0]) for r in rows]


@reading("reading metrics")
def metric_names(project: Project, run_ids: list[int]) -> list[str]:
    """Distinct metric names stored for any of these runs, sorted."""
    if not run_ids:
        return []
    names: set[str] = set()
    for run_id in run_ids:
        rows = project.db.execute("SELECT DISTINCT j.key FROM generations AS g, json_each(g.metrics) AS j "
                                  f"WHERE g.id BETWEEN ? AND ? AND {METRICS_READABLE}", run_keys(run_id)
                                  ).fetchall()
        names.update(r[0] for r in rows if isinstance(r[0], str))
    return sorted(names)


@reading("reading notes")
def notes(project: Project, run_id: int) -> list[tuple[int, str]]:
    """(generation, note) of the generations that carry a note (e.g. 'collapsed to a point')."""
    rows = project.db.execute(f"SELECT {GENERATION_OF_ID}, note FROM generations WHERE id BETWEEN ? AND ? AND note IS NOT "
                              "NULL AND note != '' ORDER BY id", run_keys(run_id)).fetchall()
    return [(int(g), str(n)) for g, n in rows]
