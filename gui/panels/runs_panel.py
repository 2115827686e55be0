"""The "Runs" dock: every run of the project in a table; select one or several to show and compare them.

Columns: name (edit inline to rename), scenario, policy, key parameters, status, generations done/target.
The current row is the run the distribution and heatmap show; all selected rows are overlaid in the
timelines. Rows are updated in place while a run computes, so selection and an open rename editor survive.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.params import Param
from core.scenarios import SCENARIOS
from core.store import RunInfo
from gui.icons import glyph_icon

COLUMNS = ("Name", "Status", "Generations", "Scenario", "Policy", "Key parameters")
COL_NAME, COL_STATUS, COL_GENS, COL_SCENARIO, COL_POLICY, COL_PARAMS = range(6)
ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_COLORS = {"running": "#2e7d32", "interrupted": "#c77700", "failed": "#c62828"}
STATUS_TEXT = {"running": "running", "finished": "finished", "interrupted": "interrupted", "failed": "failed"}


def _short(v: object) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def key_parameters(run: RunInfo) -> str:
    """M, the policy's settings and the scenario settings that differ from their defaults."""
    spec = run.spec
    parts = [f"M={spec.samples:,}"]
    scls = SCENARIOS.get(spec.scenario)
    defaults: dict[str, Param] = {p.name: p for p in scls.schema} if scls else {}
    for k, v in spec.policy_params.items():
        if v != "":
            parts.append(f"{k}={_short(v)}")
    for k, v in spec.scenario_params.items():
        if k not in defaults or defaults[k].default != v:
            parts.append(f"{k}={_short(v)}")
    parts.append(f"seed {spec.seed}")
    return ", ".join(parts)


def is_resumable(run: RunInfo) -> bool:
    """Incomplete and stopped early (interrupted or failed), as core.runner.resumable decides."""
    return not run.complete and run.status in ("interrupted", "failed")


def generations_text(run: RunInfo) -> str:
    """'done/target', where done counts generations after the real data (0 when only it exists)."""
    return f"{max(run.last_generation, 0)}/{run.spec.generations}"


class RunsPanel(QWidget):
    """Table of runs with selection for compare, inline rename, delete, resume and a context menu."""

    selection_changed = Signal()  # read current_run_id() / selected_run_ids()
    rename_requested = Signal(int, str)
    delete_requested = Signal(list)  # run ids
    resume_requested = Signal(list)  # run ids
    use_settings_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[int, RunInfo] = {}
        self._queued: set[int] = set()
        self._paused: set[int] = set()
        self._updating = False
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("runs_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setToolTip("Runs of this project. Click to show a run; Ctrl/Shift-click to compare several in "
                              "the timelines; double-click (F2) a name to rename; right-click for more.")
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in ((COL_NAME, 172), (COL_STATUS, 80), (COL_GENS, 80), (COL_SCENARIO, 72),
                           (COL_POLICY, 72), (COL_PARAMS, 160)):
            self.table.setColumnWidth(col, width)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        tips = {COL_NAME: "Run name (double-click to rename)",
                COL_SCENARIO: "Scenario: the data world and model family",
                COL_POLICY: "Policy: how training sets are built",
                COL_PARAMS: "Samples per generation, non-default settings and seed",
                COL_STATUS: "finished, running, interrupted (resumable) or failed",
                COL_GENS: "Generations computed / target (generation 0 is the real data)"}
        for col, tip in tips.items():
            self.table.horizontalHeaderItem(col).setToolTip(tip)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("runs_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setMargin(16)
        self.empty_label.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.table)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack)
        self.set_empty_text("No project is open.\n\nUse File > New to start a project or File > Open to open one.")

        style = self.style()
        self.resume_action = QAction(glyph_icon("resume"), "Resume", self)
        self.resume_action.setToolTip("Continue the selected interrupted runs from their last saved generation")
        self.resume_action.triggered.connect(self._on_resume)
        self.rename_action = QAction("Rename", self)
        self.rename_action.setShortcut("F2")
        self.rename_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.rename_action.setToolTip("Rename the current run")
        self.rename_action.triggered.connect(self.edit_current_name)
        self.delete_action = QAction(style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon), "Delete...", self)
        self.delete_action.setShortcut("Del")
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.setToolTip("Delete the selected runs and all their generations (asks first)")
        self.delete_action.triggered.connect(self._on_delete)
        self.use_settings_action = QAction("Use Settings in Run Setup", self)
        self.use_settings_action.setToolTip("Copy this run's scenario, policy and parameters into Run setup")
        self.use_settings_action.triggered.connect(self._on_use_settings)
        self.select_all_action = QAction("Compare All", self)
        self.select_all_action.setToolTip("Select every run so the timelines overlay them all")
        self.select_all_action.triggered.connect(self.table.selectAll)
        for a in (self.rename_action, self.delete_action):
            self.table.addAction(a)

        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.currentCellChanged.connect(self._on_current_cell)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self._update_actions()

    # ---- contents ---------------------------------------------------------------------------------------------
    def set_empty_text(self, text: str) -> None:
        """What the panel says when there is nothing to list."""
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.table if self._runs else self.empty_label)

    def runs(self) -> list[RunInfo]:
        """The runs shown, in table order."""
        return list(self._runs.values())

    def run(self, run_id: int) -> RunInfo | None:
        """The shown RunInfo of a run id (None if not listed)."""
        return self._runs.get(run_id)

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Show these runs: rows are updated in place, added or removed; selection is kept when possible."""
        self._updating = True
        try:
            wanted = {r.id: r for r in runs}
            for row in reversed(range(self.table.rowCount())):
                rid = self._row_id(row)
                if rid not in wanted:
                    self.table.removeRow(row)
            present = {self._row_id(row): row for row in range(self.table.rowCount())}
            for r in runs:
                row = present.get(r.id)
                if row is None:
                    row = self.table.rowCount()
                    self.table.insertRow(row)
                    for col in range(len(COLUMNS)):
                        item = QTableWidgetItem()
                        item.setData(ID_ROLE, r.id)
                        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                        if col == COL_NAME:
                            flags |= Qt.ItemFlag.ItemIsEditable
                        item.setFlags(flags)
                        self.table.setItem(row, col, item)
                self._fill_row(row, r)
            self._runs = wanted
        finally:
            self._updating = False
        self.stack.setCurrentWidget(self.table if runs else self.empty_label)
        self._update_actions()

    def update_run(self, run: RunInfo) -> None:
        """Refresh one run's row (progress while it computes); unknown runs are ignored."""
        row = self._row_of(run.id)
        if row < 0:
            return
        self._runs[run.id] = run
        self._updating = True
        try:
            self._fill_row(row, run)
        finally:
            self._updating = False
        self._update_actions()

    def set_pending(self, queued: list[int], paused: list[int]) -> None:
        """Runs waiting for the worker ('queued') or paused by the user ('paused'): shown in the Status column."""
        q, p = set(queued), set(paused)
        if q == self._queued and p == self._paused:
            return
        self._queued, self._paused = q, p
        self._updating = True
        try:
            for row in range(self.table.rowCount()):
                r = self._runs.get(self._row_id(row))
                if r is not None:
                    self._fill_row(row, r)
        finally:
            self._updating = False

    def status_text(self, r: RunInfo) -> str:
        """What the Status column says for a run."""
        if r.id in self._paused and r.status == "interrupted":
            return "paused"
        if r.id in self._queued and r.status != "running":
            return "queued"
        if r.status == "interrupted" and r.last_generation < 0:
            return "not started"
        return STATUS_TEXT.get(r.status, r.status)

    def _fill_row(self, row: int, r: RunInfo) -> None:
        editing = self.table.state() == QAbstractItemView.State.EditingState and self.table.currentRow() == row
        name_item = self.table.item(row, COL_NAME)
        if not editing and name_item.text() != r.name:
            name_item.setText(r.name)
        tip = (f"<b>{r.name}</b><br>{r.scenario} / {r.policy}, M={r.spec.samples}, seed {r.spec.seed}"
               f"{f', replicate {r.replicate + 1} of group {r.group}' if r.group != r.name else ''}"
               f"<br>status: {r.status}{f' ({r.message})' if r.message else ''}")
        name_item.setToolTip(tip)
        texts = {COL_SCENARIO: r.scenario, COL_POLICY: r.policy, COL_PARAMS: key_parameters(r),
                 COL_STATUS: self.status_text(r), COL_GENS: generations_text(r)}
        for col, text in texts.items():
            item = self.table.item(row, col)
            if item.text() != text:
                item.setText(text)
            item.setToolTip(tip if col != COL_PARAMS else text)
        status_item = self.table.item(row, COL_STATUS)
        color = STATUS_COLORS.get(r.status) if self.status_text(r) in STATUS_TEXT else None
        status_item.setForeground(QBrush(QColor(color)) if color else QBrush())
        if is_resumable(r):
            status_item.setToolTip(f"{r.message or 'interrupted'}. Right-click > Resume (or the Resume button) to "
                                   "continue from the last saved generation.")
        self.table.item(row, COL_GENS).setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def _row_id(self, row: int) -> int:
        item = self.table.item(row, COL_NAME)
        return int(item.data(ID_ROLE)) if item is not None else -1

    def _row_of(self, run_id: int) -> int:
        for row in range(self.table.rowCount()):
            if self._row_id(row) == run_id:
                return row
        return -1

    # ---- selection ------------------------------------------------------------------------------------------------
    def current_run_id(self) -> int | None:
        """The run the distribution and heatmap show (the current row, else the first selected)."""
        row = self.table.currentRow()
        selected = self.selected_run_ids()
        if row >= 0 and self._row_id(row) in selected:
            return self._row_id(row)
        return selected[0] if selected else None

    def selected_run_ids(self) -> list[int]:
        """Selected runs in table order (overlaid in the timelines)."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self._row_id(r) for r in rows]

    def select_runs(self, run_ids: list[int], current: int | None = None) -> None:
        """Select these runs (and make `current` the current row)."""
        sm = self.table.selectionModel()
        self._updating = True
        try:
            self.table.clearSelection()
            cur = current if current is not None else (run_ids[0] if run_ids else None)
            if cur is not None and self._row_of(cur) >= 0:
                self.table.setCurrentCell(self._row_of(cur), COL_NAME,
                                          sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows)
            for rid in run_ids:
                row = self._row_of(rid)
                if row >= 0:
                    self.table.selectionModel().select(
                        self.table.model().index(row, 0), sm.SelectionFlag.Select | sm.SelectionFlag.Rows)
        finally:
            self._updating = False
        self._update_actions()
        self.selection_changed.emit()

    def edit_current_name(self) -> None:
        """Open the inline editor on the current run's name (F2)."""
        rid = self.current_run_id()
        if rid is None:
            return
        row = self._row_of(rid)
        self.table.setCurrentCell(row, COL_NAME)
        self.table.editItem(self.table.item(row, COL_NAME))

    def _on_selection(self) -> None:
        if self._updating:
            return
        self._update_actions()
        self.selection_changed.emit()

    def _on_current_cell(self, row: int, col: int, prev_row: int, prev_col: int) -> None:
        if not self._updating and row != prev_row:
            self.selection_changed.emit()

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if self._updating or item.column() != COL_NAME:
            return
        rid = int(item.data(ID_ROLE))
        run = self._runs.get(rid)
        if run is None or item.text() == run.name:
            return
        new = item.text().strip()
        # Show the stored name until the window has renamed it in the file (and refreshed the table).
        self._updating = True
        item.setText(run.name)
        self._updating = False
        if new:
            # After the editor has closed: while it commits, the table still counts as editing and a refresh
            # would leave the row's name alone (see _fill_row).
            QTimer.singleShot(0, lambda: self.rename_requested.emit(rid, new))

    def _update_actions(self) -> None:
        ids = self.selected_run_ids()
        runs = [self._runs[i] for i in ids if i in self._runs]
        self.resume_action.setEnabled(any(is_resumable(r) for r in runs))
        self.rename_action.setEnabled(len(runs) >= 1)
        self.delete_action.setEnabled(bool(runs))
        self.use_settings_action.setEnabled(len(runs) >= 1)
        self.select_all_action.setEnabled(len(self._runs) > 1)

    def resumable_selected(self) -> list[int]:
        """Selected runs that are interrupted and incomplete."""
        return [i for i in self.selected_run_ids() if i in self._runs and is_resumable(self._runs[i])]

    def _on_resume(self) -> None:
        ids = self.resumable_selected()
        if ids:
            self.resume_requested.emit(ids)

    def _on_delete(self) -> None:
        ids = self.selected_run_ids()
        if ids:
            self.delete_requested.emit(ids)

    def _on_use_settings(self) -> None:
        rid = self.current_run_id()
        if rid is not None:
            self.use_settings_requested.emit(rid)

    def _on_context_menu(self, pos: QPoint) -> None:
        if self.table.itemAt(pos) is None:
            return
        self._update_actions()
        menu = QMenu(self)
        menu.addAction(self.resume_action)
        menu.addAction(self.rename_action)
        menu.addAction(self.use_settings_action)
        menu.addAction(self.select_all_action)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.exec(self.table.viewport().mapToGlobal(pos))
