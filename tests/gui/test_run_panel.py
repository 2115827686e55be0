"""The Run setup form on its own, offscreen: Start and the message stay visible in a short dock, limits read the
same in tooltips and messages, whole numbers in e-notation, what a scenario switch keeps, load_spec, labels."""

from __future__ import annotations

import html
import itertools
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow, QWidget

from core.engine import RunSpec
from core.params import Param
from core.policies import POLICIES
from core.scenarios import SCENARIOS
from gui.panels.number_fields import NumberBox, WholeNumberBox, format_grouped, format_number, read_whole
from gui.panels.run_panel import GENERATIONS, REPLICATES, SEED, RunPanel, label_text, range_text


@pytest.fixture
def panel(qtbot: Any) -> RunPanel:
    rp = RunPanel()
    qtbot.addWidget(rp)
    return rp


def _number_fields(rp: RunPanel) -> list[tuple[Param, QWidget]]:
    return [(rp._fields[n].param, rp.field(n)) for n in rp.field_names()
            if isinstance(rp.field(n), (WholeNumberBox, NumberBox))]


# ---- 1. Start and the message are always visible ------------------------------------------------------------------
def _window(qtbot: Any, width: int, height: int) -> tuple[QMainWindow, RunPanel, QDockWidget]:
    """A window laid out as the app's: a centre, Run setup docked right above a second dock."""
    win = QMainWindow()
    qtbot.addWidget(win)
    win.setCentralWidget(QLabel("centre"))
    rp = RunPanel()
    setup = QDockWidget("Run setup", win)
    setup.setWidget(rp)
    other = QDockWidget("What am I seeing?", win)
    other.setWidget(QLabel("help"))
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, setup)
    win.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, other)
    win.splitDockWidget(setup, other, Qt.Orientation.Vertical)
    win.resize(width, height)
    win.show()
    qtbot.waitExposed(win)
    win.resizeDocks([setup], [340], Qt.Orientation.Horizontal)
    column = height - 140
    win.resizeDocks([setup, other], [int(column * 0.55), column - int(column * 0.55)], Qt.Orientation.Vertical)
    return win, rp, setup


def _settle() -> None:
    for _ in range(3):  # layout requests post further layout requests
        QApplication.processEvents()


def _fully_visible(widget: QWidget, win: QMainWindow) -> bool:
    _settle()
    if not widget.isVisible():
        return False
    shown = widget.visibleRegion().boundingRect()
    top_left = widget.mapTo(win, widget.rect().topLeft())
    inside = win.rect().contains(top_left) and win.rect().contains(widget.mapTo(win, widget.rect().bottomRight()))
    return shown == widget.rect() and inside


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_start_and_the_message_stay_visible_when_the_form_is_long(qtbot: Any, size: tuple[int, int]) -> None:
    win, rp, setup = _window(qtbot, *size)
    for scenario, policy in (("csv", "multi-source"), ("text", "filter"), ("gaussian", "replace")):
        rp.set_values(scenario=scenario, policy=policy)
        rp.samples_spin.lineEdit().setText("-5")  # a message under the form
        assert rp.error_text()
        assert _fully_visible(rp.start_button, win), (scenario, policy, size)
        assert _fully_visible(rp.error_label, win), (scenario, policy, size)
        assert _fully_visible(rp.stop_button, win)
        rp.set_values(samples=500)
    rp.set_values(scenario="csv", policy="multi-source")
    _settle()
    assert rp.form.height() >= rp.form.minimumSizeHint().height()  # the fields are never squeezed ...
    form_taller = rp.form.height() > rp.scroll.viewport().height()
    assert form_taller == rp.scroll.verticalScrollBar().isVisible()  # ... they scroll instead of pushing Start out
    # a very short dock still shows the buttons; the fields scroll
    win.resizeDocks([setup], [230], Qt.Orientation.Vertical)
    _settle()
    assert _fully_visible(rp.start_button, win) and rp.scroll.verticalScrollBar().isVisible()
    assert rp.sizeHint().height() > rp.scroll.viewport().height()  # the dock is asked for the whole form


# ---- 2. one limit, written one way -------------------------------------------------------------------------------------
def _outside(p: Param) -> list[Any]:
    """Values just outside p's range."""
    out: list[Any] = []
    step = 1 if p.kind == "int" else 0.5
    if p.maximum is not None:
        out.append(p.maximum if p.exclusive_max else p.maximum + step * max(1.0, abs(p.maximum)))
    if p.minimum is not None:
        out.append(p.minimum if p.exclusive_min else p.minimum - step * max(1.0, abs(p.minimum)))
    return [int(v) if p.kind == "int" else float(v) for v in out]


def test_the_tooltip_and_the_message_quote_the_same_limit(panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="text", policy="replace")
    assert "Allowed for text: [1, 500,000]." in rp.samples_spin.toolTip()
    for typed in ("600000", "60000000", "1e9"):
        rp.samples_spin.lineEdit().setText(typed)
        assert "at most 500,000 samples" in rp.error_text(), typed
    rp.samples_spin.lineEdit().setText("0")
    assert rp.error_text() == "samples must be in [1, 500,000], got 0"
    rp.set_values(samples=500)
    for p, spin in ((GENERATIONS, rp.generations_spin), (SEED, rp.seed_spin), (REPLICATES, rp.replicates_spin)):
        assert f"Allowed: {range_text(p)}." in spin.toolTip()
        good = spin.text()
        for value in _outside(p):
            spin.lineEdit().setText(str(value))
            assert rp.error_text() == f"{p.name} must be in {range_text(p)}, got {format_grouped(value)}"
        spin.lineEdit().setText(good)
    assert range_text(GENERATIONS) == "[1, 1,000,000]" and range_text(REPLICATES) == "[1, 1,000]"

    for scenario, policy in itertools.zip_longest(SCENARIOS, POLICIES, fillvalue="replace"):
        rp.set_values(scenario=scenario, policy=policy)
        for p, box in _number_fields(rp):
            good = box.text()
            assert f"Allowed: {html.escape(range_text(p))}." in box.toolTip()
            for value in _outside(p):
                box.lineEdit().setText(str(value))
                assert rp.error_text() == f"{p.name} must be in {range_text(p)}, got {format_grouped(value)}", p
                assert not rp.start_button.isEnabled() and box.styleSheet()
            box.lineEdit().setText(good)
            assert not box.styleSheet()
    rp.set_values(scenario="categorical", policy="replace")
    rp.field("top_k").lineEdit().setText("100001")
    assert rp.error_text() == "top_k must be in [0, 100,000], got 100,001"
    assert "Allowed: [0, 100,000]." in rp.field("top_k").toolTip()


def test_numbers_are_written_with_thousands_separators() -> None:
    assert [format_grouped(v) for v in (500_000, 1e6, -1e6, 0.25, 1e-6, 1e308, 2**63 - 1, 0)] == [
        "500,000", "1,000,000", "-1,000,000", "0.25", "1e-6", "1e308", "9,223,372,036,854,775,807", "0"]


# ---- 3. whole numbers -------------------------------------------------------------------------------------------------
def test_whole_numbers_read_e_notation_and_thousands_separators() -> None:
    for text, value in (("1000", 1000), ("1e3", 1000), ("1E3", 1000), ("1e+03", 1000), ("2.5e3", 2500),
                        ("1,000", 1000), ("-1,000,000", -1_000_000), ("1_000", 1000), ("1000.0", 1000),
                        (" 7 ", 7), ("-0", 0), ("0e-400", 0), ("9223372036854775807", 2**63 - 1)):
        assert read_whole(text) == (value, ""), text
    for text, why in (("1.5", "fraction"), ("2.5e0", "fraction"), ("1e-3", "fraction"), ("", "empty"),
                      ("abc", "not a number"), ("inf", "not a number"), ("nan", "not a number"), ("1e", "not a number"),
                      ("1,00", "comma"), ("1,0000", "comma"), ("0,5", "comma"), ("1e999999", "too large")):
        assert read_whole(text) == (None, why), text
    assert read_whole("1,000", commas=False) == (None, "comma")  # where the decimal point is a comma


def _type(qtbot: Any, box: QWidget, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, text)


def test_whole_number_fields_take_1e3_and_refuse_a_fraction(qtbot: Any, panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="categorical", policy="replace")
    rp.show()
    qtbot.waitExposed(rp)
    for text, value in (("1e3", 1000), ("1e+03", 1000), ("2.5e3", 2500), ("1,000", 1000)):
        _type(qtbot, rp.samples_spin, text)
        assert rp.spec is not None and rp.spec.samples == value, (text, rp.error_text())
        _type(qtbot, rp.field("top_k"), text)
        assert rp.spec is not None and rp.spec.scenario_params["top_k"] == value
    _type(qtbot, rp.samples_spin, "1.5")
    rp.name_edit.setFocus()
    assert rp.samples_spin.text() == "1.5"  # kept as typed, not rounded
    assert rp.error_text() == "samples must be a whole number, got '1.5'" and not rp.start_button.isEnabled()
    _type(qtbot, rp.samples_spin, "2.5e3")
    _type(qtbot, rp.field("vocab_size"), "1,00")
    assert "vocab_size must be a whole number, got '1,00' (commas only between groups of three" in rp.error_text()
    _type(qtbot, rp.field("vocab_size"), "1e3")
    assert rp.spec is not None and rp.spec.scenario_params["vocab_size"] == 1000


def test_a_whole_number_box_holds_any_64_bit_value(panel: RunPanel) -> None:
    box = panel.seed_spin
    box.setValue(2**63 - 1)
    assert box.text() == "9223372036854775807" and panel.spec is not None and panel.spec.seed == 2**63 - 1
    box.stepBy(1)  # the arrows stay within the seed's range
    assert box.value() == 2**63 - 1
    box.lineEdit().setText("9223372036854775808")
    assert "seed must be in [0, 9,223,372,036,854,775,807]" in panel.error_text()


# ---- 4. switching scenario ----------------------------------------------------------------------------------------------
def _another(p: Param) -> str | None:
    """A valid value other than the default, as text (None when there is none to pick)."""
    if p.kind == "choice":
        return next((c for c in p.choices if c != p.default), None)
    if p.kind == "int":
        v = p.default + 1 if p.maximum is None or p.default + 1 <= p.maximum else p.default - 1
        return str(v)
    if p.kind == "float":
        hi = p.default + 1.0 if p.maximum is None else p.maximum
        return format_number((p.default + hi) / 2) if hi != p.default else format_number(p.default / 2)
    return None  # text and paths: a file name would be read


def _set_text(rp: RunPanel, name: str, text: str) -> None:
    w = rp.field(name)
    if isinstance(w, (WholeNumberBox, NumberBox)):
        w.lineEdit().setText(text)
    else:
        rp._fields[name].set_value(text)


def _shown(rp: RunPanel, name: str) -> str:
    w = rp.field(name)
    return w.text() if isinstance(w, (WholeNumberBox, NumberBox)) else str(rp._fields[name].value())


def test_a_scenario_switch_keeps_what_was_set_in_common_fields_always(panel: RunPanel) -> None:
    rp = panel
    for a, b in itertools.permutations(SCENARIOS, 2):
        rp.set_values(scenario=a, policy="mix", generations=33, seed=5, replicates=2, name="mine", alpha=0.25)
        rp.samples_spin.lineEdit().setText("777")
        typed = {}
        for p in SCENARIOS[a].schema:
            text = _another(p)
            if text is not None:
                _set_text(rp, p.name, text)
                typed[p.name] = text
        rp.set_scenario(b)
        assert (rp.generations_spin.value(), rp.seed_spin.value(), rp.replicates_spin.value()) == (33, 5, 2)
        assert rp.name_edit.text() == "mine" and rp.field("alpha").text() == "0.25"
        assert rp.samples_spin.text() == "777", (a, b)
        for p in SCENARIOS[b].schema:
            carried = typed.get(p.name)
            if carried is not None and (p.kind != "choice" or carried in p.choices):
                assert _shown(rp, p.name) == carried, (a, b, p.name)
            else:
                assert rp._fields[p.name].value() == p.default, (a, b, p.name)


def test_a_scenario_switch_gives_untouched_fields_the_new_defaults(panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="gaussian", policy="replace")
    assert rp.samples_spin.value() == SCENARIOS["gaussian"].default_samples
    rp.set_scenario("gmm")  # samples untouched: the new scenario's default
    assert rp.samples_spin.value() == SCENARIOS["gmm"].default_samples
    assert rp.field("components").text() == "3"
    rp.set_scenario("digits")  # components untouched in gmm: digits' default, not gmm's 3
    assert rp.field("components").text() == "10"
    rp.field("components").lineEdit().setText("5")
    rp.set_scenario("gmm")
    assert rp.field("components").text() == "5"
    rp.set_values(scenario="gaussian", truncation=2.0, temperature=0.5)
    rp.set_scenario("kde")
    rp.set_scenario("gaussian")  # a field kde does not have was not remembered
    assert rp.field("truncation").text() == "0" and rp.field("temperature").text() == "0.5"


def test_a_kept_value_outside_the_new_range_is_reported(panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="regression", policy="replace", dims=50, samples=500)
    rp.set_scenario("gmm")
    assert rp.field("dims").text() == "50"
    assert rp.error_text() == "dims must be in [1, 2], got 50" and rp.field("dims").styleSheet()
    rp.set_values(scenario="gaussian", samples=5_000_000)
    rp.set_scenario("text")
    assert rp.samples_spin.text() == "5000000" and "at most 500,000 samples" in rp.error_text()
    rp.samples_spin.lineEdit().setText("abc")  # not a number yet: kept as typed too
    rp.set_scenario("kde")
    assert rp.samples_spin.text() == "abc" and "samples must be a whole number" in rp.error_text()


def test_a_policy_switch_takes_the_policys_defaults(panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="gaussian", policy="mix", alpha=0.2, samples=300)
    rp.set_policy("filter")
    assert rp.field("threshold").text() == "0.05" and rp.samples_spin.value() == 300
    rp.set_policy("mix")
    assert rp.field("alpha").text() == "0.5"
    rp.set_values(alpha=0.2)
    rp.set_scenario("kde")  # a scenario switch leaves the policy's fields alone
    assert rp.field("alpha").text() == "0.2"


# ---- 5. load_spec -------------------------------------------------------------------------------------------------------
def test_load_spec_shows_a_2d_run_with_a_non_default_policy_exactly(panel: RunPanel) -> None:
    rp = panel
    rp.set_values(scenario="kde", policy="filter", samples=123)
    rp.samples_spin.lineEdit().setText("abc")
    spec = RunSpec.build("gmm", "mix", {"dims": 2, "modes": 5, "separation": 3.25, "components": 7,
                                        "alpha": 0.123456789012345, "real": "fixed"}, 33, 777, 2**40)
    rp.load_spec(spec)
    assert rp.spec == spec and rp.error_text() == ""
    assert rp.field("dims").text() == "2" and rp.field("modes").text() == "5"
    assert rp.field("alpha").text() == "0.123456789012345" and rp.field("real").currentText() == "fixed"
    assert (rp.generations_spin.text(), rp.samples_spin.text(), rp.seed_spin.text()) == ("33", "777", str(2**40))
    assert rp.replicates_spin.value() == 1 and rp.name_edit.text() == ""

    other = RunSpec.build("gaussian", "multi-source", {"families": "gaussian,kde", "shares": "1,3", "real_alpha": 0.1,
                                                      "sigma0": 2.5, "estimator": "unbiased"}, 10, 50, 3)
    rp.load_spec(other)
    assert rp.spec == other
    rp.load_spec(spec)  # and back: gmm's fields hold the run's values, not what was typed before
    assert rp.spec == spec and rp.field("components").text() == "7"


def test_load_spec_of_every_scenario_and_policy_round_trips(panel: RunPanel) -> None:
    rp = panel
    for scenario, policy in itertools.zip_longest(SCENARIOS, POLICIES, fillvalue="mix"):
        rp.set_values(scenario=scenario, policy=policy)
        spec = rp.spec
        assert spec is not None, (scenario, policy, rp.error_text())
        rp.set_values(scenario="gaussian", policy="replace")
        rp.load_spec(spec)
        assert rp.spec == spec


# ---- 6. labels --------------------------------------------------------------------------------------------------------
def test_labels_are_words_and_tooltips_name_the_schema(panel: RunPanel) -> None:
    rp = panel
    schemas = [(s, "replace", SCENARIOS[s].schema) for s in SCENARIOS]
    schemas += [("gaussian", p, POLICIES[p].schema) for p in POLICIES]
    for scenario, policy, schema in schemas:
        rp.set_values(scenario=scenario, policy=policy)
        for p in schema:
            assert p.label and "_" not in p.label and p.label == p.label.strip(), p.name
            label = rp.field_label(p.name)
            assert label.text() == label_text(p) and label.text()[0].isupper()
            for tip in (label.toolTip(), rp.field(p.name).toolTip()):
                assert f"({p.name})" in tip and html.escape(p.label) in tip
                assert html.escape(p.help)[:40] in tip and html.escape(range_text(p)) in tip
    rp.set_values(scenario="categorical")
    assert rp.field_label("vocab_size").text() == "Vocabulary size"
    assert rp.field_label("zipf_exponent").text() == "Zipf exponent"
    assert rp.field_label("top_k").text() == "Top-k"
    assert rp.field_label("samples").text() == "Samples per generation"
    assert "(samples)" in rp.samples_spin.toolTip() and "(seed)" in rp.seed_spin.toolTip()


def test_min_count_help_keeps_its_angle_brackets(panel: RunPanel) -> None:
    panel.set_values(scenario="text")
    assert "&lt;unk&gt;" in panel.field("min_count").toolTip()  # shown as <unk>, not eaten as a tag


# ---- 7. focus after Start -----------------------------------------------------------------------------------------------
def test_start_takes_the_focus_off_the_form(qtbot: Any, panel: RunPanel) -> None:
    rp = panel
    rp.show()
    rp.activateWindow()
    qtbot.waitExposed(rp)
    rp.samples_spin.setFocus()
    qtbot.waitUntil(rp.samples_spin.hasFocus, timeout=3000)
    with qtbot.waitSignal(rp.start_requested, timeout=1000) as got:
        rp.request_start()
    assert got.args[0] == rp.spec and got.args[1] == 1
    focused = QApplication.focusWidget()
    assert focused is None or not rp.isAncestorOf(focused)
