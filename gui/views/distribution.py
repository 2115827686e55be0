"""The distribution pane: picks the view for each shown run's scenario kind and shows one generation.

One run (or one group of replicates) selected: one large view, titled "<run> — generation k". Several: small
multiples (see gui.views.compare), one pane per series of the timeline, titled with the run's name and drawn in
the series colour the timeline gives it; the controls of the view kinds shown sit above them and apply to every
pane (they are the single view's own controls, moved there while the multiples are shown).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from core.params import ParamError
from core.store import ProjectError, RunInfo
from gui.cache import RunCache
from gui.theme_colors import chart_colors
from gui.views.base import Pane, Table, view_kind
from gui.views.compare import (
    MAX_DISTRIBUTIONS,
    Multiple,
    SmallMultiples,
    grid_columns,
    mark_series,
    plan_multiples,
    set_plot_title,
    showing_hint,
    showing_text,
    title_html,
    with_current,
)
from gui.views.kind import KindView


def _factories() -> dict[str, Callable[[], KindView]]:
    from gui.views.categorical import ImagesView, RankView, TextView
    from gui.views.hist1d import Hist1DView
    from gui.views.hist2d import Hist2DView
    from gui.views.regression import RegressionView

    return {"hist1d": Hist1DView, "hist2d": Hist2DView, "rank": RankView, "text": TextView,
            "images": ImagesView, "regression": RegressionView}


KINDS = ("hist1d", "hist2d", "rank", "text", "images", "regression")
KIND_NAMES = {"hist1d": "histogram", "hist2d": "2-D histogram", "rank": "rank-frequency", "text": "text",
              "images": "images", "regression": "regression"}

MSG_NO_PROJECT = ("No project is open.\nOpen a project (File ▸ Open), or start a run in the Run setup panel: "
                  "each generation's distribution will appear here.")
MSG_NO_RUN = ("No run selected.\nSelect a run in the Runs list, or start one in the Run setup panel, to see its "
              "distribution generation by generation.")


def _options(view: KindView) -> list[QWidget]:
    """The view's option controls: its header row without the info text, in order."""
    out = []
    for i in range(view.header.count()):
        w = view.header.itemAt(i).widget()
        if w is not None and w is not view.info:
            out.append(w)
    return out


def _copy_options(src: list[QWidget], dst: list[QWidget]) -> None:
    for a, b in zip(src, dst):
        if isinstance(a, QAbstractButton) and isinstance(b, QAbstractButton):
            b.setChecked(a.isChecked())
        elif isinstance(a, QComboBox) and isinstance(b, QComboBox):
            b.setCurrentIndex(a.currentIndex())
        elif isinstance(a, QSpinBox) and isinstance(b, QSpinBox):
            b.setValue(a.value())


def _changed_signal(w: QWidget):  # noqa: ANN202 (a Qt signal)
    if isinstance(w, QAbstractButton):
        return w.toggled
    if isinstance(w, QComboBox):
        return w.currentIndexChanged
    if isinstance(w, QAbstractSpinBox) and hasattr(w, "valueChanged"):
        return w.valueChanged
    return None


@dataclass
class Cell:
    """One pane of the multiples: its run (and series), and the view drawing it, or a sentence saying why not."""

    multiple: Multiple
    widget: QWidget
    view: KindView | None = None
    last: int = -1

    @property
    def run(self) -> RunInfo:
        return self.multiple.run


def problem_text(run: RunInfo, kind: str | None) -> str | None:
    """Why this run's distribution cannot be drawn (None: it can), in the pane's words."""
    if kind is None:
        return (f"Run “{run.name}” uses the scenario “{run.scenario}”, which this version of Collapse Lab does not "
                "know, so its distribution cannot be drawn. The metric timelines below still show its stored "
                "metrics.")
    if not run.reference.get("bins"):
        return (f"Run “{run.name}” has no generation yet. Start or resume it in the Run setup panel; generation 0 "
                "(the real data) appears here first.")
    if kind not in KINDS:
        return (f"Run “{run.name}” ({run.scenario}) asks for a “{kind}” view, which this version of Collapse Lab "
                "cannot draw. The drift heatmap and the metric timelines still work; a newer Collapse Lab may draw "
                "this kind.")
    return None


class DistributionView(Pane):
    """Distribution at the current generation, drawn by the view kind of each shown run's scenario."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self._host = QWidget()
        super().__init__(self._host, parent)
        self.cache: RunCache | None = None
        self.run: RunInfo | None = None
        self.runs: list[RunInfo] = []  # the selected runs (set_runs)
        self.multiple: Multiple | None = None  # the single view's series
        self.kind: str | None = None
        self.views: dict[str, KindView] = {}  # the single view of each kind (their controls are the options)
        self.view: KindView | None = None  # the single view, or the current run's pane among the multiples
        self.cells: list[Cell] = []  # the multiples (empty while one run is shown)
        self.generation = -1
        self._last = -1
        self._key: tuple | None = None
        self._spares: dict[str, list[KindView]] = {}  # the views of the multiples, by kind (kept for reuse)
        self._notes: list[QLabel] = []  # panes of runs that cannot be drawn
        self._option_widgets: dict[str, list[QWidget]] = {}  # the single views' option controls, by kind
        self._moved: list[tuple[str, list[bool]]] = []  # kinds whose options sit above the multiples (hidden?)
        self._bar_labels: list[QLabel] = []
        self.compare = QWidget()  # the multiples' page: the options of their kinds above the sheet
        col = QVBoxLayout(self.compare)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.bar = QHBoxLayout()
        self.bar.setContentsMargins(6, 2, 6, 0)
        self.bar.setSpacing(8)
        col.addLayout(self.bar)
        self.bar.addStretch(1)
        self.sheet = SmallMultiples()
        col.addWidget(self.sheet, 1)
        self.addWidget(self.compare)
        self.show_message(MSG_NO_PROJECT)
        # Built up front, not when a run's first generation arrives (building a plot costs tens of ms, a
        # visible stall while a run starts): the common kind now, the others one per event-loop turn as soon
        # as the event loop runs (at launch, before anything is computed; hidden or not), and the current
        # run's kind at the latest in set_run.
        self.prepare("hist1d")
        self._to_prepare = [k for k in KINDS if k != "hist1d"]
        self._prepare_timer = QTimer(self)
        self._prepare_timer.setSingleShot(True)
        self._prepare_timer.setInterval(0)
        self._prepare_timer.timeout.connect(self._prepare_next)
        self._prepare_timer.start()

    def prepare(self, kind: str) -> KindView:
        """The single view of this kind, built now when it does not exist yet (it is not shown)."""
        view = self.views.get(kind)
        if view is None:
            view = _factories()[kind]()
            self.views[kind] = view
            self.addWidget(view)
            view.ensurePolished()
            self._option_widgets[kind] = _options(view)
            for w in self._option_widgets[kind]:  # the multiples of this kind follow its options
                sig = _changed_signal(w)
                if sig is not None:
                    sig.connect(lambda *_, k=kind: self._sync_options(k))
        return view

    def _prepare_next(self) -> None:
        if not shiboken6.isValid(self):  # the pane is being destroyed (a queued timeout may still arrive)
            self._to_prepare.clear()
            return
        try:
            while self._to_prepare:
                kind = self._to_prepare.pop(0)
                if kind not in self.views:
                    self.prepare(kind)
                    break
            if self._to_prepare:
                self._prepare_timer.start()
        except RuntimeError:  # deleted meanwhile ("Internal C++ object already deleted")
            self._to_prepare.clear()

    # ---- set-up ---------------------------------------------------------------------------------------------
    def set_cache(self, cache: RunCache | None) -> None:
        self.cache = cache
        self.set_run(None)

    def set_run(self, run: RunInfo | None) -> None:
        """Show one run (None: none), set up anew."""
        self._key = None
        self.set_runs([run] if run is not None else [], run)

    def set_runs(self, runs: list[RunInfo], current: RunInfo | None) -> None:
        """Show the selected runs: one large view for one series, small multiples for several (see
        gui.views.compare). `current` picks a group's replicate and is always among the multiples."""
        self.runs = runs = with_current(runs, current)
        plan, total = plan_multiples(runs, current, MAX_DISTRIBUTIONS)
        if self.cache is None or len(plan) <= 1:
            single = plan[0] if plan and self.cache is not None else None
            key = ("one", single.key if single else None)
            if key == self._key and single is not None and (self.view is not None or not
                                                             single.run.reference.get("bins")):
                self.run, self.multiple = single.run, single  # a fresh RunInfo (a new name, a new status)
                self._title_single()
                return
            self._key = key
            self._leave_compare()
            self._set_single(single)
            return
        key = ("many", tuple(m.key for m in plan), total)
        if key == self._key:  # the same panes: fresh RunInfos (names), maybe another current run among them
            for cell, m in zip(self.cells, plan):
                cell.multiple = m
            self._take_current(self._current_cell(current))
            self._title_cells()
            return
        self._key = key
        self._set_compare(plan, total, len(runs), current)

    def _set_single(self, multiple: Multiple | None) -> None:
        run = multiple.run if multiple is not None else None
        self.run, self.multiple, self.kind, self.view, self.generation = run, multiple, None, None, -1
        if self.cache is None:
            self.show_message(MSG_NO_PROJECT)
            return
        if run is None:
            self.show_message(MSG_NO_RUN)
            return
        try:
            kind: str | None = view_kind(run)
        except ParamError:
            kind = None
        if kind in KINDS:
            self.prepare(kind)  # now, not when generation 0 arrives while the run computes
        problem = problem_text(run, kind)
        if problem is not None:
            self.kind = kind if kind not in KINDS and kind is not None else None
            self.show_message(problem)
            return
        assert kind is not None
        view = self.prepare(kind)
        self.kind, self.view = kind, view
        try:
            view.set_run(self.cache, run)
        except (ProjectError, KeyError, ValueError, TypeError, IndexError) as exc:
            self.view = None
            self.show_message(f"Run “{run.name}” cannot be drawn: its stored reference data is incomplete "
                              f"({type(exc).__name__}: {exc}).")
            return
        self._title_single()
        self._last = self.cache.last_generation(run)
        if self._last < 0:
            self.show_message(f"Run “{run.name}” has no generation yet. Start or resume it in the Run setup "
                              "panel; generation 0 (the real data) appears here first.")
        else:
            self.setCurrentWidget(view)

    # ---- the multiples ----------------------------------------------------------------------------------------
    @property
    def comparing(self) -> bool:
        """Whether small multiples (several runs) are shown."""
        return bool(self.cells)

    def _set_compare(self, plan: list[Multiple], total: int, n_runs: int, current: RunInfo | None) -> None:
        assert self.cache is not None
        for cell in self.cells:
            if cell.view is not None:
                cell.view.run = None  # released: a spare draws nothing until it is given a run again
        used: dict[str, int] = {}
        self.cells = [self._make_cell(m, used) for m in plan]
        kinds = list(dict.fromkeys(c.view.kind for c in self.cells if c.view is not None))
        for kind in kinds:  # the single view of each kind holds the options: give it one of the runs
            primary = self.prepare(kind)
            first = next(c for c in self.cells if c.view is not None and c.view.kind == kind)
            if primary.run is None or primary.run.id != first.run.id:
                try:
                    primary.set_run(self.cache, first.run)
                except (ProjectError, KeyError, ValueError, TypeError, IndexError):
                    pass
            self._sync_options(kind)
        self._move_options(kinds)
        self.sheet.set_cells([c.widget for c in self.cells], grid_columns(len(self.cells)))
        self.sheet.set_note(showing_text(len(plan), total, n_runs), showing_hint(len(plan), total))
        self._take_current(self._current_cell(current))
        self.generation = -1
        self.setCurrentWidget(self.compare)

    def _take_current(self, cell: Cell) -> None:
        """The current run's pane is what `run`, `view` (and the chart's CSV) refer to among the multiples."""
        self.run, self.multiple, self._last = cell.run, cell.multiple, cell.last
        self.view, self.kind = cell.view, (cell.view.kind if cell.view is not None else None)

    def _current_cell(self, current: RunInfo | None = None) -> Cell:
        cid = current.id if current is not None else (self.run.id if self.run is not None else None)
        return next((c for c in self.cells if c.run.id == cid), self.cells[0])

    def _spare(self, kind: str, index: int) -> KindView:
        pool = self._spares.setdefault(kind, [])
        while len(pool) <= index:
            view = _factories()[kind]()
            for w in _options(view):  # the options are the single view's, shown above the multiples
                w.hide()
            gen_text = getattr(view, "gen_text", None)
            if gen_text is not None:
                gen_text.setVisible(False)  # the title names the generation
            pool.append(view)
        return pool[index]

    def _note(self, index: int) -> QLabel:
        while len(self._notes) <= index:
            lab = QLabel()
            lab.setWordWrap(True)
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setMargin(8)
            lab.setFrameShape(QFrame.Shape.StyledPanel)
            lab.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self._notes.append(lab)
        return self._notes[index]

    def _make_cell(self, m: Multiple, used: dict[str, int]) -> Cell:
        assert self.cache is not None
        run = m.run
        try:
            kind: str | None = view_kind(run)
        except ParamError:
            kind = None
        problem = problem_text(run, kind)
        if problem is None:
            assert kind is not None
            view = self._spare(kind, used.get(kind, 0))
            try:
                view.set_run(self.cache, run)
            except (ProjectError, KeyError, ValueError, TypeError, IndexError) as exc:
                view.run = None
                problem = (f"Run “{run.name}” cannot be drawn: its stored reference data is incomplete "
                           f"({type(exc).__name__}: {exc}).")
            else:
                used[kind] = used.get(kind, 0) + 1
                last = self.cache.last_generation(run)
                if last >= 0:
                    plot = getattr(view, "plot", None)
                    if plot is not None:
                        plot.set_accent(m.color_index)
                        if kind in ("hist2d", "images"):  # colour maps: the frame says which run it is
                            mark_series(plot, m.color_index)
                    view.notice = ""
                    cell = Cell(m, view, view, last)
                    self._title_cell(cell)
                    return cell
                problem = (f"Run “{run.name}” has no generation yet. Start or resume it in the Run setup panel; "
                           "generation 0 (the real data) appears here first.")
        lab = self._note(used.get("", 0))
        used[""] = used.get("", 0) + 1
        lab.setText(f"<b>{m.label}</b><br>{problem}")
        return Cell(m, lab)

    def _leave_compare(self) -> None:
        if not self.cells:
            return
        for cell in self.cells:
            if cell.view is not None:
                cell.view.run = None
        self.cells = []
        self._move_options([])
        self.sheet.set_cells([], 1)

    def _move_options(self, kinds: list[str]) -> None:
        """Put the options of these kinds' single views above the multiples ([]: back where they were)."""
        kinds = [k for k in kinds if self._option_widgets.get(k)]
        if [k for k, _ in self._moved] == kinds:
            return
        for kind, hidden in self._moved:  # back into the single view's header, in order
            view = self.views[kind]
            for i, (w, h) in enumerate(zip(self._option_widgets[kind], hidden)):
                view.header.insertWidget(i, w)
                w.setHidden(h)
        self._moved = []
        for lab in self._bar_labels:
            self.bar.removeWidget(lab)
            lab.deleteLater()
        self._bar_labels = []
        pos = 0
        for kind in kinds:
            widgets = self._option_widgets[kind]
            hidden = [w.isHidden() for w in widgets]
            if len(kinds) > 1:
                lab = QLabel(f"{KIND_NAMES.get(kind, kind)}:")
                self.bar.insertWidget(pos, lab)
                self._bar_labels.append(lab)
                pos += 1
            for w, h in zip(widgets, hidden):
                self.bar.insertWidget(pos, w)
                w.setHidden(h)
                pos += 1
            self._moved.append((kind, hidden))

    def _sync_options(self, kind: str) -> None:
        src = self._option_widgets.get(kind)
        if not src:
            return
        for cell in self.cells:
            if cell.view is not None and cell.view.kind == kind:
                _copy_options(src, _options(cell.view))

    # ---- titles -------------------------------------------------------------------------------------------------
    @staticmethod
    def _set_title(view: KindView, label: str, detail: str, series: int | None) -> None:
        plot = getattr(view, "plot", None)
        if plot is not None:
            set_plot_title(plot, label, detail, series)
            return
        title = getattr(view, "_compare_title", None)  # a view without a plot (text): a line above it
        if title is None:
            title = QLabel()
            title.setTextFormat(Qt.TextFormat.RichText)
            title.setContentsMargins(6, 0, 6, 0)
            view.body.insertWidget(1, title)
            view._compare_title = title  # type: ignore[attr-defined]
        text = f"<b>{title_html(label, detail, chart_colors(view.palette()), series)}</b>"
        if title.text() != text:
            title.setText(text)

    def _title_single(self) -> None:
        if self.view is None or self.multiple is None:
            return
        k = self.view.generation
        self._set_title(self.view, self.multiple.label, f"generation {k}" if k >= 0 else "", None)

    def _title_cell(self, cell: Cell) -> None:
        if cell.view is not None:
            k = cell.view.generation
            self._set_title(cell.view, cell.multiple.label, f"generation {k}" if k >= 0 else "",
                            cell.multiple.color_index)

    def _title_cells(self) -> None:
        for cell in self.cells:
            self._title_cell(cell)

    # ---- new generations ----------------------------------------------------------------------------------------
    def refresh(self, run: RunInfo | None = None) -> None:
        """A shown run has new generations (`run`: its fresh RunInfo; None: every shown run)."""
        if self.cells:
            self._refresh_cells(run)
            return
        if run is not None and self.run is not None and run.id != self.run.id:
            return  # not shown
        if run is not None and self.run is not None:
            if self.view is None and run.reference.get("bins"):
                k = self.generation
                m = replace(self.multiple, run=run) if self.multiple is not None else Multiple(run, run.name, 0)
                self._set_single(m)  # generation 0 arrived: set the view up now
                self.set_generation(max(k, 0))
                return
            self.run = run
            if self.multiple is not None:
                self.multiple = replace(self.multiple, run=run)
        if self.view is None or self.run is None or self.cache is None:
            return
        was_empty = self._last < 0
        self._last = self.cache.last_generation(self.run)
        if self._last < 0:
            return
        self.view.refresh()
        if was_empty:
            self.setCurrentWidget(self.view)
        if was_empty or self.generation > self.view.generation:
            # the requested generation (or a closer one) exists now
            k = max(self.generation, 0)
            self.generation = -1
            self.set_generation(k)

    def _refresh_cells(self, run: RunInfo | None) -> None:
        assert self.cache is not None
        rebuild = False
        grew = False
        for cell in self.cells:
            if run is not None and cell.run.id != run.id:
                continue
            if run is not None:
                cell.multiple = replace(cell.multiple, run=run)
            if cell.view is None or cell.last < 0:
                rebuild = rebuild or bool(cell.run.reference.get("bins"))
                continue
            last = self.cache.last_generation(cell.run)
            cell.view.refresh()
            if last != cell.last:
                cell.last = last
                grew = True
        if run is not None and self.run is not None and run.id == self.run.id:
            self.run = run
        if rebuild:  # generation 0 of a pane's run arrived: set its pane up now
            k = self.generation
            plan = [c.multiple for c in self.cells]
            total = self._key[2] if self._key else len(plan)
            n_runs = len(self.runs)
            self._key = ("many", tuple(m.key for m in plan), total)
            self._set_compare(plan, total, n_runs, self.run)
            self.set_generation(max(k, 0))
        elif grew:
            k = max(self.generation, 0)
            self.generation = -1
            self.set_generation(k)

    # ---- the fast path ------------------------------------------------------------------------------------
    def set_generation(self, k: int) -> None:
        if self.cells:
            self._set_generation_cells(k)
            return
        if self.view is None or self._last < 0:
            self.generation = k
            return
        shown = min(max(int(k), 0), self._last)
        if shown == self.view.generation and k == self.generation:
            return
        self.generation = k
        self.view.notice = (f"Generation {k} is not computed yet; showing the last one." if shown != k else "")
        try:
            self.view.show_generation(shown)
        except ProjectError as exc:
            self.view.set_info(str(exc))
            return
        self.view.set_info()
        self._title_single()

    def _set_generation_cells(self, k: int) -> None:
        """Each pane swaps one generation's data (the multiples' scrubbing fast path)."""
        if k == self.generation:
            return
        self.generation = k
        for cell in self.cells:
            view = cell.view
            if view is None or cell.last < 0:
                continue
            shown = min(max(int(k), 0), cell.last)
            notice = f"Generation {k} is not computed yet; showing the last one." if shown != k else ""
            if shown == view.generation and notice == view.notice:
                continue
            view.notice = notice
            try:
                view.show_generation(shown)
            except ProjectError as exc:
                view.set_info(str(exc))
                continue
            view.set_info()
            self._title_cell(cell)

    @property
    def shown_generation(self) -> int:
        return -1 if self.view is None else self.view.generation

    # ---- export -----------------------------------------------------------------------------------------------
    def export_target(self) -> QWidget:
        """What an export renders: the single view's chart; with several runs, the sheet of every pane."""
        if self.cells and self.currentWidget() is self.compare:
            return self.sheet
        if self.view is not None and self.currentWidget() is self.view:
            return self.view.export_target()
        return self

    def table(self) -> Table:
        """The drawn data for CSV: the single view's, or with several runs the current run's pane's (see
        `tables` for every pane)."""
        return self.view.table() if self.view is not None else ([], [])

    def tables(self) -> list[tuple[str, Table]]:
        """(pane title, its drawn data) of every pane shown: one for a single run, one per multiple."""
        if self.cells:
            return [(c.multiple.label, c.view.table()) for c in self.cells if c.view is not None]
        if self.view is not None and self.multiple is not None:
            return [(self.multiple.label, self.view.table())]
        return []
