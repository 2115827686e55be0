"""The Runs panel bound to the state model: the list shows the state's runs, selecting in it selects in the
state (and a selection made elsewhere, e.g. after opening, shows in it); rename and delete (with a question
first; after deleting, a neighbour is selected so the views do not go blank).

A component of the main window: it is handed the state model, the notifier and the Runs panel.
`own_project` is asked before the demo's runs are changed (it is a read-only example).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from core.store import ProjectError
from gui.panels.runs_panel import RunsPanel
from gui.state.window_state import WindowState
from gui.window.notifier import Notifier


class RunSelection(QObject):
    """Keeps the Runs panel and the state's runs and selection in step; renames and deletes runs."""

    use_settings = Signal(object)  # a RunSpec to show in Run setup

    def __init__(self, state: WindowState, notifier: Notifier, runs_panel: RunsPanel,
                 own_project: Callable[[], bool], parent: QWidget) -> None:
        super().__init__(parent)
        self.state = state
        self.notifier = notifier
        self.panel = runs_panel
        self._own_project = own_project
        self._pushing = False
        runs_panel.selection_changed.connect(self._on_panel_selection)
        runs_panel.rename_requested.connect(self.rename_run)
        runs_panel.delete_requested.connect(self.delete_runs)
        runs_panel.use_settings_requested.connect(self._on_use_settings)
        state.project_changed.connect(self._on_project_changed)
        state.runs_changed.connect(self._on_runs_changed)
        state.run_updated.connect(self._on_run_updated)
        state.selection_changed.connect(self._on_state_selection)
        state.queue.changed.connect(self._on_queue_changed)
        self._on_project_changed()

    # ---- state -> panel ---------------------------------------------------------------------------------------------
    def _on_project_changed(self) -> None:
        if self.state.project is None:
            self.panel.set_empty_text("No project is open.\n\nUse File > New Project... to start a project or File > Open... to "
                                      "open one.")
        else:
            self.panel.set_empty_text("This project has no runs yet.\n\nChoose a scenario and a policy in Run setup "
                                      "(right) and press Start.")

    def _on_runs_changed(self) -> None:
        self._pushing = True
        try:
            self.panel.set_runs(self.state.runs)
        finally:
            self._pushing = False
        self._on_state_selection()

    def _on_run_updated(self, run_id: int) -> None:
        info = self.state.run(run_id)
        if info is not None:
            self.panel.update_run(info)

    def _on_queue_changed(self) -> None:
        q = self.state.queue
        self.panel.set_pending(q.queue, q.paused)

    def _on_state_selection(self) -> None:
        want_current = self.state.current.id if self.state.current is not None else None
        want = [r.id for r in self.state.selected]
        if self.panel.current_run_id() == want_current and self.panel.selected_run_ids() == want:
            return
        self._pushing = True
        try:
            self.panel.select_runs(want, want_current)
        finally:
            self._pushing = False

    # ---- panel -> state ---------------------------------------------------------------------------------------------
    def _on_panel_selection(self) -> None:
        if self._pushing:
            return
        self.state.select(self.panel.current_run_id(), self.panel.selected_run_ids())

    def _on_use_settings(self, run_id: int) -> None:
        run = self.state.run(run_id)
        if run is not None:
            self.use_settings.emit(run.spec)

    # ---- edits ------------------------------------------------------------------------------------------------------
    def rename_run(self, run_id: int, name: str) -> None:
        """Rename a run in the file (errors such as a duplicate name are shown, the old name kept)."""
        if self.state.project is None:
            return
        if not self._own_project():
            self._on_runs_changed()  # the inline editor's text goes back to the stored name
            return
        try:
            self.state.rename_run(run_id, name)
        except ProjectError as exc:
            self.notifier.error("Cannot rename the run", str(exc))
            self._on_runs_changed()

    def delete_runs(self, run_ids: list[int]) -> None:
        """Delete runs (after a question); a run being computed must be stopped first; a neighbour is selected
        afterwards."""
        if self.state.project is None or not run_ids:
            return
        if self.state.queue.busy() & set(run_ids):
            self.notifier.error("Cannot delete the run", "A selected run is being computed or waits to be resumed. "
                                "Stop it first (Run > Stop), then delete it.")
            return
        if not self._own_project():
            return
        names = [r.name for r in (self.state.run(i) for i in run_ids) if r is not None]
        listing = "\n".join(f"  {n}" for n in names[:10]) + ("\n  ..." if len(names) > 10 else "")
        path = self.state.path
        if not self.notifier.confirm("Delete runs", f"Delete {len(names)} run{'s' * (len(names) != 1)} and all "
                                     f"their generations from {path.name if path else 'the project'}?\n\n{listing}"
                                     "\n\nThis cannot be undone."):
            return
        neighbour = self.panel.neighbour_of(run_ids)
        try:
            self.state.delete_runs(run_ids)
        except ProjectError as exc:
            self.notifier.error("Cannot delete the run", str(exc))
        if neighbour is not None and self.state.run(neighbour) is not None:
            self.state.select(neighbour, [neighbour])
        elif self.state.runs and not self.state.selected:
            self.state.select(self.state.runs[-1].id, [self.state.runs[-1].id])

