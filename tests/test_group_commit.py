"""Group commit: small generations share a transaction, but never more than GROUP_SECONDS of computing, so a
crash loses at most that much work (the README's project-file section states the bound)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from core import runner
from core.chunks import ChunkResult
from core.coordinator import _groups
from core.engine import GenerationRecord, RunSpec
from core.runner import GROUP_SECONDS, create_runs, drive
from core.store import Project


def test_drive_closes_a_transaction_once_it_holds_group_seconds_of_work(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    step = 0.012  # a fake clock: every reading is one 12 ms generation later
    clock = itertools.count()
    monkeypatch.setattr(runner.time, "perf_counter", lambda: next(clock) * step)
    batches: list[list[int]] = []
    original = Project.commit_generations

    def spy(self, run, records, regenerable=True):  # noqa: ANN001
        records = list(records)
        batches.append([r.generation for r in records])
        return original(self, run, records, regenerable)

    monkeypatch.setattr(Project, "commit_generations", spy)
    with Project(tmp_path / "g.collapse", create=True) as p:
        (rid,) = create_runs(p, RunSpec.build("gaussian", "replace", {}, 60, 50, 1))
        seen = [rec.generation for rec in drive(p, rid)]
        assert p.last_generation(rid) == 60
    assert seen == list(range(61))
    assert [g for b in batches for g in b] == list(range(61))  # each generation once, in order
    most = int(np.ceil(GROUP_SECONDS / step))
    assert all(len(b) <= most for b in batches) and max(len(b) for b in batches) == most
    assert len(batches) < 61  # they really were grouped


def _record(g: int) -> GenerationRecord:
    return GenerationRecord(g, np.zeros(1, np.float32), {}, {}, np.zeros(1, np.int64), None, None)


def test_a_chunk_is_committed_in_transactions_of_at_most_group_seconds() -> None:
    work = [0.02, 0.02, 0.02, 0.2, 0.001, 0.001, 0.049, 0.03]
    res = ChunkResult(0, [_record(g) for g in range(len(work))], work, None)
    groups = [[r.generation for r in grp] for grp in _groups(res)]
    assert groups == [[0, 1], [2], [3], [4, 5], [6], [7]]
    for grp in groups:  # a group exceeds the bound only when one generation alone does
        assert sum(work[g] for g in grp) <= GROUP_SECONDS or len(grp) == 1
