"""The simulation loop: a generator that yields one finished generation at a time.

The CLI and the GUI worker both drive ``Simulation.run``; pausing or cancelling is simply not asking for
the next generation. Generation 0 is real data (its model is the real process); generation n >= 1 is fitted
to the training set the policy builds and sampled from that fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.policies import History, Policy, policy_class, pooled_from_params
from core.scenarios import create_scenario
from core.scenarios.base import DegenerateFit, Model, Scenario
from core.seeding import Purpose, stream
from core.spec import MAX_GENERATIONS, MAX_SAMPLES, GenerationRecord, RunEnded, RunSpec

__all__ = ["MAX_GENERATIONS", "MAX_SAMPLES", "GenerationRecord", "RunEnded", "RunSpec", "Simulation"]

HELDOUT_SIZE = 2000


@dataclass
class Drawn:
    """A generation sampled but not yet measured."""

    generation: int
    samples: np.ndarray
    model: Model
    note: str | None
    extra: dict[str, float]


class Simulation:
    """One run's loop over generations, deterministic in (spec, generation)."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        self.scenario: Scenario = create_scenario(spec.scenario, spec.scenario_params, spec.seed, spec.replicate,
                                                  spec.samples)
        self.policy: Policy = policy_class(spec.policy)(spec.policy_params, self.scenario, spec.samples)
        self.real_model: Model = self.scenario.real_model()
        self.history = History(self.real_model)
        self._ready = False

    def _rng(self, generation: int, purpose: Purpose) -> np.random.Generator:
        return stream(self.spec.seed, self.spec.replicate, generation, purpose)

    def _cast(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=self.scenario.dtype)

    def _heldout(self) -> np.ndarray:
        make = getattr(self.scenario, "heldout_data", None)
        rng = self._rng(0, Purpose.HELDOUT)
        return make(rng) if make is not None else self._cast(self.real_model.sample(rng, HELDOUT_SIZE))

    def model_of(self, generation: int, params: dict[str, Any]) -> Model:
        """The model of a generation rebuilt from its stored parameters (generation 0: the real process)."""
        return self.real_model if generation == 0 else pooled_from_params(self.scenario, params)

    def regenerate(self, generation: int, params: dict[str, Any]) -> np.ndarray:
        """A generation's full samples, recomputed from its stored model (exact when the scenario is regenerable)."""
        return self._cast(self.model_of(generation, params).sample(self._rng(generation, Purpose.SAMPLE),
                                                                   self.spec.samples))

    def restore(self, next_generation: int, load: Callable[[int], np.ndarray],
                last_model: dict[str, Any], policy_state: Any = None) -> None:
        """Prepare to continue at `next_generation` from stored samples (load(g) gives generation g's) and the
        stored parameters of the last finished generation's model; the policy's running state is
        ``policy_state`` when given (a chunk handed on), else rebuilt from the stored samples."""
        self.history.samples[0] = self._cast(load(0))
        try:
            self.history.models[next_generation - 1] = self.model_of(next_generation - 1, last_model)
        except NotImplementedError:
            pass  # e.g. a KDE is its training set; only the filter's ratio verifier would need it
        self.scenario.set_reference(self.history.samples[0], self._heldout())
        for g in self.policy.needed(next_generation):
            if g not in self.history.samples:
                self.history.samples[g] = self._cast(load(g))
        if policy_state is not None:
            self.policy.set_state(policy_state)
        else:
            self.policy.rebuild(next_generation, lambda g: self._cast(load(g)))
        self._ready = True

    def draw_first(self) -> Drawn:
        """Generation 0 sampled: real samples from the real process; fixes the run's bins and references."""
        samples = self._cast(self.real_model.sample(self._rng(0, Purpose.SAMPLE), self.spec.samples))
        self.history.samples[0] = samples
        self.history.models[0] = self.real_model
        self.scenario.set_reference(samples, self._heldout())
        self._ready = True
        return Drawn(0, samples, self.real_model, None, {"train_size": float(len(samples))})

    def draw(self, generation: int) -> Drawn:
        """Generation >= 1 fitted and sampled from the history (measuring it is ``measure``'s)."""
        assert self._ready and generation >= 1
        try:
            train, extra = self.policy.training_set(generation, self.history,
                                                    self._rng(generation, Purpose.POLICY))
        except DegenerateFit as exc:
            raise RunEnded(f"ended at generation {generation}: {exc}") from exc
        if len(train) == 0:
            raise RunEnded(f"ended at generation {generation}: the training set is empty "
                           f"({'the verifier rejected every sample' if self.spec.policy == 'filter' else 'no data'})")
        try:
            fit = self.policy.fit(train, generation, self.spec.seed, self.spec.replicate)
        except DegenerateFit as exc:
            raise RunEnded(f"ended at generation {generation}: {exc}") from exc
        samples = self._cast(fit.model.sample(self._rng(generation, Purpose.SAMPLE), self.spec.samples))
        self.history.samples[generation] = samples
        self.history.models = {generation: fit.model}
        keep = set(self.policy.needed(generation + 1))
        for g in [g for g in self.history.samples if g not in keep]:
            del self.history.samples[g]
        return Drawn(generation, samples, fit.model, fit.note, {"train_size": float(len(train)), **extra})

    @staticmethod
    def measure(sims: list[Simulation], drawn: list[Drawn]) -> list[GenerationRecord]:
        """The records of the same generation of several runs of one scenario, measured together (a list of one:
        a run alone); each run's record is the same either way."""
        scenarios = [s.scenario for s in sims]
        measured = type(scenarios[0]).record_rows(scenarios, [d.samples for d in drawn], [d.model for d in drawn],
                                                  drawn[0].generation)
        out = []
        for d, (hist, metrics, curve) in zip(drawn, measured):
            metrics.update(d.extra)
            out.append(GenerationRecord(d.generation, d.samples, d.model.to_params(), metrics, hist, curve, d.note))
        return out

    def first(self) -> GenerationRecord:
        """Generation 0: real samples from the real process; fixes the run's bins and references."""
        return self.measure([self], [self.draw_first()])[0]

    def step(self, generation: int) -> GenerationRecord:
        """Compute generation >= 1 from the history."""
        return self.measure([self], [self.draw(generation)])[0]

    def run(self, start: int = 0, load: Callable[[int], np.ndarray] | None = None,
            last_model: dict[str, Any] | None = None) -> Iterator[GenerationRecord]:
        """Yield generations start..N; with start > 0, `load` and `last_model` give the stored state."""
        if start == 0:
            yield self.first()
            start = 1
        elif not self._ready:
            if load is None or last_model is None:
                raise ValueError("resuming needs the stored samples and last model")
            self.restore(start, load, last_model)
        for g in range(start, self.spec.generations + 1):
            yield self.step(g)
