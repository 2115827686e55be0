"""The main window's runs and selection: the Runs panel's list read from the project, the current run (what
the distribution and heatmap show) and the selected runs (what the timelines overlay), the generation shown,
and the Runs panel's edits (rename, delete, use a run's settings).

:class:`RunSelection` is one part (a mixin) of :class:`gui.window.main_window.MainWindow`; the GUI thread's project
connection reads and edits the runs.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget, QMainWindow, QStackedWidget, QWidget

from core.store import Project, ProjectError, RunInfo
from gui.cache import RunCache
from gui.dialogs import Dialogs
from gui.panels.generation_panel import GenerationPanel
from gui.panels.help_panel import HelpPanel
from gui.panels.run_panel import RunPanel
from gui.panels.runs_panel import RunsPanel
from gui.panels.scrubber import Scrubber
from gui.worker import RunWorker

SELECT_ALL_MAX = 4  # opening a project with this many runs or fewer overlays them all


class RunSelection(QMainWindow):
    """Which runs and which generation every view shows; renaming and deleting runs."""

    dialogs: Dialogs
    project: Project | None
    cache: RunCache | None
    centre: QStackedWidget
    empty_page: QWidget
    generation_panel: GenerationPanel
    runs_panel: RunsPanel
    run_panel: RunPanel
    help_panel: HelpPanel
    scrubber: Scrubber
    setup_dock: QDockWidget
    _worker: RunWorker | None

    def _init_selection_state(self) -> None:
        self._current: RunInfo | None = None
        self._selected: list[RunInfo] = []
        self._damaged_reported: set[str] = set()  # damaged-run messages already shown for the open project

    def _connect_selection(self) -> None:
        self.run_panel.choose_file = self.choose_data_file  # type: ignore[method-assign]
        runs = self.runs_panel
        runs.selection_changed.connect(self._on_selection_changed)
        runs.rename_requested.connect(self.rename_run)
        runs.delete_requested.connect(self.delete_runs)
        runs.resume_requested.connect(self.resume_runs)
        runs.use_settings_requested.connect(self._on_use_settings)
        self.scrubber.generation_requested.connect(self._on_generation_requested)
        self.generation_panel.generation_picked.connect(self._on_generation_picked)

    def reload_runs(self) -> list[RunInfo]:
        """Re-read the runs from the file into the Runs panel (and the shown RunInfos)."""
        if self.project is None:
            return []
        try:
            runs, damaged = self.project.read_runs()
        except ProjectError as exc:
            runs, damaged = [], []
            self.show_error("Cannot read the project", str(exc))
        new_damage = [d for d in damaged if d not in self._damaged_reported]
        if new_damage:
            self._damaged_reported.update(new_damage)
            n = len(new_damage)
            self.show_error("Some runs cannot be read",
                            f"{self.project.path}: {n} run{'s are' if n != 1 else ' is'} damaged and not listed; "
                            "the other runs are shown as usual.\n\n" + "\n".join(f"• {d}" for d in new_damage))
        self.runs_panel.set_runs(runs)
        by_id = {r.id: r for r in runs}
        if self._current is not None:
            self._current = by_id.get(self._current.id)
        self._selected = [by_id[r.id] for r in self._selected if r.id in by_id]
        self.centre.setCurrentWidget(self.generation_panel if runs else self.empty_page)
        self._update_actions()
        return runs

    def _select_initial(self) -> None:
        """After opening: the newest run is current; small projects overlay all runs in the timelines, larger
        ones the newest run's replicate group. Run setup starts from the newest run's settings."""
        runs = self.runs_panel.runs()
        if not runs:
            return
        newest = runs[-1]
        if len(runs) <= SELECT_ALL_MAX:
            ids = [r.id for r in runs]
        else:
            ids = [r.id for r in runs if r.group == newest.group]
        self.runs_panel.select_runs(ids, newest.id)
        self.scrubber.follow_box.setChecked(True)
        self.run_panel.load_spec(newest.spec)

    def current_run(self) -> RunInfo | None:
        """The run the distribution and heatmap show."""
        return self._current

    def selected_runs(self) -> list[RunInfo]:
        """The runs the timelines overlay (at least the current one)."""
        return list(self._selected)

    def _on_selection_changed(self) -> None:
        rp = self.runs_panel
        cur_id = rp.current_run_id()
        ids = rp.selected_run_ids()
        current = rp.run(cur_id) if cur_id is not None else None
        selected = [r for r in (rp.run(i) for i in ids) if r is not None]
        if current is not None and current not in selected:
            selected.insert(0, current)
        changed_current = (self._current.id if self._current else None) != (current.id if current else None)
        self._current, self._selected = current, selected
        self.generation_panel.set_runs(current, selected)
        self.help_panel.set_scenario(current.scenario if current is not None else None)
        if current is not None:
            last = current.last_generation
            if self._worker is not None and self._worker.run_id == current.id:
                last = max(last, self._worker.last_generation)
            self.scrubber.set_range(last, current.spec.generations)
            if changed_current and self.scrubber.follow:
                self.scrubber.set_value(last)
        else:
            self.scrubber.set_range(-1, 0)
        self.scrubber.request_current()
        self._update_actions()

    def _on_generation_requested(self, generation: int) -> None:
        self.generation_panel.set_generation(generation)

    def _on_generation_picked(self, generation: int) -> None:
        if self.scrubber.follow:
            self.scrubber.follow_box.setChecked(False)
        self.scrubber.set_value(generation)

    def choose_data_file(self, current: str) -> str | None:
        """Run setup's Browse button for file parameters (e.g. the csv scenario's path)."""
        start = current or str(self._project_folder())
        return self.dialogs.open_path(self, "Choose a data file", "CSV files (*.csv *.tsv *.txt);;All files (*)",
                                      start)

    def _on_use_settings(self, run_id: int) -> None:
        run = self.runs_panel.run(run_id)
        if run is not None:
            self.run_panel.load_spec(run.spec)
            self.setup_dock.show()
            self.setup_dock.raise_()

    def rename_run(self, run_id: int, name: str) -> None:
        """Rename a run in the file (errors such as a duplicate name are shown, the old name kept)."""
        if self.project is None:
            return
        try:
            self.project.rename_run(run_id, name)
        except ProjectError as exc:
            self.show_error("Cannot rename the run", str(exc))
            return
        if self.cache is not None:
            self.cache.invalidate(run_id)
        self.reload_runs()
        self.generation_panel.set_runs(self._current, self._selected)

    def delete_runs(self, run_ids: list[int]) -> None:
        """Delete runs (after confirmation); a run being computed must be stopped first."""
        if self.project is None or not run_ids:
            return
        if self._busy_run_ids() & set(run_ids):
            self.show_error("Cannot delete the run", "A selected run is being computed or waits to be resumed. "
                            "Stop it first (Run > Stop), then delete it.")
            return
        names = [r.name for r in (self.runs_panel.run(i) for i in run_ids) if r is not None]
        listing = "\n".join(f"  {n}" for n in names[:10]) + ("\n  ..." if len(names) > 10 else "")
        if not self.dialogs.confirm(self, "Delete runs",
                                    f"Delete {len(names)} run{'s' * (len(names) != 1)} and all their generations "
                                    f"from {self.project.path.name}?\n\n{listing}\n\nThis cannot be undone."):
            return
        for rid in run_ids:
            try:
                self.project.delete_run(rid)
            except ProjectError as exc:
                self.show_error("Cannot delete the run", str(exc))
                break
            if self.cache is not None:
                self.cache.invalidate(rid)
        self.reload_runs()
        self._on_selection_changed()
