"""A read-through cache of one project's stored data for the GUI thread.

Views never read the worker's memory: they read the store through this cache, which keeps

- per run, the histogram matrix (generations x bins, int32, grown in place as generations are committed),
- per (run, metric), the metric series (also appended incrementally),
- per (run, generation), a `Frame` (counts, curve, model, note; samples loaded only on demand),

and evicts least recently used entries beyond a memory budget. After the worker commits generations (or a
run is deleted or renamed), call `invalidate(run_id)`: the next read checks the file with one cheap query
and appends what is new, or drops the run's entries when the file no longer matches what was cached
(a deleted run, a run id reused by a new run).

The cache belongs to the GUI thread and its `Project` connection; it is not thread-safe.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core import queries
from core.store import Project, RunInfo

DEFAULT_BUDGET_BYTES = 768 * 1024 * 1024
MAX_FRAMES = 512


@dataclass
class Frame:
    """One generation as the views draw it. `samples` is read from the store the first time it is used."""

    generation: int
    counts: np.ndarray
    curve: np.ndarray | None
    model: dict[str, Any]
    note: str | None
    n_samples: int
    n_stored: int
    _load: Callable[[], np.ndarray] | None = field(default=None, repr=False, compare=False)
    _samples: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def samples(self) -> np.ndarray:
        """The stored samples (all, or the documented reservoir when the run was over its budget)."""
        if self._samples is None:
            if self._load is None:
                raise RuntimeError("this frame has no sample loader")
            self._samples = self._load()
            self._samples.flags.writeable = False
        return self._samples

    @property
    def samples_loaded(self) -> bool:
        return self._samples is not None

    @property
    def nbytes(self) -> int:
        n = self.counts.nbytes + (0 if self.curve is None else self.curve.nbytes)
        return n + (0 if self._samples is None else self._samples.nbytes)


class _Growing:
    """A (generations, rows) pair backed by buffers that grow by doubling, so appends are amortised O(new)."""

    def __init__(self, width: int, dtype: Any) -> None:
        self.width = width
        self.n = 0
        self.checked = -1  # the file was read through this generation
        self.gens = np.empty(16, dtype=np.int64)
        self.rows = np.empty((16, width) if width else 16, dtype=dtype)

    def append(self, gens: np.ndarray, rows: np.ndarray) -> None:
        k = len(gens)
        if not k:
            return
        need = self.n + k
        if need > len(self.gens):
            cap = max(need, 2 * len(self.gens))
            g = np.empty(cap, dtype=self.gens.dtype)
            g[:self.n] = self.gens[:self.n]
            r = np.empty((cap, *self.rows.shape[1:]), dtype=self.rows.dtype)
            r[:self.n] = self.rows[:self.n]
            self.gens, self.rows = g, r
        self.gens[self.n:need] = gens
        self.rows[self.n:need] = rows
        self.n = need

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        g = self.gens[:self.n]
        r = self.rows[:self.n]
        g.flags.writeable = False
        r.flags.writeable = False
        return g, r

    @property
    def last(self) -> int:
        return int(self.gens[self.n - 1]) if self.n else -1

    @property
    def nbytes(self) -> int:
        return self.gens.nbytes + self.rows.nbytes


@dataclass
class _RunEntry:
    created_at: str
    count: int = -1  # generations in the file when last checked (-1: never checked)
    first: int = -1
    last: int = -1
    stale: bool = True
    hist: _Growing | None = None
    series: dict[str, _Growing] = field(default_factory=dict)
    bad_metrics: list[int] = field(default_factory=list)  # generations whose stored metrics cannot be read
    metrics_checked: int = -1  # bad_metrics covers the generations up to this one

    @property
    def nbytes(self) -> int:
        n = self.hist.nbytes if self.hist is not None else 0
        return n + sum(s.nbytes for s in self.series.values())


class RunCache:
    """Read-through LRU cache of one project's stored data (GUI thread only)."""

    def __init__(self, project: Project, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.project = project
        self.budget_bytes = int(budget_bytes)
        self._runs: OrderedDict[int, _RunEntry] = OrderedDict()
        self._frames: OrderedDict[tuple[int, int], Frame] = OrderedDict()
        self._frame_bytes = 0
        self.reads = 0  # store queries issued (for tests and benchmarks)

    # ---- bookkeeping -----------------------------------------------------------------------------------
    def invalidate(self, run_id: int | None = None) -> None:
        """New generations were committed for this run (or all runs), or it was deleted / renamed.

        Cheap: the next read of the run checks the file once and appends only what is new.
        """
        entries = self._runs.values() if run_id is None else [self._runs[run_id]] if run_id in self._runs else []
        for e in entries:
            e.stale = True

    def clear(self) -> None:
        """Forget everything."""
        self._runs.clear()
        self._frames.clear()
        self._frame_bytes = 0

    def _entry(self, run: RunInfo) -> _RunEntry:
        e = self._runs.get(run.id)
        if e is None or e.created_at != run.created_at:
            self._drop_run(run.id)
            e = _RunEntry(created_at=run.created_at)
            self._runs[run.id] = e
        self._runs.move_to_end(run.id)
        if not e.stale and run.last_generation > e.last:
            e.stale = True  # the caller knows of newer generations than we checked for
        if e.stale:
            self.reads += 1
            known = queries.GenerationSpan(e.count, e.first, e.last) if e.count > 0 else None
            span = queries.generation_span(self.project, run.id, known)
            if e.count >= 0 and not self._consistent(e, span):
                self._drop_run(run.id)
                e = _RunEntry(created_at=run.created_at)
                self._runs[run.id] = e
            e.count, e.first, e.last, e.stale = span.count, span.first, span.last, False
        return e

    @staticmethod
    def _consistent(e: _RunEntry, span: queries.GenerationSpan) -> bool:
        """Generations are only ever appended; anything else means the run was replaced or cut."""
        if e.count <= 0:
            return True
        return span.count >= e.count and span.last >= e.last and span.count - e.count <= span.last - e.last

    def _drop_run(self, run_id: int) -> None:
        self._runs.pop(run_id, None)
        for key in [k for k in self._frames if k[0] == run_id]:
            self._frame_bytes -= self._frames.pop(key).nbytes

    def _evict(self) -> None:
        total = sum(e.nbytes for e in self._runs.values()) + self._frame_bytes
        while total > self.budget_bytes and (self._frames or len(self._runs) > 1):
            if self._frames and (self._frame_bytes > self.budget_bytes // 4 or len(self._runs) <= 1):
                _, f = self._frames.popitem(last=False)
                self._frame_bytes -= f.nbytes
                total -= f.nbytes
            else:
                _, e = self._runs.popitem(last=False)
                total -= e.nbytes

    def last_generation(self, run: RunInfo) -> int:
        """The last stored generation of a run (-1: none yet), as of the last check."""
        return self._entry(run).last

    # ---- reads -------------------------------------------------------------------------------------------
    def histograms(self, run: RunInfo) -> tuple[np.ndarray, np.ndarray]:
        """(generations, counts matrix generations x bins) of a run; read-only arrays.

        Appends incrementally when the run has grown since the last call.
        """
        e = self._entry(run)
        if e.last >= 0 and (e.hist is None or e.hist.checked < e.last):
            self.reads += 1
            gens, mat = queries.histograms_after(self.project, run.id, e.hist.last if e.hist else -1)
            if len(gens) and e.hist is not None and mat.shape[1] != e.hist.width:
                e.hist = None  # the bins changed: the run was replaced; read it again from the start
                gens, mat = queries.histograms_after(self.project, run.id, -1)
            if len(gens):
                if e.hist is None:
                    e.hist = _Growing(mat.shape[1], np.int32)
                e.hist.append(gens, mat)
                self._evict()
            if e.hist is not None:
                e.hist.checked = max(e.last, e.hist.last)
        if e.hist is None:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.int32)
        return e.hist.view()

    def series(self, run: RunInfo, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(generations, values) of one metric of a run (NaN where missing); read-only arrays."""
        e = self._entry(run)
        s = e.series.get(metric)
        if s is None or s.checked < e.last:
            self.reads += 1
            gens, vals = queries.metric_series_after(self.project, run.id, metric, s.last if s else -1)
            if s is None:
                s = e.series[metric] = _Growing(0, np.float64)
            s.append(gens, vals)
            s.checked = max(e.last, s.last)
            if len(gens):
                self._evict()
        return s.view()

    def unreadable_metrics(self, run: RunInfo) -> list[int]:
        """The generations of a run whose stored metrics are damaged (left out of every series)."""
        e = self._entry(run)
        if e.metrics_checked < e.last:
            self.reads += 1
            e.bad_metrics.extend(queries.unreadable_metrics_after(self.project, run.id, e.metrics_checked))
            e.metrics_checked = e.last
        return e.bad_metrics

    def metric_names(self, run: RunInfo) -> list[str]:
        """Metric names stored for a run."""
        self.reads += 1
        return queries.metric_names(self.project, [run.id])

    def frame(self, run: RunInfo, generation: int) -> Frame:
        """One generation's counts, curve, model and note (samples on first use). ProjectError when missing."""
        key = (run.id, int(generation))
        f = self._frames.get(key)
        if f is not None:
            e = self._runs.get(run.id)
            if e is not None and (e.stale or e.created_at != run.created_at):
                self._entry(run)  # may drop this run's frames when the file changed under us
                f = self._frames.get(key)
        if f is not None:
            self._frames.move_to_end(key)
            return f
        self.reads += 1
        row = self.project.generation_row(run.id, int(generation))
        counts = np.asarray(row["histogram"], dtype=np.int64)
        counts.flags.writeable = False
        curve = row["curve"]
        f = Frame(generation=int(generation), counts=counts, curve=curve, model=row["model"], note=row["note"],
                  n_samples=int(row["n_samples"]), n_stored=int(row["n_stored"]),
                  _load=self._sample_loader(run, int(generation)))
        self._frames[key] = f
        self._frame_bytes += f.nbytes
        while len(self._frames) > MAX_FRAMES:
            _, old = self._frames.popitem(last=False)
            self._frame_bytes -= old.nbytes
        return f

    def _sample_loader(self, run: RunInfo, generation: int) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            self.reads += 1
            data = self.project.samples(run, generation)
            key = (run.id, generation)
            if key in self._frames:
                self._frame_bytes += data.nbytes
                self._evict()
            return data
        return load

    def run(self, run_id: int) -> RunInfo:
        """A fresh RunInfo from the file."""
        self.reads += 1
        return self.project.run(run_id)

    @property
    def nbytes(self) -> int:
        """Approximate memory held."""
        return sum(e.nbytes for e in self._runs.values()) + self._frame_bytes
