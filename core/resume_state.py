"""What a stored run continues from, read from its project file and checked before anything is computed.

The file may be damaged or crafted (core/untrusted.py): a model's parameters of the wrong shape, samples a
generation's row does not account for. Whatever goes wrong while restoring a simulation from it becomes one
``DamagedState`` error naming the run, and the run is not resumed; nothing is computed from a state that
cannot be what Collapse Lab stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from core.engine import Simulation
from core.params import ParamError
from core.spec import RunEnded
from core.store import DamagedDataError, Project, ProjectError, RunInfo


class DamagedState(ProjectError):
    """A run's stored generations cannot be continued from (the message says which run and why)."""


def stored_loader(project: Project, info: RunInfo, sim: Simulation) -> Callable[[int], np.ndarray]:
    """load(g): generation g's samples as stored, or regenerated from its model when only a reservoir was."""
    regenerable = sim.policy.regenerable()

    def load(g: int) -> np.ndarray:
        row = project.generation_row(info.id, g)
        if row["n_stored"] == row["n_samples"]:
            return project.samples(info, g)
        if not regenerable:
            raise RunEnded(f"cannot resume: generation {g} stored only a reservoir of its samples")
        return sim.regenerate(g, row["model"])

    return load


def restore_stored(project: Project, info: RunInfo, sim: Simulation, start: int,
                   policy_state: Any = None) -> dict[str, Any]:
    """Restore `sim` to continue at generation `start` of a stored run; the last stored model's parameters.

    RunEnded when the run cannot go on by design, ParamError when a file its settings name changed,
    ProjectError when the file cannot be read, DamagedState when what is stored is not what a run stores.
    """
    try:
        last_model = project.generation_row(info.id, start - 1)["model"]
        sim.restore(start, stored_loader(project, info, sim), last_model, policy_state)
        return last_model
    except DamagedDataError as exc:
        raise DamagedState(f"run {info.name!r} cannot be resumed: {project.message_of(exc)}") from None
    except (RunEnded, ParamError, ProjectError):
        raise
    except Exception as exc:  # a damaged model or samples the scenario cannot take: never computed from
        raise DamagedState(f"run {info.name!r} cannot be resumed: the generations it would continue from (up to "
                           f"{start - 1}) are damaged ({type(exc).__name__}: {str(exc)[:200]})") from None

