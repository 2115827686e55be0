"""The "Run setup" dock: scenario, policy, a parameter form generated from their schemas, and run controls.

Every field is generated from a :class:`core.params.Param` (kind, default, range, help), so the form always
matches what the command line accepts. After every edit the whole form is checked with
:meth:`core.engine.RunSpec.build`; its :class:`~core.params.ParamError` message is shown under the form, the
field it names is marked, and Start stays disabled until the form is valid.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core.engine import MAX_GENERATIONS, MAX_SAMPLES, RunSpec
from core.params import Param, ParamError
from core.policies import POLICIES
from core.runner import MAX_REPLICATES, default_run_name
from core.scenarios import SCENARIOS
from core.store import MAX_NAME_LENGTH, ProjectError, clean_run_name
from gui.icons import glyph_icon
from gui.panels.number_fields import FLOAT_MAX, INT_MAX, INT_MIN, NumberBox, WholeNumberBox

DEFAULT_GENERATIONS = 100
FIELD_MIN_WIDTH = 72
INVALID_STYLE = "border: 1px solid #d9534f; border-radius: 2px;"


def param_tooltip(p: Param) -> str:
    """The tooltip of a generated field: help text, allowed values and default."""
    default = p.default if p.kind != "str" else (p.default or "(empty)")
    return f"<b>{p.name}</b>: {p.help}<br>Allowed: {p.range_text()}. Default: {default}."


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
            lo = INT_MIN if p.minimum is None else int(p.minimum) + (1 if p.exclusive_min else 0)
            hi = INT_MAX if p.maximum is None else int(p.maximum) - (1 if p.exclusive_max else 0)
            spin = WholeNumberBox(lo, hi)
            spin.setValue(int(p.default))
            spin.valueChanged.connect(on_change)
            spin.lineEdit().textChanged.connect(on_change)  # also text that is no number yet
            w = spin
        elif p.kind == "float":
            lo = -FLOAT_MAX if p.minimum is None else float(p.minimum)
            hi = FLOAT_MAX if p.maximum is None else float(p.maximum)
            dspin = NumberBox(lo, hi)
            dspin.setSingleStep(0.1 if hi - lo <= 100 else 1.0)
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
    """'<name>: ... is not a number' when a number box holds text that is not one (empty, '0,5', 'abc')."""
    if not isinstance(widget, (WholeNumberBox, NumberBox)) or widget.hasAcceptableInput():
        return None
    text = widget.text().strip()
    kind = "a whole number" if isinstance(widget, WholeNumberBox) else "a number"
    if not text:
        return f"{name} is empty: enter {kind}"
    if isinstance(widget, WholeNumberBox) and text.lstrip("+-").isdigit():
        return f"{name} {text} is too large in size for this form (at most {INT_MAX:,})"
    hint = " (write a decimal point: 0.5)" if "," in text and isinstance(widget, NumberBox) else ""
    return f"{name} must be {kind}, got {text!r}{hint}"


class RunPanel(QWidget):
    """Scenario/policy pickers, the generated parameter form and Start / Pause / Resume / Stop."""

    start_requested = Signal(object, int, str)  # RunSpec, replicates, name ('' = default)
    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    start_enabled_changed = Signal(bool)  # Start became possible / impossible (mirrored by the Run menu)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fields: dict[str, ParamField] = {}
        self._spec: RunSpec | None = None
        self._can_start = True
        self._start_reason = ""
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
        self.generations_spin.setToolTip(f"Generations N after the real data (generation 0). Allowed: [1, "
                                         f"{MAX_GENERATIONS}].")
        self.samples_spin = WholeNumberBox(1, MAX_SAMPLES)
        self.samples_spin.setObjectName("samples")
        self.seed_spin = WholeNumberBox(0, INT_MAX)
        self.seed_spin.setObjectName("seed")
        self.seed_spin.setToolTip("Random seed: the same settings and seed give bit-identical results.")
        self.replicates_spin = WholeNumberBox(1, MAX_REPLICATES)
        self.replicates_spin.setObjectName("replicates")
        self.replicates_spin.setToolTip("Replicates R: runs that differ only in their random stream, stored as one "
                                        "group so charts can show the spread across seeds.")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("run_name")
        self.name_edit.setMaxLength(MAX_NAME_LENGTH)
        self.name_edit.setToolTip("Name of the new run (or replicate group); empty = scenario, policy and key "
                                  "setting.")
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

        top = QFormLayout()
        top.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        top.addRow("Scenario", self.scenario_combo)
        top.addRow("Policy", self.policy_combo)
        top.addRow("Generations", self.generations_spin)
        top.addRow("Samples M", self.samples_spin)
        top.addRow("Seed", self.seed_spin)
        top.addRow("Replicates", self.replicates_spin)
        top.addRow("Name", self.name_edit)

        self.scenario_box = QGroupBox("Scenario parameters")
        self.scenario_form = QFormLayout(self.scenario_box)
        self.scenario_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.policy_box = QGroupBox("Policy parameters")
        self.policy_form = QFormLayout(self.policy_box)
        self.policy_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

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
        layout.addLayout(top)
        layout.addWidget(self.scenario_box)
        layout.addWidget(self.policy_box)
        layout.addWidget(self.error_label)
        layout.addWidget(self.note_label)
        layout.addLayout(buttons)
        layout.addStretch(1)

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

    def set_scenario(self, name: str) -> None:
        """Choose a scenario by name (rebuilds its parameter form)."""
        self.scenario_combo.setCurrentIndex(self.scenario_combo.findData(name))

    def set_policy(self, name: str) -> None:
        """Choose a policy by name (rebuilds its parameter form)."""
        self.policy_combo.setCurrentIndex(self.policy_combo.findData(name))

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
        """Fill the form from an existing run's settings (new seed left to the user)."""
        self.set_values(spec.scenario, spec.policy, spec.generations, spec.samples, spec.seed, 1, "",
                        **{k: v for k, v in {**spec.scenario_params, **spec.policy_params}.items()
                           if k in self._fields})

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

    # ---- form building -------------------------------------------------------------------------------------
    def _clear_form(self, form: QFormLayout, prefix: set[str]) -> None:
        while form.rowCount():
            form.removeRow(0)
        for name in prefix:
            self._fields.pop(name, None)

    def _fill(self, form: QFormLayout, box: QGroupBox, schema: tuple[Param, ...], empty: str) -> set[str]:
        names = set()
        for p in schema:
            f = ParamField(p, self._on_number_edited if p.kind in ("int", "float") else self._validate,
                           self._validate_soon)
            if isinstance(f.widget, PathEdit):
                f.widget.browse_requested.connect(self._on_browse)
            self._fields[p.name] = f
            label = QLabel(p.name)
            label.setToolTip(param_tooltip(p))
            label.setBuddy(f.widget)
            form.addRow(label, f.widget)
            names.add(p.name)
        if not schema:
            lab = QLabel(empty)
            lab.setEnabled(False)
            form.addRow(lab)
        box.setToolTip("")
        return names

    def _on_scenario_changed(self) -> None:
        name = self.scenario_combo.currentData()
        cls = SCENARIOS[name]
        self._building = True
        old = getattr(self, "_scenario_names", set())
        self._clear_form(self.scenario_form, old)
        self._scenario_names = self._fill(self.scenario_form, self.scenario_box, cls.schema,
                                          "This scenario has no parameters.")
        self.scenario_box.setTitle(f"{cls.title} parameters")
        self.scenario_box.setToolTip(cls.summary)
        self.scenario_combo.setToolTip(f"{cls.summary}")
        self.samples_spin.set_allowed(1, min(cls.max_samples, INT_MAX))
        self.samples_spin.setToolTip(f"Samples M drawn per generation; the next model is fitted to them. Small M "
                                     f"collapses faster. Allowed for {name}: [1, {cls.max_samples:,}].")
        self.samples_spin.setValue(cls.default_samples)
        self._building = False
        self._validate()

    def _on_policy_changed(self) -> None:
        name = self.policy_combo.currentData()
        pcls = POLICIES[name]
        self._building = True
        old = getattr(self, "_policy_names", set())
        self._clear_form(self.policy_form, old)
        self._policy_names = self._fill(self.policy_form, self.policy_box, pcls.schema,
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

    def _form_problem(self) -> tuple[str, str] | None:
        """(setting, message) for what the spec cannot check: text that is no number yet, replicates, name."""
        for name, spin in self._top_spins.items():
            problem = number_text_problem(name, spin)
            if problem:
                return name, problem
        for name, f in self._fields.items():
            problem = f.typing_problem()
            if problem:
                return name, problem
        if not 1 <= self.replicates_spin.value() <= MAX_REPLICATES:
            return "replicates", f"replicates must be in [1, {MAX_REPLICATES}], got {self.replicates_spin.value()}"
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
        running = getattr(self, "_running", False)
        ok = self._spec is not None and self._can_start and not running
        if ok != self.start_button.isEnabled():
            self.start_button.setEnabled(ok)
            self.start_enabled_changed.emit(ok)
        if not self._can_start and self._start_reason:
            self.note_label.setText(self._start_reason)
            self.note_label.show()
        else:
            self.note_label.hide()

    def request_start(self) -> None:
        """Start (button, F5): emit start_requested with the validated spec."""
        if self._typing_timer.isActive():  # the last keystrokes are not checked yet
            self._typing_timer.stop()
            self._validate()
        if self._spec is None or not self.start_button.isEnabled():
            return
        self.start_requested.emit(self._spec, self.replicates_spin.value(), self.name_edit.text().strip())
