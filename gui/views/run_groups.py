"""How selected runs are grouped and coloured, the same in every view: replicates of one group (two or more
selected) are one series, every other run its own; series i is drawn in the theme's series colour i."""

from __future__ import annotations

from core.store import RunInfo


def run_groups(runs: list[RunInfo]) -> list[tuple[str, list[RunInfo]]]:
    """(series name, member runs) in the order the runs are given: a group's name for two or more of its
    replicates, the run's name for a run on its own."""
    groups: dict[str, list[RunInfo]] = {}
    for r in runs:
        groups.setdefault(r.group, []).append(r)
    out: list[tuple[str, list[RunInfo]]] = []
    for g, members in groups.items():
        if len(members) >= 2:
            out.append((g, members))
        else:
            out.extend((m.name, [m]) for m in members)
    return out


def color_indices(runs: list[RunInfo]) -> dict[int, int]:
    """Run id -> the index of the series colour it is drawn in (replicates share their group's)."""
    return {r.id: i for i, (_, members) in enumerate(run_groups(runs)) for r in members}
