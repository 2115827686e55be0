"""Metric primitives against direct computations; parameter schemas; degenerate data never crashes."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from core.engine import RunSpec, Simulation
from core.export import escape_cell
from core.metrics import FineGrid1D, kl_divergence, plugin_entropy
from core.params import Param, ParamError, resolve
from core.policies import POLICIES
from core.scenarios import SCENARIOS


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.floats(-3, 3), st.floats(0.2, 3), st.integers(5, 3000))
def test_binned_w1_is_within_one_fine_bin_of_exact(seed: int, shift: float, scale: float, n: int) -> None:
    rng = np.random.default_rng(seed)
    ref = rng.normal(0, 1, 1000).astype(np.float32)
    x = (rng.normal(shift, scale, n)).astype(np.float32)
    grid = FineGrid1D(-8, 8, 100)
    w = grid.w1(grid.counts(x), grid.counts(ref))
    exact = wasserstein_distance(x.astype(np.float64), ref.astype(np.float64))
    assert abs(w - exact) <= grid.fine_width + 1e-6


def test_fine_counts_cover_every_sample_and_flows() -> None:
    grid = FineGrid1D(0, 1, 10, fine_per_bin=4)
    x = np.array([-5, 0, 0.05, 0.999, 1.0, 7], dtype=np.float32)
    c = grid.counts(x)
    assert c.fine.sum() == len(x) == c.n
    assert c.fine[0] == 1 and c.fine[-1] == 2  # below 0; 1.0 and 7 are at/after the right edge
    assert grid.display_counts(c).tolist() == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert grid.display_counts(c).tolist() == c.fine[1:-1].reshape(10, 4).sum(axis=1).tolist()
    # share outside [0.25, 0.75): the sample at -5, 0, 0.05 below, 0.999, 1.0 and 7 above
    assert grid.mass_outside(c, grid.edge_index(0.25), grid.edge_index(0.75)) == 6
    assert grid.mass_outside(c, grid.edge_index(0.0), grid.edge_index(1.0)) == 3  # the flows


def test_kl_smoothing_and_entropy() -> None:
    p = np.array([10, 0, 5])
    assert kl_divergence(p, p) == 0.0
    assert np.isfinite(kl_divergence(p, np.array([0, 15, 0])))
    manual = (p + 0.5) / (p + 0.5).sum()
    q = np.array([3, 3, 9]) + 0.5
    q = q / q.sum()
    assert kl_divergence(p, np.array([3, 3, 9])) == pytest.approx(float(np.sum(manual * np.log(manual / q))))
    assert plugin_entropy(np.array([5, 5]), 1.0) == pytest.approx(np.log(2))
    assert plugin_entropy(np.array([7]), 0.5) == pytest.approx(np.log(0.5))


def test_real_generation_metrics_are_sane() -> None:
    sim = Simulation(RunSpec.build("gaussian", "replace", {}, 1, 100_000, 3))
    rec = sim.first()
    m = rec.metrics
    assert m["var_ratio"] == 1.0 and m["w1"] == pytest.approx(0, abs=1e-9) and m["kl"] == 0.0
    assert m["tail_mass"] == pytest.approx(0.02, abs=0.003)
    assert m["entropy"] == pytest.approx(0.5 * np.log(2 * np.pi * np.e), abs=0.01)
    assert m["nll"] == pytest.approx(0.5 * np.log(2 * np.pi * np.e), abs=0.05)


@settings(max_examples=100, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_param_range(value: float) -> None:
    p = Param("alpha", "float", 0.5, "h", minimum=0.0, maximum=1.0)
    if 0.0 <= value <= 1.0:
        assert p.parse(repr(value)) == value
    else:
        with pytest.raises(ParamError, match=r"alpha must be in \[0, 1\]"):
            p.parse(repr(value))


def test_param_kinds() -> None:
    assert Param("n", "int", 1, "h", minimum=1).parse("7") == 7
    with pytest.raises(ParamError, match="whole number"):
        Param("n", "int", 1, "h").parse("7.5")
    assert Param("b", "bool", False, "h").parse("yes") is True
    with pytest.raises(ParamError, match="one of: a, b"):
        Param("c", "choice", "a", "h", choices=("a", "b")).parse("z")
    with pytest.raises(ParamError, match="finite"):
        Param("x", "float", 0.0, "h").parse("nan")
    with pytest.raises(ParamError, match="unknown parameter 'zz'"):
        resolve([Param("x", "float", 0.0, "h")], {"zz": "1"})


@given(st.text())
def test_escape_cell_never_leaves_a_formula(text: str) -> None:
    out = escape_cell(text)
    number = re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
    assert out == text if number else not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out.endswith(text)


@pytest.mark.parametrize("text", ["-5.77769", "+3", "-1e-05", "-.5"])
def test_escape_cell_leaves_numbers_written_as_text(text: str) -> None:
    assert escape_cell(text) == text


@pytest.mark.parametrize("text", ["-1+2", "=1", "-5.7 ", "+A1", "-inf", "@SUM(A1)"])
def test_escape_cell_escapes_formulas_that_look_almost_numeric(text: str) -> None:
    assert escape_cell(text) == "'" + text


def test_scenario_and_policy_parameter_names_do_not_collide() -> None:
    policy_names = {p.name for cls in POLICIES.values() for p in cls.schema}
    for cls in SCENARIOS.values():
        clash = {p.name for p in cls.schema} & policy_names
        assert not clash, f"{cls.name} parameters {clash} clash with policy parameters"


def test_every_scenario_documents_its_params_and_metrics() -> None:
    for cls in SCENARIOS.values():
        assert cls.summary and cls.title
        for p in cls.schema:
            assert p.help and len(p.help) > 10
        assert cls.metric_infos and all(m.help for m in cls.metric_infos)


@pytest.mark.parametrize(
    ("scenario", "settings", "samples", "expect"),
    [
        ("gaussian", {}, 1, "collapsed to a point"),  # one sample: zero variance at the first fit
        ("gmm", {}, 2, "distinct"),
    ],
)
def test_degenerate_data_records_a_note_and_continues(scenario: str, settings: dict, samples: int,
                                                      expect: str) -> None:
    recs = list(Simulation(RunSpec.build(scenario, "replace", settings, 5, samples, 1)).run())
    assert len(recs) == 6
    assert any(r.note and expect in r.note for r in recs)
    last = recs[-1].metrics
    assert last["std"] == 0.0 or scenario == "gmm"
    assert np.isfinite(last["kl"]) and np.isfinite(last["w1"])


def test_filter_that_rejects_everything_ends_the_run_cleanly() -> None:
    from core.engine import RunEnded

    # Two samples a generation, each kept only if it is among the likeliest 0.1% of real values (|x| < 0.00125
    # sigma0): the first verified generation keeps none, bar a chance of about 1 in 500.
    sim = Simulation(RunSpec.build("gaussian", "filter", {"verifier": "likelihood", "threshold": "0.999"}, 200, 2, 1))
    with pytest.raises(RunEnded, match="verifier rejected every sample"):
        for _ in sim.run():
            pass
