"""Sweep specifications: a grid of settings (the product of `--grid` axes) x replicates, each cell one RunSpec.

An axis is ``name=v1,v2,...`` (a list), ``name=a:b:n`` (n values evenly spaced from a to b, both included) or
``name=a:b:logn`` (n values evenly spaced in log from a to b). ``name`` is any parameter of the scenario or the
policy, or ``samples``, ``generations``, ``policy`` or ``scenario``. Every cell is validated (as ``main.py run``
validates its arguments) before anything is computed; a bad cell raises ParamError naming it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

from core.params import ParamError
from core.spec import MAX_GENERATIONS, MAX_REPLICATES, MAX_SAMPLES, RunSpec

MAX_AXIS_VALUES = 1000
MAX_CELLS = 10_000
SPECIAL_AXES = ("scenario", "policy", "samples", "generations")
_INT_AXES = ("samples", "generations")


@dataclass(frozen=True)
class GridAxis:
    """One swept setting and its values (as text, typed when a cell's RunSpec is built)."""

    name: str
    values: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "values": list(self.values)}


def _number(text: str, axis: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ParamError(f"--grid {axis}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise ParamError(f"--grid {axis}: {text!r} is not a finite number")
    return v


def _count(text: str, axis: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ParamError(f"--grid {axis}: the number of values must be a whole number, got {text!r}") from None
    if not 2 <= n <= MAX_AXIS_VALUES:
        raise ParamError(f"--grid {axis}: a range needs 2 to {MAX_AXIS_VALUES} values, got {n}")
    return n


def _format(v: float, integer: bool) -> str:
    if integer:
        return str(int(round(v)))
    r = round(v, 12)  # 0:1:11 gives 0.1, not 0.30000000000000004
    return repr(float(r)) if r != 0 else "0.0"


def parse_axis(text: str, integer: bool = False) -> GridAxis:
    """Parse one ``--grid name=values`` argument; `integer` rounds range values to whole numbers."""
    name, sep, rest = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ParamError(f"--grid expects name=values (a list a,b,c or a range a:b:n or a:b:logn), got {text!r}")
    rest = rest.strip()
    if not rest:
        raise ParamError(f"--grid {name}: no values given")
    if ":" in rest:
        parts = rest.split(":")
        if len(parts) != 3:
            raise ParamError(f"--grid {name}: a range is start:stop:n or start:stop:logn, got {rest!r}")
        lo, hi = _number(parts[0], name), _number(parts[1], name)
        spec = parts[2].strip().lower()
        if spec.startswith("log"):
            n = _count(spec[3:], name)
            if lo <= 0 or hi <= 0:
                raise ParamError(f"--grid {name}: a log range needs positive ends, got {parts[0]} and {parts[1]}")
            raw = [math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * k / (n - 1)) for k in range(n)]
            raw[0], raw[-1] = lo, hi
        else:
            n = _count(spec, name)
            raw = [lo + (hi - lo) * k / (n - 1) for k in range(n)]
            raw[-1] = hi
        values = tuple(_format(v, integer) for v in raw)
    else:
        values = tuple(v.strip() for v in rest.split(","))
        if any(not v for v in values):
            raise ParamError(f"--grid {name}: an empty value in {rest!r}")
        if len(values) > MAX_AXIS_VALUES:
            raise ParamError(f"--grid {name}: at most {MAX_AXIS_VALUES} values, got {len(values)}")
    dup = next((v for k, v in enumerate(values) if v in values[:k]), None)
    if dup is not None:
        raise ParamError(f"--grid {name}: the value {dup} comes twice"
                         f"{' (after rounding to whole numbers)' if ':' in rest and integer else ''}")
    return GridAxis(name, values)


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its swept values and the validated spec of its replicate 0."""

    index: int
    values: dict[str, str]
    spec: RunSpec

    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.values.items())


@dataclass
class SweepSpec:
    """A sweep: base settings, grid axes and replicates per cell. ``cells()`` expands and validates it."""

    scenario: str = "gaussian"
    policy: str = "replace"
    settings: dict[str, str] = field(default_factory=dict)
    generations: int = 100
    samples: int | None = None
    seed: int = 0
    replicates: int = 1
    axes: tuple[GridAxis, ...] = ()
    name: str | None = None
    keep_samples: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "policy": self.policy, "settings": dict(self.settings),
                "generations": self.generations, "samples": self.samples, "seed": self.seed,
                "replicates": self.replicates, "axes": [a.to_json() for a in self.axes], "name": self.name,
                "keep_samples": self.keep_samples}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SweepSpec:
        """Rebuild a stored spec, checking its shape (the values are checked again by ``cells()``)."""
        if not isinstance(d, dict):
            raise ParamError("the stored sweep specification is not an object")
        try:
            axes = tuple(GridAxis(str(a["name"]), tuple(str(v) for v in a["values"])) for a in d.get("axes", []))
            settings = {str(k): str(v) for k, v in dict(d.get("settings", {})).items()}
            spec = cls(str(d["scenario"]), str(d["policy"]), settings, _whole(d["generations"]),
                       None if d.get("samples") is None else _whole(d["samples"]), _whole(d["seed"]),
                       _whole(d["replicates"]), axes, None if d.get("name") is None else str(d["name"]),
                       None if d.get("keep_samples") is None else _whole(d["keep_samples"]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ParamError(f"the stored sweep specification is damaged ({type(exc).__name__}: {exc})") from None
        return spec

    def default_name(self) -> str:
        swept = [a.name for a in self.axes]
        parts = [] if "scenario" in swept else [self.scenario]
        if "policy" not in swept:
            parts.append(self.policy)
        return " ".join(parts + ([f"sweep {' x '.join(swept)}"] if swept else ["sweep"]))

    def cells(self) -> list[Cell]:
        """Every cell of the grid, in row-major order of the axes, each validated; ParamError names a bad cell."""
        names = [a.name for a in self.axes]
        dup = next((n for k, n in enumerate(names) if n in names[:k]), None)
        if dup is not None:
            raise ParamError(f"--grid {dup} is given twice")
        for n in names:
            if n in self.settings:
                raise ParamError(f"{n} is both swept (--grid) and set (--set); give it once")
        total = math.prod(len(a.values) for a in self.axes)
        if total > MAX_CELLS:
            raise ParamError(f"the grid has {total:,} cells; at most {MAX_CELLS:,} in one sweep")
        if not 1 <= self.replicates <= MAX_REPLICATES:
            raise ParamError(f"replicates must be in [1, {MAX_REPLICATES}], got {self.replicates}",
                             param="replicates")
        cells = []
        for index, combo in enumerate(itertools.product(*(a.values for a in self.axes))):
            values = dict(zip(names, combo))
            try:
                cells.append(Cell(index, values, self._cell_spec(values)))
            except ParamError as exc:
                where = ", ".join(f"{k}={v}" for k, v in values.items())
                raise ParamError(f"cell {index + 1} of {total} ({where}): {exc}", param=exc.param) from None
        return cells

    def _cell_spec(self, values: dict[str, str]) -> RunSpec:
        from core.scenarios import scenario_class

        scenario = values.get("scenario", self.scenario)
        policy = values.get("policy", self.policy)
        generations = _int_value(values["generations"], "generations", 1, MAX_GENERATIONS) \
            if "generations" in values else self.generations
        if "samples" in values:
            samples = _int_value(values["samples"], "samples", 1, MAX_SAMPLES)
        else:
            samples = self.samples if self.samples is not None else scenario_class(scenario).default_samples
        settings = {**self.settings, **{k: v for k, v in values.items() if k not in SPECIAL_AXES}}
        return RunSpec.build(scenario, policy, settings, generations, samples, self.seed)


def axis_is_integer(name: str, scenario: str, policy: str) -> bool:
    """Whether range values of this axis are rounded to whole numbers (an int parameter)."""
    if name in _INT_AXES:
        return True
    from core.policies import POLICIES
    from core.scenarios import SCENARIOS

    for cls in (SCENARIOS.get(scenario), POLICIES.get(policy)):
        for p in getattr(cls, "schema", ()):
            if p.name == name:
                return p.kind == "int"
    return False


def _whole(v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"expected a whole number, got {v!r}")
    return v


def _int_value(text: str, name: str, lo: int, hi: int) -> int:
    try:
        v = int(text)
    except ValueError:
        raise ParamError(f"{name} must be a whole number, got {text!r}", param=name) from None
    if not lo <= v <= hi:
        raise ParamError(f"{name} must be in [{lo}, {hi}], got {v}", param=name)
    return v
