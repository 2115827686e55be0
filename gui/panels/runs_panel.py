"""The "Runs" dock: every run of the project in a tree; select one or several to show and compare them.

Columns: name (edit inline to rename), status, generations done/target, scenario, policy, key parameters.
A replicate group (several runs sharing RunInfo.group) is one expandable row that summarises its replicates;
selecting it selects every replicate (the timelines draw their mean and band), and expanding it shows one row
per replicate, so one can be picked on its own. A run alone in its group is a plain row.

The current row is the run the distribution and heatmap show (for a group row: the replicate that was current
just before, else its first); all selected rows are overlaid in the timelines. Rows are updated in place while
a run computes, so selection and an open rename editor survive. Every cell's full text is in its tooltip, so
the columns may elide at a narrow dock width.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable, Iterator

from PySide6.QtCore import QItemSelectionModel, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QMenu,
    QStackedWidget,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.params import Param
from core.scenarios import SCENARIOS
from core.store import RunInfo
from gui.icons import glyph_icon

COLUMNS = ("Name", "Status", "Generations", "Scenario", "Policy", "Key parameters")
COL_NAME, COL_STATUS, COL_GENS, COL_SCENARIO, COL_POLICY, COL_PARAMS = range(6)
ID_ROLE = Qt.ItemDataRole.UserRole + 1  # on a run's row: its id
GROUP_ROLE = Qt.ItemDataRole.UserRole + 2  # on a group's row: the group name
STATUS_COLORS = {"running": "#2e7d32", "interrupted": "#c77700", "failed": "#c62828"}
STATUS_TEXT = {"running": "running", "finished": "finished", "interrupted": "interrupted", "failed": "failed"}
# The order of a group's status summary ("3 finished, 1 running").
SUMMARY_ORDER = ("finished", "running", "queued", "paused", "not started", "interrupted", "failed")
# Widest a column is made when the columns are fitted to their contents (wider text elides, see the tooltip).
FIT_CAPS = {COL_NAME: 280, COL_STATUS: 220, COL_GENS: 90, COL_SCENARIO: 110, COL_POLICY: 110, COL_PARAMS: 420}
MIN_NAME_WIDTH = 90
MIN_STATUS_WIDTH = 60
CELL_PADDING = 6  # beside a cell's text, so that neighbouring columns do not touch
TIP_LIST = 10  # replicates listed one by one in a group's tooltips

Key = tuple[str, object]  # ("run", id) or ("group", name): what a row shows, stable across refreshes


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


def group_generations_text(runs: list[RunInfo]) -> str:
    """A group's generations: 'done/target' when its replicates agree, else 'least–most/target'."""
    done = [max(r.last_generation, 0) for r in runs]
    targets = [r.spec.generations for r in runs]

    def span(values: list[int]) -> str:
        lo, hi = min(values), max(values)
        return str(lo) if lo == hi else f"{lo}–{hi}"

    return f"{span(done)}/{span(targets)}"


def _joined(values: list[str]) -> str:
    """The distinct values in first-seen order, comma separated (replicates normally share one)."""
    return ", ".join(dict.fromkeys(values))


def _listing(runs: list[RunInfo], text: Callable[[RunInfo], str]) -> str:
    """'name: text' for the first replicates, one a line (rich text), '...' for the rest."""
    lines = [f"{html.escape(r.name)}: {html.escape(text(r))}" for r in runs[:TIP_LIST]]
    if len(runs) > TIP_LIST:
        lines.append(f"... and {len(runs) - TIP_LIST} more")
    return "<br>".join(lines)


def _item_id(item: QTreeWidgetItem | None) -> int | None:
    """The run id of a run's row (None for a group's row or no row)."""
    if item is None:
        return None
    v = item.data(COL_NAME, ID_ROLE)
    return int(v) if v is not None else None


def _item_group(item: QTreeWidgetItem | None) -> str | None:
    """The group name of a group's row (None for a run's row or no row)."""
    if item is None:
        return None
    v = item.data(COL_NAME, GROUP_ROLE)
    return str(v) if v is not None else None


def _key(item: QTreeWidgetItem | None) -> Key | None:
    if item is None:
        return None
    group = _item_group(item)
    return ("group", group) if group is not None else ("run", _item_id(item))


class RunItem(QTreeWidgetItem):
    """One row: a run (its id in ID_ROLE, the name editable) or a replicate group (GROUP_ROLE, not editable)."""

    def __init__(self, run_id: int | None = None, group: str | None = None) -> None:
        super().__init__()
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if run_id is not None:
            self.setData(COL_NAME, ID_ROLE, run_id)
            flags |= Qt.ItemFlag.ItemIsEditable
        else:
            self.setData(COL_NAME, GROUP_ROLE, group)
            font = self.font(COL_NAME)
            font.setBold(True)
            self.setFont(COL_NAME, font)
        self.setFlags(flags)
        self.setTextAlignment(COL_GENS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    def text(self, column: int = COL_NAME) -> str:  # the name by default, like the earlier table's name cell
        return super().text(column)


class RunsTree(QTreeWidget):
    """The tree of runs; tells when it is resized (to fit the columns) and offers table-style access to its
    top-level rows (row, column) for code written against the earlier QTableWidget."""

    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()

    def rowCount(self) -> int:
        return self.topLevelItemCount()

    def item(self, row: int, column: int = COL_NAME) -> QTreeWidgetItem | None:
        """The top-level row `row` (its text(column) reads a cell; text() is the name)."""
        return self.topLevelItem(row)

    def setCurrentCell(self, row: int, column: int) -> None:
        item = self.topLevelItem(row)
        if item is not None:
            self.setCurrentItem(item, column)


class RunsPanel(QWidget):
    """Tree of runs and replicate groups with selection for compare, inline rename, delete, resume and a
    context menu."""

    selection_changed = Signal()  # read current_run_id() / selected_run_ids()
    rename_requested = Signal(int, str)
    delete_requested = Signal(list)  # run ids
    resume_requested = Signal(list)  # run ids
    use_settings_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[int, RunInfo] = {}  # in tree order
        self._items: dict[int, QTreeWidgetItem] = {}  # run id -> its row
        self._group_items: dict[str, QTreeWidgetItem] = {}  # group name -> its row (groups of 2+ runs)
        self._queued: set[int] = set()
        self._paused: set[int] = set()
        self._updating = False
        self._group_pick: int | None = None  # the replicate a current group row stands for (see current_run_id)
        self._fitting = False
        self._user_sized = False  # the user has resized a column: stop fitting them to their contents
        self.tree = RunsTree()
        self.table = self.tree  # its earlier name
        self.tree.setObjectName("runs_tree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Editing is started by hand (double-click on a name, F2) so that only a run's name cell is edited.
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setAlternatingRowColors(True)
        self.tree.setWordWrap(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setIndentation(14)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.setToolTip("Runs of this project. Click to show a run; Ctrl/Shift-click to compare several in "
                             "the timelines; a replicate group shows its mean and spread (expand it to pick one "
                             "replicate); double-click (F2) a name to rename; right-click for more.")
        header = self.tree.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(36)
        for col, width in ((COL_NAME, 172), (COL_STATUS, 80), (COL_GENS, 80), (COL_SCENARIO, 72),
                           (COL_POLICY, 72), (COL_PARAMS, 160)):
            self.tree.setColumnWidth(col, width)
        self.tree.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        tips = {COL_NAME: "Run name (double-click to rename); a replicate group's row expands to its replicates",
                COL_SCENARIO: "Scenario: the data world and model family",
                COL_POLICY: "Policy: how training sets are built",
                COL_PARAMS: "Samples per generation, non-default settings and seed",
                COL_STATUS: "finished, running, interrupted (resumable) or failed; a group counts its replicates",
                COL_GENS: "Generations computed / target (generation 0 is the real data)"}
        head = self.tree.headerItem()
        for col, tip in tips.items():
            head.setToolTip(col, tip)

        self.empty_label = QLabel()
        self.empty_label.setObjectName("runs_empty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setMargin(16)
        self.empty_label.setEnabled(False)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(self.tree)
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
        self.rename_action.setToolTip("Rename the current run (a replicate group: expand it and rename a replicate)")
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
        self.select_all_action.triggered.connect(self.tree.selectAll)
        for a in (self.rename_action, self.delete_action):
            self.tree.addAction(a)

        self.tree.itemSelectionChanged.connect(self._on_selection)
        self.tree.currentItemChanged.connect(self._on_current_item)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemDoubleClicked.connect(self._on_double_click)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)
        self.tree.resized.connect(self._fit_columns)
        header.sectionResized.connect(self._on_section_resized)
        self._update_actions()

    # ---- contents ---------------------------------------------------------------------------------------------
    def set_empty_text(self, text: str) -> None:
        """What the panel says when there is nothing to list."""
        self.empty_label.setText(text)
        self.stack.setCurrentWidget(self.tree if self._runs else self.empty_label)

    def runs(self) -> list[RunInfo]:
        """The runs shown, in tree order (a group's replicates together)."""
        return list(self._runs.values())

    def run(self, run_id: int) -> RunInfo | None:
        """The shown RunInfo of a run id (None if not listed)."""
        return self._runs.get(run_id)

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Show these runs: rows are updated in place, added or removed; selection is kept when possible.

        Runs sharing a group name (2 or more) become one group row with a child row per replicate, placed
        where the group's first run comes in `runs`.
        """
        members: dict[str, list[RunInfo]] = {}
        for r in runs:
            members.setdefault(r.group, []).append(r)
        layout: list[tuple[Key, list[RunInfo]]] = [
            (("group", name), rs) if len(rs) > 1 else (("run", rs[0].id), rs) for name, rs in members.items()]
        self._runs = {r.id: r for _, rs in layout for r in rs}
        tree = self.tree
        self._updating = True
        try:
            selected = {_key(i) for i in tree.selectedItems()}
            current = _key(tree.currentItem())
            expanded = {_key(t) for t in (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
                        if t.isExpanded()}
            wanted = {k for k, _ in layout}
            for i in reversed(range(tree.topLevelItemCount())):
                if _key(tree.topLevelItem(i)) not in wanted:
                    tree.takeTopLevelItem(i)
            existing = {_key(tree.topLevelItem(i)): tree.topLevelItem(i) for i in range(tree.topLevelItemCount())}
            moved = False
            for pos, (key, rs) in enumerate(layout):
                item = existing.get(key)
                if item is None:
                    item = RunItem(run_id=rs[0].id) if key[0] == "run" else RunItem(group=str(key[1]))
                    tree.insertTopLevelItem(pos, item)
                elif tree.indexOfTopLevelItem(item) != pos:
                    tree.takeTopLevelItem(tree.indexOfTopLevelItem(item))
                    tree.insertTopLevelItem(pos, item)
                    moved = True
                if key[0] == "group":
                    moved |= self._sync_children(item, rs)
            self._index_items()
            for item in self._walk():
                self._fill(item)
            if moved:  # a row taken out and put back lost its selection and expansion: restore them
                for item in self._walk():
                    k = _key(item)
                    if k in selected:
                        item.setSelected(True)
                    if k in expanded:
                        item.setExpanded(True)
                    if k == current and tree.currentItem() is not item:
                        tree.setCurrentItem(item, COL_NAME, QItemSelectionModel.SelectionFlag.NoUpdate)
        finally:
            self._updating = False
        self.stack.setCurrentWidget(self.tree if runs else self.empty_label)
        self._fit_columns()
        self._update_actions()

    def _sync_children(self, group_item: QTreeWidgetItem, runs: list[RunInfo]) -> bool:
        """Make a group row's children these runs, in order; True when an existing child had to be moved."""
        if self._ids_of(group_item) == [r.id for r in runs]:
            return False  # the usual case, kept cheap for a group of many replicates
        wanted = {r.id for r in runs}
        for i in reversed(range(group_item.childCount())):
            if _item_id(group_item.child(i)) not in wanted:
                group_item.takeChild(i)
        moved = False
        present = set(self._ids_of(group_item))
        for pos, r in enumerate(runs):
            if pos < group_item.childCount() and _item_id(group_item.child(pos)) == r.id:
                continue
            if r.id in present:
                at = next(i for i in range(group_item.childCount()) if _item_id(group_item.child(i)) == r.id)
                group_item.insertChild(pos, group_item.takeChild(at))
                moved = True
            else:
                group_item.insertChild(pos, RunItem(run_id=r.id))
        return moved

    def _index_items(self) -> None:
        self._items, self._group_items = {}, {}
        for item in self._walk():
            rid, group = _item_id(item), _item_group(item)
            if rid is not None:
                self._items[rid] = item
            elif group is not None:
                self._group_items[group] = item

    def _walk(self) -> Iterator[QTreeWidgetItem]:
        """Every row in tree order: each top-level row, then its children."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            yield top
            for j in range(top.childCount()):
                yield top.child(j)

    def _ids_of(self, item: QTreeWidgetItem) -> list[int]:
        """The runs a row stands for: a group's replicates, or the run."""
        rid = _item_id(item)
        if rid is not None:
            return [rid]
        return [i for i in (_item_id(item.child(j)) for j in range(item.childCount())) if i is not None]

    def update_run(self, run: RunInfo) -> None:
        """Refresh one run's row and its group's summary (progress while it computes); unknown runs are
        ignored."""
        item = self._items.get(run.id)
        if item is None:
            return
        self._runs[run.id] = run
        self._updating = True
        try:
            self._fill(item)
            if item.parent() is not None:
                self._fill(item.parent())
        finally:
            self._updating = False
        self._fit_columns()
        self._update_actions()

    def set_pending(self, queued: list[int], paused: list[int]) -> None:
        """Runs waiting for the worker ('queued') or paused by the user ('paused'): shown in the Status column."""
        q, p = set(queued), set(paused)
        if q == self._queued and p == self._paused:
            return
        self._queued, self._paused = q, p
        self._updating = True
        try:
            for item in self._walk():
                self._fill(item)
        finally:
            self._updating = False
        self._fit_columns()

    def status_text(self, r: RunInfo) -> str:
        """What the Status column says for a run."""
        if r.id in self._paused and r.status == "interrupted":
            return "paused"
        if r.id in self._queued and r.status != "running":
            return "queued"
        if r.status == "interrupted" and r.last_generation < 0:
            return "not started"
        return STATUS_TEXT.get(r.status, r.status)

    def group_status_text(self, runs: list[RunInfo]) -> str:
        """What the Status column says for a replicate group: counts such as '3 finished, 1 running'."""
        counts = Counter(self.status_text(r) for r in runs)
        order = [s for s in SUMMARY_ORDER if s in counts] + sorted(s for s in counts if s not in SUMMARY_ORDER)
        return ", ".join(f"{counts[s]} {s}" for s in order)

    def _fill(self, item: QTreeWidgetItem) -> None:
        rid = _item_id(item)
        if rid is not None:
            run = self._runs.get(rid)
            if run is not None:
                self._fill_run(item, run)
        else:
            runs = [self._runs[i] for i in self._ids_of(item) if i in self._runs]
            if runs:
                self._fill_group(item, str(_item_group(item)), runs)

    @staticmethod
    def _set(item: QTreeWidgetItem, col: int, text: str, tip: str) -> None:
        if item.text(col) != text:
            item.setText(col, text)
        if item.toolTip(col) != tip:
            item.setToolTip(col, tip)

    @staticmethod
    def _set_color(item: QTreeWidgetItem, color: str | None) -> None:
        item.setData(COL_STATUS, Qt.ItemDataRole.ForegroundRole, QBrush(QColor(color)) if color else None)

    def _fill_run(self, item: QTreeWidgetItem, r: RunInfo) -> None:
        editing = (self.tree.state() == QAbstractItemView.State.EditingState
                   and _item_id(self.tree.currentItem()) == r.id)
        if not editing:  # any change to the name cell, even its tooltip, would reset an open editor's text
            esc = html.escape
            tip = (f"<b>{esc(r.name)}</b><br>{esc(r.scenario)} / {esc(r.policy)}, M={r.spec.samples}, "
                   f"seed {r.spec.seed}"
                   f"{f', replicate {r.replicate + 1} of group {esc(r.group)}' if r.group != r.name else ''}"
                   f"<br>status: {esc(r.status)}{f' ({esc(r.message)})' if r.message else ''}")
            self._set(item, COL_NAME, r.name, tip)
        status = self.status_text(r)
        if is_resumable(r):
            status_tip = (f"{status}: {r.message or 'interrupted'}. Right-click > Resume (or the Resume button) to "
                          "continue from the last saved generation.")
        else:
            status_tip = f"{status}: {r.message}" if r.message else status
        gens = generations_text(r)
        self._set(item, COL_STATUS, status, status_tip)
        self._set(item, COL_GENS, gens, f"{gens}: generations computed / target (generation 0 is the real data)")
        self._set(item, COL_SCENARIO, r.scenario, f"Scenario: {r.scenario}")
        self._set(item, COL_POLICY, r.policy, f"Policy: {r.policy}")
        params = key_parameters(r)
        self._set(item, COL_PARAMS, params, params)
        self._set_color(item, STATUS_COLORS.get(r.status) if status in STATUS_TEXT else None)

    def _fill_group(self, item: QTreeWidgetItem, group: str, runs: list[RunInfo]) -> None:
        esc = html.escape
        n = len(runs)
        name = f"{group} ({n} replicates)"
        status = self.group_status_text(runs)
        gens = group_generations_text(runs)
        scenario, policy = _joined([r.scenario for r in runs]), _joined([r.policy for r in runs])
        params = key_parameters(runs[0])
        self._set(item, COL_NAME, name,
                  f"<b>{esc(name)}</b><br>{esc(scenario)} / {esc(policy)}, M={runs[0].spec.samples}, "
                  f"seed {runs[0].spec.seed}<br>status: {esc(status)}<br>Selected, the timelines show the "
                  "replicates' mean and spread; expand the row to pick one replicate.")
        resumable = sum(is_resumable(r) for r in runs)
        self._set(item, COL_STATUS, status,
                  f"{esc(status)}"
                  + (f"<br>{resumable} can be resumed: right-click > Resume." if resumable else "")
                  + "<br><br>" + _listing(runs, self.status_text))
        self._set(item, COL_GENS, gens, f"{gens}: generations computed / target per replicate (generation 0 is "
                  "the real data)<br><br>" + _listing(runs, generations_text))
        self._set(item, COL_SCENARIO, scenario, f"Scenario: {scenario}")
        self._set(item, COL_POLICY, policy, f"Policy: {policy}")
        self._set(item, COL_PARAMS, params, f"{params}<br>(shared by the {n} replicates, which differ in their "
                  "random streams)")
        statuses = {r.status for r in runs}
        color = next((STATUS_COLORS[s] for s in ("running", "failed", "interrupted") if s in statuses), None)
        if color == STATUS_COLORS["interrupted"] and not resumable:
            color = None
        self._set_color(item, color)

    # ---- column widths ------------------------------------------------------------------------------------------
    def _fit_columns(self) -> None:
        """Size the columns to their contents and header labels (capped; longer text elides, its tooltip holds
        all of it). When name, status and generations do not fit the visible width that way, they are fitted
        into it: the name keeps at least half of it, status gets the rest, and header labels may elide (their
        tooltips explain the columns); the columns after them scroll sideways. Stops once the user resizes a
        column."""
        if self._user_sized or not self._runs:
            return
        tree, header = self.tree, self.tree.header()

        def content(col: int) -> int:
            extra = 2 * tree.indentation() if col == COL_NAME else CELL_PADDING
            return min(tree.sizeHintForColumn(col) + extra, FIT_CAPS[col])

        def full(col: int) -> int:  # the contents and the header label
            return min(max(content(col), header.sectionSizeHint(col)), FIT_CAPS[col])

        widths = {col: full(col) for col in range(len(COLUMNS))}
        avail = tree.viewport().width()
        if widths[COL_NAME] + widths[COL_STATUS] + widths[COL_GENS] > avail:  # narrow: the labels may elide
            gens, status, name = content(COL_GENS), content(COL_STATUS), content(COL_NAME)
            name = min(name, max(MIN_NAME_WIDTH, avail // 2, avail - gens - status))
            status = min(status, max(MIN_STATUS_WIDTH, avail - gens - name))
            widths.update({COL_NAME: name, COL_STATUS: status, COL_GENS: gens})
        self._fitting = True
        try:
            for col, width in widths.items():
                if header.sectionSize(col) != width:
                    header.resizeSection(col, width)
        finally:
            self._fitting = False

    def _on_section_resized(self, col: int, old: int, new: int) -> None:
        # The last section follows the panel's width by itself (it stretches): not the user's doing.
        if not self._fitting and col != COL_PARAMS and not self._updating:
            self._user_sized = True

    # ---- selection ------------------------------------------------------------------------------------------------
    def current_run_id(self) -> int | None:
        """The run the distribution and heatmap show: the current row's run if it is selected; for a selected
        group row, the replicate that was current just before it (if it belongs to the group), else its
        first; otherwise the first selected run."""
        selected = self.selected_run_ids()
        cur = self.tree.currentItem()
        if cur is not None and cur.isSelected() and _item_group(cur) is not None:
            ids = self._ids_of(cur)
            if self._group_pick in ids:
                return self._group_pick
            if ids:
                return ids[0]
        rid = _item_id(cur)
        if rid is not None and rid in selected:
            return rid
        return selected[0] if selected else None

    def selected_run_ids(self) -> list[int]:
        """Selected runs in tree order (overlaid in the timelines); a selected group row selects all of its
        replicates."""
        out: dict[int, None] = {}
        for item in self._walk():
            if item.isSelected():
                out.update(dict.fromkeys(self._ids_of(item)))
        return list(out)

    def select_runs(self, run_ids: list[int], current: int | None = None) -> None:
        """Select these runs (and make `current` the current one). A group all of whose replicates are given
        is selected as its (collapsed) group row; given some of them, their rows are selected (expanded)."""
        want = {i for i in run_ids if i in self._items}
        targets: list[QTreeWidgetItem] = []
        whole: set[str] = set()
        expand: list[QTreeWidgetItem] = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            group = _item_group(top)
            ids = self._ids_of(top)
            if group is None:
                if ids and ids[0] in want:
                    targets.append(top)
            elif ids and want.issuperset(ids):
                targets.append(top)
                whole.add(group)
            else:
                children = [top.child(j) for j in range(top.childCount()) if _item_id(top.child(j)) in want]
                targets.extend(children)
                if children:
                    expand.append(top)
        cur = current if current is not None else (run_ids[0] if run_ids else None)
        cur_item = self._items.get(cur) if cur is not None else None
        if cur_item is not None and cur_item.parent() is not None:
            if _item_group(cur_item.parent()) in whole:
                cur_item = cur_item.parent()
            else:
                expand.append(cur_item.parent())
        sm = self.tree.selectionModel()
        self._updating = True
        try:
            for top in expand:
                top.setExpanded(True)
            self.tree.clearSelection()
            if cur_item is not None:
                self.tree.setCurrentItem(cur_item, COL_NAME,
                                         sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows)
            for item in targets:
                item.setSelected(True)
            self._group_pick = cur if cur_item is not None and _item_group(cur_item) is not None else None
        finally:
            self._updating = False
        if cur_item is not None:
            self.tree.scrollToItem(cur_item)
        self._update_actions()
        self.selection_changed.emit()

    def neighbour_of(self, run_ids: list[int]) -> int | None:
        """The run to select once these runs are deleted: the row after the last deleted row, else the one
        before it, else None. A row is deleted when all its runs are; a group row stands for its first
        remaining replicate. Rows are the visible ones, plus the replicates of a group losing only some."""
        gone = set(run_ids)
        rows: list[list[int]] = []  # the runs of each row, in tree order
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            ids = self._ids_of(top)
            rows.append(ids)
            if _item_group(top) is not None and (top.isExpanded() or gone.intersection(ids)):
                rows.extend([[c] for c in ids])
        deleted = [n for n, ids in enumerate(rows) if ids and gone.issuperset(ids)]
        if not deleted:
            return None
        last = deleted[-1]
        order = [*range(last + 1, len(rows)), *reversed(range(last))]
        for n in order:
            left = [i for i in rows[n] if i not in gone]
            if left:
                return left[0]
        return None

    def edit_current_name(self) -> None:
        """Open the inline editor on the current run's name (F2). A group row has no name of its own to edit
        (the project renames runs, not groups): expand it and rename a replicate."""
        cur = self.tree.currentItem()
        if cur is not None and cur.isSelected() and _item_group(cur) is not None:
            return
        rid = self.current_run_id()
        item = self._items.get(rid) if rid is not None else None
        if item is None:
            return
        if item.parent() is not None:
            item.parent().setExpanded(True)
        sm = self.tree.selectionModel()
        if self.tree.currentItem() is not item:
            self.tree.setCurrentItem(item, COL_NAME, sm.SelectionFlag.ClearAndSelect | sm.SelectionFlag.Rows)
        self.tree.editItem(item, COL_NAME)

    def _on_double_click(self, item: QTreeWidgetItem, column: int) -> None:
        if column == COL_NAME and _item_id(item) is not None:
            self.tree.editItem(item, COL_NAME)

    def _on_selection(self) -> None:
        if self._updating:
            return
        self._update_actions()
        self.selection_changed.emit()

    def _on_current_item(self, cur: QTreeWidgetItem | None, prev: QTreeWidgetItem | None) -> None:
        if cur is not None and _item_group(cur) is not None:
            if prev is not None and prev.parent() is not None and _key(prev.parent()) == _key(cur):
                self._group_pick = _item_id(prev)  # from one of its replicates to the group: keep showing it
            elif self._group_pick not in self._ids_of(cur):
                self._group_pick = None
        else:
            self._group_pick = None
        if not self._updating:
            self._update_actions()
            self.selection_changed.emit()

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != COL_NAME:
            return
        rid = _item_id(item)
        run = self._runs.get(rid) if rid is not None else None
        if run is None or item.text(COL_NAME) == run.name:
            return
        new = item.text(COL_NAME).strip()
        # Show the stored name until the window has renamed it in the file (and refreshed the tree).
        self._updating = True
        item.setText(COL_NAME, run.name)
        self._updating = False
        if new:
            # After the editor has closed: while it commits, the tree still counts as editing and a refresh
            # would leave the row's name alone (see _fill_run).
            QTimer.singleShot(0, lambda: self.rename_requested.emit(run.id, new))

    def _update_actions(self) -> None:
        ids = self.selected_run_ids()
        runs = [self._runs[i] for i in ids if i in self._runs]
        cur = self.tree.currentItem()
        group_current = cur is not None and cur.isSelected() and _item_group(cur) is not None
        self.resume_action.setEnabled(any(is_resumable(r) for r in runs))
        self.rename_action.setEnabled(len(runs) >= 1 and not group_current)
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
        if self.tree.itemAt(pos) is None:
            return
        self._update_actions()
        menu = QMenu(self)
        menu.addAction(self.resume_action)
        menu.addAction(self.rename_action)
        menu.addAction(self.use_settings_action)
        menu.addAction(self.select_all_action)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
