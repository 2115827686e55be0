"""Many runs at once: workers compute chunks of generations, this process alone commits them.

``compute_runs`` keeps at most ``inflight`` chunks out at a time (one per run: a run's generations depend on
each other), commits each returned chunk in generation order in transactions of at most ``GROUP_SECONDS``
of computing (group commit), and hands the run's next chunk out with the state the last one ended in. The
executor is anything with ``concurrent.futures``' ``submit``: a process pool on this machine, a Dask
cluster's ``Client.get_executor()``, or ``InlineExecutor`` (one worker: this process computes).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from core.chunks import CHUNK_SECONDS, ChunkResult, ChunkTask, GroupTask, RunState, compute_group, warm_up
from core.engine import GenerationRecord, RunEnded, Simulation
from core.params import ParamError
from core.resume_state import DamagedState, restore_stored
from core.runner import GROUP_SECONDS, safe_status
from core.store import Project, ProjectError, RunInfo


def _exit_with_parent() -> None:
    """A worker process ends when the process that started it does, even by kill -9 (which closes nothing the
    worker could notice: forked workers hold both ends of their task pipe)."""
    import signal
    import threading

    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG (Linux)
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:  # elsewhere: notice being reparented
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


MAX_RETRIES = 3  # a chunk whose Dask task is lost more often than this stops the computation


class InlineExecutor(cf.Executor):
    """Computes each task in this process when it is submitted (one worker, no process start-up)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        f: cf.Future = cf.Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: B036  (KeyboardInterrupt too: the caller sees it from result())
            f.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        return f


def _init_worker() -> None:
    _exit_with_parent()
    import warnings

    warnings.filterwarnings("ignore", category=RuntimeWarning)  # as the CLI does (COLLAPSE_LAB_DEBUG shows them)
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle


@dataclass
class Executor:
    """Where chunks are computed: a concurrent.futures pool, or a Dask client (its futures are awaited with
    ``distributed.wait``: its concurrent.futures wrapper can report a finished task as failed when the worker
    holding the result dies just after)."""

    pool: cf.Executor | None
    workers: int
    kind: str
    client: Any = None

    def submit(self, task: GroupTask) -> Any:
        if self.client is not None:
            return self.client.submit(compute_group, task, pure=False)
        assert self.pool is not None
        return self.pool.submit(compute_group, task)

    def wait_first(self, futures: list[Any]) -> set[Any]:
        """The futures among these that are done (at least one)."""
        if self.client is not None:
            from distributed import wait

            return set(wait(futures, return_when="FIRST_COMPLETED").done)
        return set(cf.wait(futures, return_when=cf.FIRST_COMPLETED).done)

    def close(self, cancel: bool = False) -> None:
        if isinstance(self.pool, cf.ProcessPoolExecutor):
            self.pool.shutdown(wait=not cancel, cancel_futures=cancel)
        elif self.pool is not None:
            self.pool.shutdown(wait=not cancel)
        if self.client is not None:
            self.client.close()


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def make_executor(workers: int | None = None, scheduler: str | None = None) -> Executor:
    """A local pool of ``workers`` processes (1: this process), or the Dask cluster at ``scheduler``.

    Call it before opening a project: local workers are forked from this process while it has no threads and
    no open files, so they start at once instead of importing everything again.
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise ProjectError("--scheduler needs dask.distributed (pip install 'dask[distributed]')") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ProjectError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        n = max(1, sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values()))
        return Executor(None, n, "dask", client)
    n = default_workers() if workers is None else workers
    if n <= 1:
        return Executor(InlineExecutor(), 1, "inline")
    import multiprocessing as mp

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    pool = cf.ProcessPoolExecutor(n, mp_context=mp.get_context(method), initializer=_init_worker)
    for f in [pool.submit(warm_up) for _ in range(n)]:  # start them now (see above)
        f.result()
    return Executor(pool, n, "processes")


def stored_state(project: Project, info: RunInfo, sim: Simulation) -> RunState:
    """The state a stored run continues from: the samples its policy still needs and its last model."""
    start = info.last_generation + 1
    last_model = restore_stored(project, info, sim, start)
    return RunState(start, {g: sim.history.samples[g] for g in sim.policy.needed(start)}, last_model,
                    sim.policy.get_state())


@dataclass
class Committed:
    """Generations just committed for one run (what progress reports)."""

    run_id: int
    first: int
    last: int
    finished: bool


def _groups(result: ChunkResult) -> Iterator[list[GenerationRecord]]:
    """The records of a chunk in runs of at most GROUP_SECONDS of computing."""
    group: list[GenerationRecord] = []
    spent = 0.0
    for rec, w in zip(result.records, result.work):
        if group and spent + w > GROUP_SECONDS:
            yield group
            group, spent = [], 0.0
        group.append(rec)
        spent += w
    if group:
        yield group


class _Run:
    """A run being computed: its row and its state between chunks."""

    def __init__(self, info: RunInfo, state: RunState | None) -> None:
        self.info, self.state = info, state
        self.next = info.last_generation + 1


MAX_GROUP = 32  # runs computed in lockstep in one task


def lockstep_groups(infos: dict[int, RunInfo], run_ids: Sequence[int], workers: int) -> list[list[int]]:
    """The runs in groups that can be computed in lockstep: consecutive runs that differ only in replicate,
    at most MAX_GROUP and few enough that every worker gets at least two groups."""
    size = max(1, min(MAX_GROUP, len(run_ids) // max(1, 2 * workers)))
    groups: list[list[int]] = []
    last_key = None
    for rid in run_ids:
        info = infos[rid]
        key = (json.dumps({**info.spec.to_json(), "replicate": 0}, sort_keys=True), info.last_generation)
        if groups and key == last_key and len(groups[-1]) < size:
            groups[-1].append(rid)
        else:
            groups.append([rid])
        last_key = key
    return groups


def compute_runs(project: Project, run_ids: Sequence[int], executor: Executor,
                 on_commit: Callable[[Committed], None] | None = None, inflight: int | None = None,
                 chunk_seconds: float = CHUNK_SECONDS, lockstep: bool = True,
                 on_skip: Callable[[str], None] | None = None) -> None:
    """Compute and commit the remaining generations of these runs on ``executor``.

    Replicates of one setting are computed in lockstep, a group per task (``lockstep=False``: a run per task);
    what each run stores is the same either way. KeyboardInterrupt (or any exception) stops handing out work,
    commits what has come back, marks the runs that were under way interrupted and re-raises. A run whose
    stored state is damaged is not resumed: `on_skip` is told why and the others go on (without it, the
    DamagedState error stops them all).
    """
    limit = max(1, inflight or 2 * executor.workers)
    infos = {r.id: r for r in project.runs()}
    missing = [rid for rid in run_ids if rid not in infos]
    if missing:
        raise ProjectError(f"{project.path}: no readable run with id {missing[0]}")
    project.enable_wal()
    claimed = [rid for rid in run_ids if not infos[rid].done]
    project.claim(claimed)  # before anything is computed
    groups = lockstep_groups(infos, run_ids, executor.workers) if lockstep else [[rid] for rid in run_ids]
    queue: deque[list[int]] = deque(groups)
    out: dict[Any, list[_Run]] = {}
    started: dict[int, _Run] = {}
    tasks: dict[Any, GroupTask] = {}
    retries: dict[Any, int] = {}

    def hand_out() -> None:
        while queue and len(out) < limit:
            members, changes = [], []
            for rid in queue.popleft():
                run = started.get(rid)
                if run is None:
                    run, change = _begin(project, infos[rid], on_skip)
                    changes.append(change)
                if run is not None:
                    started[rid] = run
                    members.append(run)
            project.set_statuses(c for c in changes if c is not None)
            if not members:
                continue
            by_next: dict[int, list[_Run]] = {}
            for run in members:  # resumed runs of one group may stand at different generations
                by_next.setdefault(run.next, []).append(run)
            for same in by_next.values():
                task = GroupTask([ChunkTask(r.info.id, r.info.spec.to_json(), r.next, r.info.spec.generations,
                                            r.state, chunk_seconds) for r in same])
                fut = executor.submit(task)
                out[fut] = same
                tasks[fut] = task

    try:
        hand_out()
        while out:
            for fut in executor.wait_first(list(out)):
                runs = out.pop(fut)
                task = tasks.pop(fut)
                try:
                    results = fut.result()
                except Exception as exc:  # the task was lost (e.g. its Dask worker died): compute it again
                    key = tuple(r.info.id for r in runs)
                    retries[key] = retries.get(key, 0) + 1
                    if executor.client is None or retries[key] > MAX_RETRIES:
                        raise ProjectError(f"computing run {runs[0].info.name!r} failed on the "
                                           f"{executor.kind} executor: {type(exc).__name__}: {exc}") from None
                    again = executor.submit(task)
                    out[again], tasks[again] = runs, task
                    continue
                going, changes = [], []
                for run, result in zip(runs, results):
                    changes.append(_commit(project, run, result, on_commit))
                    if result.state is not None:
                        run.state, run.next = result.state, result.state.next_generation
                        going.append(run.info.id)
                project.set_statuses(c for c in changes if c is not None)
                for change in changes:  # ended, and its status recorded (until then, a failure settles it)
                    if change is not None:
                        started.pop(change[0], None)
                if going:
                    queue.appendleft(going)  # continue them before starting others: bounded memory
            hand_out()
    except BaseException:
        for fut in list(out):
            fut.cancel()
        for fut, runs in list(out.items()):  # results already back are committed, not lost
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                for run, result in zip(runs, fut.result()):
                    try:
                        change = _commit(project, run, result, on_commit)
                        if change is not None:
                            project.set_statuses([change])
                            started.pop(run.info.id, None)
                    except ProjectError:
                        pass
        for run in started.values():  # the runs under way: honest statuses for what is in the file
            try:
                last = project.last_generation(run.info.id)
            except (ProjectError, sqlite3.Error):
                continue
            if last < run.info.spec.generations:
                safe_status(project, run.info.id, "interrupted", f"stopped after generation {last}; resume to "
                            "continue")
            else:
                safe_status(project, run.info.id, "finished", None)
        try:  # claimed but never handed out
            project.release(claimed, "stopped before it started; resume to continue")
        except ProjectError:
            pass
        raise


def _begin(project: Project, info: RunInfo, on_skip: Callable[[str], None] | None = None
           ) -> tuple[_Run | None, tuple[int, str, str | None] | None]:
    """Where a run continues, and the status to record for it: running, or finished when it has nothing left.
    A run whose stored state is damaged is left interrupted, with the reason, and told to `on_skip` (without
    it, DamagedState is raised)."""
    run_id = info.id
    if info.complete:
        return None, (None if info.status == "finished" else (run_id, "finished", info.message))
    state = None
    if info.last_generation >= 0:
        try:
            sim = Simulation(info.spec)
            state = stored_state(project, info, sim)
        except ParamError as exc:
            safe_status(project, run_id, "interrupted", str(exc))
            raise ProjectError(f"run {info.name!r} cannot continue: {exc}") from None
        except RunEnded as exc:
            return None, (run_id, "finished", str(exc))
        except DamagedState as exc:
            if on_skip is None:
                safe_status(project, run_id, "interrupted", str(exc)[:2000])
                raise
            on_skip(str(exc))
            return None, (run_id, "interrupted", str(exc)[:2000])
    return _Run(info, state), (run_id, "running", None)


def _commit(project: Project, run: _Run, result: ChunkResult,
            on_commit: Callable[[Committed], None] | None) -> tuple[int, str, str | None] | None:
    """Commit a chunk's generations; the run's final status when the chunk ended it (the caller records it)."""
    info = run.info
    for group in _groups(result):
        if group[0].generation == 0 and result.reference is not None:
            project.set_reference(info.id, result.reference)
        project.commit_generations(info, group, result.regenerable)
        if on_commit is not None:
            on_commit(Committed(info.id, group[0].generation, group[-1].generation, False))
    last = result.records[-1].generation if result.records else run.next - 1
    if result.error is not None:
        change = (info.id, result.error_kind, result.error)
    elif result.ended is not None:
        change = (info.id, "finished", result.ended)
    elif result.state is None:
        change = (info.id, "finished", project.last_note(info.id))
    else:
        return None
    if on_commit is not None:
        on_commit(Committed(info.id, last + 1, last, True))
    return change

