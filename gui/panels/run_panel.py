"""The "Run setup" dock: scenario, policy, a parameter form generated from their schemas, and run controls.

Every field is generated from a :class:`core.params.Param` (kind, default, range, label, help), so the form
always matches what the command line accepts; the run-wide fields (generations, samples, seed, replicates) are
Params of this module. A field's label is its Param's words ("vocabulary size"); its tooltip names the schema
name (vocab_size, as ``--set`` writes it), the help, the allowed range and the default. Limits are written
one way everywhere, by :func:`range_text` from the Param's bounds, with thousands separators (500,000): the
tooltip and the message about a value out of range quote the same text.

After every edit the whole form is checked: first what the form itself can say (text that is no number yet,
a value outside its Param's range), then :meth:`core.engine.RunSpec.build` for everything else. The message
is shown under the form, the field it names is marked, and Start stays disabled until the form is valid.

Switching scenario (or policy) keeps what the user set in a field the two schemas share by name (samples,
components, temperature, top_k ...): a field still at the old schema's default takes the new one's default,
a field the user changed keeps its text, even when that is out of the new range (the form then says so).
Every other field takes the new schema's default. Generations, seed, replicates, the name and the other
schema's fields are not touched.

The parameter fields scroll; the message and the Start / Pause / Resume / Stop buttons stay below them, always
visible, however short the dock.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.engine import MAX_GENERATIONS, RunSpec
from core.params import Param, ParamError
from core.policies import POLICIES
from core.runner import MAX_REPLICATES, default_run_name
from core.scenarios import SCENARIOS, resolve_scenario_params
from core.scenarios.base import Scenario
from core.store import MAX_NAME_LENGTH, ProjectError, clean_run_name
from gui.icons import glyph_icon
from gui.panels.number_fields import FLOAT_MAX, NumberBox, WholeNumberBox, format_grouped

DEFAULT_GENERATIONS = 100
FIELD_MIN_WIDTH = 72
INVALID_STYLE = "border: 1px solid #d9534f; border-radius: 2px;"
SEED_MAX = 2**63 - 1  # what RunSpec and the command line accept
MIN_FORM_LINES = 5  # the scrolling part of the form is never shorter than about this many text lines

GENERATIONS = Param("generations", "int", DEFAULT_GENERATIONS, "Generations N after the real data (generation 0).",
                    minimum=1, maximum=MAX_GENERATIONS, label="generations")
SEED = Param("seed", "int", 0, "Random seed: the same settings and seed give bit-identical results.",
             minimum=0, maximum=SEED_MAX, label="seed")
REPLICATES = Param("replicates", "int", 1, "Replicates R: runs that differ only in their random stream, stored as "
                   "one group so charts can show the spread across seeds.", minimum=1, maximum=MAX_REPLICATES,
                   label="replicates")


def samples_param(scenario: type[Scenario], cap: int | None = None) -> Param:
    """The samples-per-generation setting of a scenario: its default, at most `cap` (default: its max_samples)."""
    return Param("samples", "int", scenario.default_samples, "Samples M drawn per generation; the next model is "
                 "fitted to them. Small M collapses faster.", minimum=1,
                 maximum=scenario.max_samples if cap is None else cap, label="samples per generation")


def label_text(p: Param) -> str:
    """A field's label: the Param's words with a capital first letter ("Vocabulary size"; the name if none)."""
    words = p.label or p.name
    return words[:1].upper() + words[1:]


def range_text(p: Param) -> str:
    """The allowed values as the form writes them: Param.range_text() with thousands separators, [1, 500,000]."""
    if p.kind not in ("int", "float") or (p.minimum is None and p.maximum is None):
        return p.range_text()
    lo = "-inf" if p.minimum is None else format_grouped(p.minimum)
    hi = "inf" if p.maximum is None else format_grouped(p.maximum)
    left = "(" if p.exclusive_min or p.minimum is None else "["
    right = ")" if p.exclusive_max or p.maximum is None else "]"
    return f"{left}{lo}, {hi}{right}"


def value_text(p: Param, value: Any) -> str:
    """A value of `p` as the form writes it (numbers as range_text writes them)."""
    if p.kind in ("int", "float") and isinstance(value, int | float) and not isinstance(value, bool):
        return format_grouped(value)
    if p.kind in ("str", "path"):
        return str(value) or "(empty)"
    return str(value)


def param_tooltip(p: Param, where: str = "") -> str:
    """The tooltip of a field and its label: the words, the schema name, help, allowed values and default
    (`where`: e.g. " for text", after "Allowed")."""
    e = html.escape
    return (f"<b>{e(p.label or p.name)}</b> ({e(p.name)}): {e(p.help)}<br>Allowed{e(where)}: {e(range_text(p))}. "
            f"Default: {e(value_text(p, p.default))}.")


def limit_problem(p: Param, value: Any) -> str | None:
    """'<name> must be in <range_text(p)>, got <value>' when a number is outside p's range, else None."""
    if p.kind not in ("int", "float"):
        return None
    low = p.minimum is not None and (value < p.minimum or (p.exclusive_min and value == p.minimum))
    high = p.maximum is not None and (value > p.maximum or (p.exclusive_max and value == p.maximum))
    return f"{p.name} must be in {range_text(p)}, got {format_grouped(value)}" if low or high else None


class PathEdit(QWidget):
    """A file path: a line edit and a Browse button (the panel's `choose_file` answers it)."""

    browse_requested = Signal(object)  # this PathEdit

    def __init__(self, text: str, tooltip: str) -> None:
        super().__init__()
        self.edit = QLineEdit(text)
        self.edit.setPlaceholderText("(empty: the bundled example)")
        self.edit.setToolTip(tooltip)
        self.button = QToolButton()
        self.button.setText("...")
        self.button.setToolTip("Choose the file")
        self.button.clicked.connect(self._on_browse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)

    def _on_browse(self) -> None:
        self.browse_requested.emit(self)


class ParamField:
    """One generated editor for one Param; value() returns a Python value of the Param's kind."""

    def __init__(self, param: Param, on_change: Any, on_text_change: Any) -> None:
        self.param = param
        p = param
        w: QWidget
        if p.kind == "int":
            lo = None if p.minimum is None else int(p.minimum) + (1 if p.exclusive_min else 0)
            hi = None if p.maximum is None else int(p.maximum) - (1 if p.exclusive_max else 0)
            spin = WholeNumberBox(lo, hi)
            spin.setValue(int(p.default))
            spin.valueChanged.connect(on_change)
            spin.lineEdit().textChanged.connect(on_change)  # also text that is no number yet
            w = spin
        elif p.kind == "float":
            flo = -FLOAT_MAX if p.minimum is None else float(p.minimum)
            fhi = FLOAT_MAX if p.maximum is None else float(p.maximum)
            dspin = NumberBox(flo, fhi)
            dspin.setSingleStep(0.1 if fhi - flo <= 100 else 1.0)
            dspin.setValue(float(p.default))
            dspin.valueChanged.connect(on_change)
            dspin.lineEdit().textChanged.connect(on_change)
            w = dspin
        elif p.kind == "bool":
            box = QCheckBox()
            box.setChecked(bool(p.default))
            box.toggled.connect(on_change)
            w = box
        elif p.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(p.choices))
            combo.setCurrentText(str(p.default))
            combo.currentIndexChanged.connect(on_change)
            w = combo
        elif p.kind == "path":
            w = PathEdit(str(p.default), param_tooltip(p))
            w.edit.textChanged.connect(on_text_change)
        else:
            edit = QLineEdit(str(p.default))
            edit.setPlaceholderText("(empty)")
            edit.textChanged.connect(on_text_change)
            w = edit
        w.setToolTip(param_tooltip(p))
        w.setObjectName(f"param_{p.name}")
        w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        w.setMinimumWidth(FIELD_MIN_WIDTH)  # wide ranges must not force a wide dock
        self.widget = w

    def value(self) -> Any:
        """The editor's value as the Param's Python type."""
        w = self.widget
        if isinstance(w, WholeNumberBox):
            return int(w.value())
        if isinstance(w, NumberBox):
            return float(w.value())
        if isinstance(w, QCheckBox):
            return bool(w.isChecked())
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, PathEdit):
            return w.edit.text()
        assert isinstance(w, QLineEdit)
        return w.text()

    def set_value(self, value: Any) -> None:
        """Put a value into the editor."""
        w = self.widget
        if isinstance(w, WholeNumberBox):
            w.setValue(int(value))
        elif isinstance(w, NumberBox):
            w.setValue(float(value))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            w.setCurrentText(str(value))
        elif isinstance(w, PathEdit):
            w.edit.setText(str(value))
        elif isinstance(w, QLineEdit):
            w.setText(str(value))

    def is_default(self) -> bool:
        """Whether the editor holds its Param's default (a number box: as a number, whatever its text)."""
        w = self.widget
        if isinstance(w, (WholeNumberBox, NumberBox)) and not w.hasAcceptableInput():
            return False
        return bool(self.value() == self.param.default)

    def typed(self) -> tuple[str, Any] | None:
        """What the user set here, to carry to the same setting of another scenario or policy: (kind, text of a
        number box or value); None while the editor holds the default."""
        if self.is_default():
            return None
        w = self.widget
        if isinstance(w, (WholeNumberBox, NumberBox)):
            return self.param.kind, w.text()
        return self.param.kind, self.value()

    def take(self, typed: tuple[str, Any]) -> None:
        """Show what ``typed()`` of a same-named field gave: a number box gets the text as typed (checked by the
        form against this Param's range), a choice the value when it is one of this Param's choices; a field
        of another kind keeps its default."""
        kind, value = typed
        text_kinds = {"str", "path"}
        if kind != self.param.kind and not {kind, self.param.kind} <= text_kinds:
            return
        w = self.widget
        if isinstance(w, (WholeNumberBox, NumberBox)):
            w.lineEdit().setText(str(value))
        elif self.param.kind == "choice":
            if value in self.param.choices:
                self.set_value(value)
        else:
            self.set_value(value)

    def set_invalid(self, invalid: bool) -> None:
        """Mark the editor as the one the error message is about."""
        mark_invalid(self.widget, invalid)

    def typing_problem(self) -> str | None:
        """What is wrong with the text in a number box that does not hold a number yet, else None."""
        return number_text_problem(self.param.name, self.widget)


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    """Outline a field in red while the form's error message is about it."""
    widget.setStyleSheet(INVALID_STYLE if invalid else "")


def number_text_problem(name: str, widget: QWidget) -> str | None:
    """'<name> ...' when a number box holds text that is not a number of its kind (empty, '1.5' for a whole
    number, '0,5', 'abc'), else None."""
    if not isinstance(widget, (WholeNumberBox, NumberBox)) or widget.hasAcceptableInput():
        return None
    text = widget.text().strip()
    if isinstance(widget, WholeNumberBox):
        why = widget.problem()
        if why == "empty":
            return f"{name} is empty: enter a whole number"
        if why == "too large":
            return f"{name} {text[:40]}{'...' if len(text) > 40 else ''} is far too large"
        if why == "comma":
            hint = "commas only between groups of three digits: 1,000" if widget.commas else "write 1000"
            return f"{name} must be a whole number, got {text!r} ({hint})"
        return f"{name} must be a whole number, got {text!r}"
    if not text:
        return f"{name} is empty: enter a number"
    hint = " (write a decimal point: 0.5)" if "," in text else ""
    return f"{name} must be a number, got {text!r}{hint}"


class FormScroll(QScrollArea):
    """The scrolling part of Run setup: it asks for the whole form's height, makes do with a few lines, and is
    never narrower than the form (so nothing is cut off at the side and there is no horizontal scrolling)."""

    def __init__(self, form: QWidget) -> None:
        super().__init__()
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(form)

    def _extra_width(self) -> int:
        return self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        inner = self.widget().sizeHint()
        return QSize(inner.width() + self._extra_width(), inner.height() + 2 * self.frameWidth())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        inner = self.widget().minimumSizeHint()
        lines = self.fontMetrics().height() * MIN_FORM_LINES
        return QSize(inner.width() + self._extra_width(), min(inner.height(), lines))


class RunPanel(QWidget):
    """Scenario/policy pickers, the generated parameter form (scrolling) and, always visible below it, the
    form's message and Start / Pause / Resume / Stop."""

    start_requested = Signal(object, int, str)  # RunSpec, replicates, name ('' = default)
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    start_enabled_changed = Signal(bool)  # Start became possible / impossible (mirrored by the Run menu)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, ParamField] = {}
        self._scenario_names: set[str] = set()
        self._policy_names: set[str] = set()
        self._samples: Param | None = None  # the samples Param of the scenario shown (its cap may follow a variant)
        self._samples_default: int | None = None  # the default samples of the scenario shown
        self._spec: RunSpec | None = None
        self._can_start = True
        self._start_reason = ""
        self._running = False
        self._building = False
        self._number_texts: tuple[str, ...] = ()
        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(250)
        self._typing_timer.timeout.connect(self._validate)

        self.scenario_combo = QComboBox()
        self.scenario_combo.setObjectName("scenario")
        for name, cls in SCENARIOS.items():
            self.scenario_combo.addItem(f"{cls.title} ({name})", name)
            self.scenario_combo.setItemData(self.scenario_combo.count() - 1, cls.summary, Qt.ItemDataRole.ToolTipRole)
        self.scenario_combo.setToolTip("The data world and model family that is refitted generation after generation.")
        self.policy_combo = QComboBox()
        self.policy_combo.setObjectName("policy")
        for name, pcls in POLICIES.items():
            self.policy_combo.addItem(f"{pcls.title} ({name})", name)
            self.policy_combo.setItemData(self.policy_combo.count() - 1, pcls.summary, Qt.ItemDataRole.ToolTipRole)
        self.policy_combo.setToolTip("How each generation's training set is built from real data and earlier "
                                     "generations' samples.")

        self.generations_spin = WholeNumberBox(1, MAX_GENERATIONS)
        self.generations_spin.setObjectName("generations")
        self.generations_spin.setValue(DEFAULT_GENERATIONS)
        self.samples_spin = WholeNumberBox(1, None)
        self.samples_spin.setObjectName("samples")
        self.seed_spin = WholeNumberBox(0, SEED_MAX)
        self.seed_spin.setObjectName("seed")
        self.replicates_spin = WholeNumberBox(1, MAX_REPLICATES)
        self.replicates_spin.setObjectName("replicates")
        self.replicates_spin.setValue(1)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("run_name")
        self.name_edit.setMaxLength(MAX_NAME_LENGTH)
        self.name_edit.setToolTip("<b>run name</b> (name): the name of the new run (or replicate group); empty = "
                                  "scenario, policy and key setting.")
        self._top_spins = {"generations": self.generations_spin, "samples": self.samples_spin,
                           "seed": self.seed_spin, "replicates": self.replicates_spin}
        for spin in self._top_spins.values():
            spin.valueChanged.connect(self._on_number_edited)
            spin.lineEdit().textChanged.connect(self._on_number_edited)
        for w in (self.scenario_combo, self.policy_combo, self.generations_spin, self.samples_spin, self.seed_spin,
                  self.replicates_spin, self.name_edit):
            w.setMinimumWidth(FIELD_MIN_WIDTH)
            w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        for combo in (self.scenario_combo, self.policy_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
        self.name_edit.textChanged.connect(self._validate_soon)

        top = _form_layout()
        top.addRow("Scenario", self.scenario_combo)
        top.addRow("Policy", self.policy_combo)
        self._top_labels: dict[str, QLabel] = {}
        for p, w in ((GENERATIONS, self.generations_spin), (None, self.samples_spin), (SEED, self.seed_spin),
                     (REPLICATES, self.replicates_spin)):
            label = QLabel(label_text(p) if p is not None else "Samples per generation")
            label.setBuddy(w)
            top.addRow(label, w)
            self._top_labels[w.objectName()] = label
            if p is not None:
                _set_tip(param_tooltip(p), label, w)
        name_label = QLabel("Run name")
        name_label.setBuddy(self.name_edit)
        name_label.setToolTip(self.name_edit.toolTip())
        top.addRow(name_label, self.name_edit)

        self.scenario_box = QGroupBox("Scenario parameters")
        self.scenario_form = _form_layout(self.scenario_box)
        self.policy_box = QGroupBox("Policy parameters")
        self.policy_form = _form_layout(self.policy_box)

        self.form = QWidget()
        self.form.setObjectName("run_form")
        form_layout = QVBoxLayout(self.form)
        form_layout.setContentsMargins(0, 0, 0, 0)
        form_layout.addLayout(top)
        form_layout.addWidget(self.scenario_box)
        form_layout.addWidget(self.policy_box)
        form_layout.addStretch(1)
        self.scroll = FormScroll(self.form)
        self.scroll.setObjectName("run_form_scroll")

        self.error_label = QLabel()
        self.error_label.setObjectName("form_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setStyleSheet("color: #d9534f;")
        self.error_label.setToolTip("What is wrong with the settings; Start is enabled once it is fixed.")
        self.error_label.hide()
        self.note_label = QLabel()
        self.note_label.setObjectName("form_note")
        self.note_label.setWordWrap(True)
        self.note_label.hide()

        self.start_button = QPushButton(glyph_icon("start"), "Start")
        self.start_button.setObjectName("start")
        self.start_button.setToolTip("Create a new run with these settings and compute it (F5).")
        self.pause_button = QPushButton(glyph_icon("run-pause"), "Pause")
        self.pause_button.setObjectName("pause")
        self.pause_button.setToolTip("Pause after the current generation; every finished generation is saved.")
        self.resume_button = QPushButton(glyph_icon("resume"), "Resume")
        self.resume_button.setObjectName("resume")
        self.resume_button.setToolTip("Continue the paused or interrupted run from its last saved generation.")
        self.stop_button = QPushButton(glyph_icon("stop"), "Stop")
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Stop after the current generation and forget queued runs; the run stays "
                                    "resumable from the Runs panel.")
        self.start_button.clicked.connect(self.request_start)
        self.pause_button.clicked.connect(self.pause_requested)
        self.resume_button.clicked.connect(self.resume_requested)
        self.stop_button.clicked.connect(self.stop_requested)
        buttons = QGridLayout()
        buttons.setSpacing(4)
        buttons.addWidget(self.start_button, 0, 0, 1, 3)
        for col, b in enumerate((self.pause_button, self.resume_button, self.stop_button)):
            buttons.addWidget(b, 1, col)
        for b in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(40)
        font = self.start_button.font()
        font.setBold(True)
        self.start_button.setFont(font)

        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)  # the fields scroll; what follows is always visible
        layout.addWidget(self.error_label)
        layout.addWidget(self.note_label)
        layout.addLayout(buttons)

        self.scenario_combo.currentIndexChanged.connect(self._on_scenario_changed)
        self.policy_combo.currentIndexChanged.connect(self._on_policy_changed)
        self._on_scenario_changed()
        self._on_policy_changed()
        self.set_run_state(running=False, can_pause=False, can_resume=False, can_stop=False)

    # ---- public ------------------------------------------------------------------------------------------
    @property
    def spec(self) -> RunSpec | None:
        """The validated RunSpec of the form, or None while it is invalid."""
        return self._spec

    def error_text(self) -> str:
        """The inline error shown under the form ('' when the form is valid)."""
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def field(self, name: str) -> QWidget:
        """The generated editor of a scenario or policy parameter (for tests and focus)."""
        return self._fields[name].widget

    def field_label(self, name: str) -> QLabel:
        """The label of a scenario or policy parameter's editor, or of generations / samples / seed / replicates."""
        if name in self._top_labels:
            return self._top_labels[name]
        widget = self._fields[name].widget
        for form in (self.scenario_form, self.policy_form):
            label = form.labelForField(widget)
            if isinstance(label, QLabel):
                return label
        raise KeyError(name)

    def field_names(self) -> list[str]:
        """The schema names of the scenario and policy parameters shown, in form order."""
        return list(self._fields)

    def set_scenario(self, name: str) -> None:
        """Choose a scenario by name (rebuilds its parameter form; see the module doc for what is kept)."""
        index = self.scenario_combo.findData(name)
        if index < 0:
            raise ValueError(f"unknown scenario {name!r}")
        self.scenario_combo.setCurrentIndex(index)

    def set_policy(self, name: str) -> None:
        """Choose a policy by name (rebuilds its parameter form; see the module doc for what is kept)."""
        index = self.policy_combo.findData(name)
        if index < 0:
            raise ValueError(f"unknown policy {name!r}")
        self.policy_combo.setCurrentIndex(index)

    def set_values(self, scenario: str | None = None, policy: str | None = None, generations: int | None = None,
                   samples: int | None = None, seed: int | None = None, replicates: int | None = None,
                   name: str | None = None, **params: Any) -> None:
        """Fill the form programmatically (scenario and policy first, then their parameters)."""
        if scenario is not None:
            self.set_scenario(scenario)
        if policy is not None:
            self.set_policy(policy)
        if generations is not None:
            self.generations_spin.setValue(generations)
        if samples is not None:
            self.samples_spin.setValue(samples)
        if seed is not None:
            self.seed_spin.setValue(seed)
        if replicates is not None:
            self.replicates_spin.setValue(replicates)
        if name is not None:
            self.name_edit.setText(name)
        for key, value in params.items():
            self._fields[key].set_value(value)
        self._typing_timer.stop()
        self._validate()

    def load_spec(self, spec: RunSpec) -> None:
        """Show an existing run's settings exactly: its scenario and policy, every one of their parameters (one
        the spec lacks shows its default), generations, samples and seed; replicates 1 and an empty name."""
        self.set_scenario(spec.scenario)
        self.set_policy(spec.policy)  # both forms now hold the fields the spec's parameters go into
        given = {**spec.scenario_params, **spec.policy_params}
        values = {name: given.get(name, f.param.default) for name, f in self._fields.items()}
        self.set_values(generations=spec.generations, samples=spec.samples, seed=spec.seed, replicates=1, name="",
                        **values)

    def set_can_start(self, allowed: bool, reason: str = "") -> None:
        """Whether the project accepts new runs (no project, read-only ...); `reason` is shown when not."""
        self._can_start = allowed
        self._start_reason = reason
        self._validate()

    def set_run_state(self, running: bool, can_pause: bool, can_resume: bool, can_stop: bool) -> None:
        """Enable the run buttons for the window's current state."""
        self._running = running
        self.pause_button.setEnabled(can_pause)
        self.resume_button.setEnabled(can_resume)
        self.stop_button.setEnabled(can_stop)
        self._update_start()

    def request_start(self) -> None:
        """Start (button, F5): emit start_requested with the validated spec, then take the keyboard focus off the
        form (a field that kept it would eat the window's generation keys: Left, Right, Home, End, Space)."""
        if self._typing_timer.isActive():  # the last keystrokes are not checked yet
            self._typing_timer.stop()
            self._validate()
        if self._spec is None or not self.start_button.isEnabled():
            return
        self.start_requested.emit(self._spec, self.replicates_spin.value(), self.name_edit.text().strip())
        self.leave_form()

    def leave_form(self) -> None:
        """Clear the keyboard focus if a widget of this panel has it (focus a slot moved elsewhere stays there)."""
        focused = QApplication.focusWidget()
        if focused is not None and (focused is self or self.isAncestorOf(focused)):
            focused.clearFocus()

    # ---- form building -------------------------------------------------------------------------------------
    def _clear_form(self, form: QFormLayout, names: set[str]) -> None:
        while form.rowCount():
            form.removeRow(0)
        for name in names:
            self._fields.pop(name, None)

    def _fill(self, form: QFormLayout, schema: tuple[Param, ...], empty: str) -> set[str]:
        names = set()
        for p in schema:
            f = ParamField(p, self._on_number_edited if p.kind in ("int", "float") else self._validate,
                           self._validate_soon)
            if isinstance(f.widget, PathEdit):
                f.widget.browse_requested.connect(self._on_browse)
            self._fields[p.name] = f
            label = QLabel(label_text(p))
            label.setToolTip(param_tooltip(p))
            label.setBuddy(f.widget)
            form.addRow(label, f.widget)
            names.add(p.name)
        if not schema:
            lab = QLabel(empty)
            lab.setEnabled(False)
            form.addRow(lab)
        return names

    def _rebuild(self, form: QFormLayout, old: set[str], schema: tuple[Param, ...], empty: str) -> set[str]:
        """Replace a form's fields by a schema's, carrying what was set in same-named fields (module doc)."""
        typed = {name: t for name in old if (t := self._fields[name].typed()) is not None}
        self._clear_form(form, old)
        names = self._fill(form, schema, empty)
        for name, t in typed.items():
            if name in names:
                self._fields[name].take(t)
        return names

    def _on_scenario_changed(self) -> None:
        name = self.scenario_combo.currentData()
        cls = SCENARIOS[name]
        self._building = True
        self._scenario_names = self._rebuild(self.scenario_form, self._scenario_names, cls.schema,
                                             "This scenario has no parameters.")
        self.scenario_box.setTitle(f"{cls.title} parameters")
        self.scenario_box.setToolTip(cls.summary)
        self.scenario_combo.setToolTip(f"{cls.summary}")
        old = self._samples_default
        if old is None or (self.samples_spin.hasAcceptableInput() and self.samples_spin.value() == old):
            self.samples_spin.setValue(cls.default_samples)  # untouched: follows the scenario's default
        self._samples_default = cls.default_samples
        self._update_samples()
        self._building = False
        self._validate()

    def _on_policy_changed(self) -> None:
        name = self.policy_combo.currentData()
        pcls = POLICIES[name]
        self._building = True
        self._policy_names = self._rebuild(self.policy_form, self._policy_names, pcls.schema,
                                           "This policy has no parameters.")
        self.policy_box.setTitle(f"{pcls.title} parameters")
        self.policy_box.setToolTip(pcls.summary)
        self.policy_combo.setToolTip(pcls.summary)
        self._building = False
        self._validate()

    def _on_browse(self, path_edit: PathEdit) -> None:
        chosen = self.choose_file(path_edit.edit.text())
        if chosen:
            path_edit.edit.setText(chosen)

    def choose_file(self, current: str) -> str | None:
        """Ask for a data file (the window replaces this to use its dialogs)."""
        path, _ = QFileDialog.getOpenFileName(self, "Choose a data file", current,
                                              "CSV files (*.csv *.tsv *.txt);;All files (*)")
        return path or None

    # ---- validation -------------------------------------------------------------------------------------------
    def _on_number_edited(self, *_: object) -> None:
        """A number box changed (value set, or text typed): check once per new text, not once per signal."""
        texts = tuple(w.text() for w in (*self._top_spins.values(), *(f.widget for f in self._fields.values()))
                      if isinstance(w, (WholeNumberBox, NumberBox)))
        if texts == self._number_texts:
            return
        self._number_texts = texts
        self._validate()

    def _validate_soon(self, *_: object) -> None:
        """Typing in a text field: check once the typing pauses (a path check may read the file)."""
        self._typing_timer.start()

    def _settings(self) -> dict[str, Any]:
        return {name: f.value() for name, f in self._fields.items()}

    def _update_samples(self) -> Param:
        """The samples Param of the scenario and the variant its settings choose (csv with two columns, gmm
        with dims 2 ...); its tooltip and the arrows' range follow it."""
        name = self.scenario_combo.currentData()
        cls = SCENARIOS[name]
        settings = self._settings()
        try:
            cap = cls.variant(resolve_scenario_params(name, {n: settings[n] for n in self._scenario_names}))
        except ParamError:
            cap = cls  # a setting is out of range (the message says so): the scenario's own cap meanwhile
        p = samples_param(cls, cap.max_samples)
        if p != self._samples:
            self._samples = p
            self.samples_spin.set_allowed(1, cap.max_samples)
            _set_tip(param_tooltip(p, f" for {name}"), self.samples_spin, self._top_labels["samples"])
        return p

    def _limit_problem(self) -> tuple[str, str] | None:
        """(setting, message) for the first number outside its Param's range, in form order."""
        samples = self._samples or self._update_samples()
        for p, spin in ((GENERATIONS, self.generations_spin), (samples, self.samples_spin), (SEED, self.seed_spin),
                        (REPLICATES, self.replicates_spin)):
            value = spin.value()
            if p is samples and samples.maximum is not None and value > samples.maximum:
                return "samples", (f"{self.scenario_combo.currentData()} takes at most "
                                   f"{format_grouped(samples.maximum)} samples per generation, got "
                                   f"{format_grouped(value)}")
            problem = limit_problem(p, value)
            if problem:
                return p.name, problem
        for name, f in self._fields.items():
            problem = limit_problem(f.param, f.value())
            if problem:
                return name, problem
        return None

    def _form_problem(self) -> tuple[str, str] | None:
        """(setting, message) for what the form checks itself: text that is no number yet, numbers outside their
        Param's range, the name."""
        for name, spin in self._top_spins.items():
            problem = number_text_problem(name, spin)
            if problem:
                return name, problem
        for name, f in self._fields.items():
            problem = f.typing_problem()
            if problem:
                return name, problem
        limit = self._limit_problem()
        if limit is not None:
            return limit
        if self.name_edit.text().strip():
            try:
                clean_run_name(self.name_edit.text())
            except ProjectError as exc:
                return "name", str(exc)
        return None

    def _mark(self, setting: str | None) -> None:
        """Outline the field the error is about (none: clear every outline)."""
        for name, f in self._fields.items():
            f.set_invalid(name == setting)
        for name, spin in self._top_spins.items():
            mark_invalid(spin, name == setting)
        mark_invalid(self.name_edit, setting == "name")

    def _validate(self, *_: object) -> None:
        if self._building:
            return
        self._update_samples()
        setting: str | None = None
        message = ""
        problem = self._form_problem()
        if problem is not None:
            setting, message = problem
            self._spec = None
        else:
            try:
                self._spec = RunSpec.build(self.scenario_combo.currentData(), self.policy_combo.currentData(),
                                           self._settings(), self.generations_spin.value(), self.samples_spin.value(),
                                           self.seed_spin.value())
            except ParamError as exc:
                self._spec = None
                message = str(exc)
                setting = exc.param or message.split(" ", 1)[0]
        self._mark(setting)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
        self._update_placeholder()
        self._update_start()

    def _update_placeholder(self) -> None:
        if self._spec is not None:
            self.name_edit.setPlaceholderText(default_run_name(self._spec))

    def _update_start(self) -> None:
        ok = self._spec is not None and self._can_start and not self._running
        if ok != self.start_button.isEnabled():
            self.start_button.setEnabled(ok)
            self.start_enabled_changed.emit(ok)
        if not self._can_start and self._start_reason:
            self.note_label.setText(self._start_reason)
            self.note_label.show()
        else:
            self.note_label.hide()


def _form_layout(parent: QWidget | None = None) -> QFormLayout:
    """A form whose fields grow and whose long rows put the field under its label when the dock is narrow."""
    form = QFormLayout(parent) if parent is not None else QFormLayout()
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


def _set_tip(tip: str, *widgets: QWidget) -> None:
    for w in widgets:
        w.setToolTip(tip)
