"""The main window's project life cycle: File > New, Open, Open Recent, Open Demo, Save As, Close; opening a
dropped file; the window title; the recent-files list (kept in QSettings).

:class:`ProjectActions` is one part (a mixin) of :class:`gui.window.main_window.MainWindow`. The window owns the GUI
thread's :class:`core.store.Project` connection; switching projects first halts the run worker
(:class:`gui.window.run_control.RunControl`), so a run in progress is paused and stays resumable.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QStackedWidget, QWidget

from core.store import Project, ProjectError, UnsafeProjectError, remove_foreign_objects
from gui.cache import RunCache
from gui.demo import DEMO_READY, demo_selection, prepare_demo
from gui.dialogs import Dialogs, save_target
from gui.icons import icon
from gui.panels.generation_panel import GenerationPanel
from gui.panels.help_panel import HelpPanel
from gui.panels.run_panel import RunPanel
from gui.panels.runs_panel import RunsPanel, is_resumable
from gui.panels.scrubber import Scrubber

PROJECT_FILTER = "Collapse Lab projects (*.collapse);;All files (*)"
MAX_RECENT = 10


class ProjectActions(QMainWindow):
    """New/Open/Recent/Demo/Save As/Close, drag-and-drop, the window title and the recent files."""

    settings: QSettings
    data_dir: Path
    dialogs: Dialogs
    project: Project | None
    cache: RunCache | None
    generation_panel: GenerationPanel
    runs_panel: RunsPanel
    run_panel: RunPanel
    help_panel: HelpPanel
    scrubber: Scrubber
    status_label: QLabel
    project_label: QLabel
    empty_title: QLabel
    empty_text: QLabel
    empty_page: QWidget
    centre: QStackedWidget
    recent_menu: QMenu

    def _init_project_state(self) -> None:
        self.project = None
        self.cache = None
        self._dropped: str | None = None
        self._is_demo = False
        self._autoplay_run: int | None = None

    def _build_project_actions(self) -> None:
        ks = QKeySequence.StandardKey
        self.new_action = self._action("&New Project...", self.new_project, QKeySequence(ks.New),
                                       "Create a new, empty project file", icon("new"))
        self.open_action = self._action("&Open...", self.open_dialog, QKeySequence(ks.Open),
                                        "Open a .collapse project", icon("open"))
        self.demo_action = self._action("Open &Demo Project", self.open_demo, None,
                                        "Open the built-in demo project", icon("collapse-lab"))
        self.save_as_action = self._action("Save &As...", self.save_as, QKeySequence(ks.SaveAs),
                                           "Save a copy of the project under a new name and continue there "
                                           "(SQLite backup: consistent even while a run computes)", icon("save-as"))
        self.close_action = self._action("&Close Project", self.close_project, QKeySequence(ks.Close),
                                         "Close the project (runs in progress are paused, resumable)")

    def _update_project_actions(self) -> None:
        has_project = self.project is not None
        self.save_as_action.setEnabled(has_project)
        self.close_action.setEnabled(has_project)

    # ---- the open project ---------------------------------------------------------------------------------------
    def _project_folder(self) -> Path:
        """Where file dialogs start: the open project's folder, else the home folder."""
        return self.project.path.parent if self.project is not None else Path.home()

    def _is_open(self, path: Path) -> bool:
        """Whether `path` is the project that is open now."""
        return self.project is not None and path.exists() and path.resolve() == self.project.path.resolve()

    def _set_project(self, project: Project | None) -> None:
        old = self.project
        self.project = project
        self.cache = RunCache(project) if project is not None else None
        self._current, self._selected = None, []
        self._damaged_reported = set()
        self.status_label.setText("")
        self.generation_panel.set_cache(self.cache)
        self.generation_panel.set_runs(None, [])
        if old is not None and old is not project:
            old.close()
        self._update_title()
        if project is None:
            self.runs_panel.set_runs([])
            self.runs_panel.set_empty_text("No project is open.\n\nUse File > New to start a project or "
                                           "File > Open to open one.")
            self.run_panel.set_can_start(False, "Open or create a project to run experiments (File > New).")
            self.empty_title.setText("No project open")
            self.empty_text.setText("Create a new project, open one (or drop a .collapse file here), or look at "
                                    "the demo to see model collapse happen.")
            self.scrubber.set_range(-1, 0)
            self.help_panel.set_scenario(None)
            self.centre.setCurrentWidget(self.empty_page)
        else:
            self.runs_panel.set_empty_text("This project has no runs yet.\n\nChoose a scenario and a policy in "
                                           "Run setup (right) and press Start.")
            if project.full_disk:
                self.run_panel.set_can_start(False, "The disk is full, so this project is open read-only; free "
                                             "some space and open it again to run experiments.")
            elif project.readonly:
                self.run_panel.set_can_start(False, "This project is read-only, so new runs cannot be added. "
                                             "Use File > Save As to continue in a writable copy.")
            else:
                self.run_panel.set_can_start(True)
            self.empty_title.setText("No runs yet")
            self.empty_text.setText("Choose a scenario and a policy in Run setup on the right and press Start. "
                                    "Each generation appears here as soon as it is computed.")
            self.reload_runs()
        self._update_actions()

    def _update_title(self) -> None:
        if self.project is None:
            self.setWindowTitle("Collapse Lab")
            self.setWindowFilePath("")
            self.project_label.setText("")
            return
        ro = " (read-only)" if self.project.readonly else ""
        self.setWindowTitle(f"Collapse Lab - {self.project.path.name}{ro}")
        self.setWindowFilePath(str(self.project.path))
        self.project_label.setText(str(self.project.path))

    def _open(self, path: Path, create: bool) -> Project | None:
        """Open (or create) a project whose list of runs can be read; otherwise one clear dialog and None."""
        try:
            try:
                project = Project(path, create=create)
            except UnsafeProjectError as exc:
                project = self._open_unsafe(exc)
                if project is None:
                    return None
            try:
                project.read_runs()  # not even the run ids readable: refuse now, before anything switches
            except ProjectError:
                project.close()
                raise
            return project
        except ProjectError as exc:
            self.show_error("Cannot open the project" if not create else "Cannot create the project", str(exc))
        except Exception as exc:  # e.g. an OSError the store did not translate
            self._unexpected(f"opening {path}", exc)
        return None

    def _open_unsafe(self, exc: UnsafeProjectError) -> Project | None:
        """A file holding SQL of its own: remove it and open, open read-only, or neither (None)."""
        choice = self.dialogs.choose(
            self, "The file holds SQL of its own",
            f"{exc.path.name} holds SQL that Collapse Lab did not write: {exc.report.describe()}.\n\nSQL stored in "
            "a file can run when the file is read or changed (a trigger can delete runs, for example), so Collapse "
            "Lab has not changed the file. Remove that SQL to work with the project (every run and generation is "
            "kept), or look at the project read-only.",
            ["Remove it and open", "Open read-only", "Cancel"])
        if choice == 0:
            removed = remove_foreign_objects(exc.path)
            self.statusBar().showMessage(f"Removed {', '.join(removed)} from {exc.path.name}", 10000)
            return Project(exc.path)
        if choice == 1:
            return Project(exc.path, readonly=True)
        return None

    def _leave_project(self) -> list[int]:
        """Stop any worker (the run is paused and stays resumable); return the runs that were in progress."""
        pending = self._halt_worker()
        if pending and self.project is not None:
            self.statusBar().showMessage(f"Paused the run in {self.project.path.name}; open it again and press "
                                         "Resume to continue.", 8000)
        return pending

    def _switch_to(self, project: Project, path: Path) -> None:
        """Leave the open project (pausing its run) and show `project`, opened from `path`, instead."""
        self._leave_project()
        self._is_demo = False
        self._autoplay_run = None
        self._set_project(project)
        self._add_recent(path)

    # ---- File menu ------------------------------------------------------------------------------------------------
    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open a project file; a clear error dialog when it is not one (the current project stays open)."""
        p = Path(path)
        if self._is_open(p):
            return True
        if not p.exists():
            self.show_error("Cannot open the project", f"{p}: no such file")
            return False
        project = self._open(p, create=False)
        if project is None:
            return False
        self._switch_to(project, p)
        self._select_initial()
        if project.full_disk:
            self.dialogs.info(self, "Opened read-only", f"The disk holding {p.name} is full, so the project is open "
                              "read-only: every run can be looked at and exported, but nothing can be computed "
                              "until some space is freed and the project is opened again.")
        waiting = [r for r in self.runs_panel.runs() if is_resumable(r)]
        if waiting and not project.readonly:
            self.status_label.setText(f"{len(waiting)} run{'s were' if len(waiting) != 1 else ' was'} interrupted "
                                      "before finishing; select it and press Resume to continue from the last "
                                      "saved generation.")
        else:
            self.status_label.setText(f"Opened {p.name}")
        return True

    def open_dialog(self) -> None:
        """File > Open."""
        path = self.dialogs.open_path(self, "Open project", PROJECT_FILTER, str(self._project_folder()))
        if path:
            self.open_project(path)

    def new_project(self, path: str | None = None) -> bool:
        """File > New: ask for a file name and create an empty project there."""
        chosen = save_target(self.dialogs, self, path, "New project",
                             str(self._project_folder() / "untitled.collapse"), PROJECT_FILTER, ".collapse")
        if chosen is None:
            return False
        p = Path(chosen)
        if self._is_open(p):
            self.show_error("Cannot create the project", f"{p}: is the project that is open now; choose another name.")
            return False
        if p.exists():
            # The file dialog already asked to replace it; keep the old file beside rather than destroy it.
            backup = p.with_name(p.name + ".replaced")
            try:
                os.replace(p, backup)
                for side in ("-wal", "-shm", "-journal"):  # a stale WAL must never meet the new file
                    if Path(str(p) + side).exists():
                        os.replace(str(p) + side, str(backup) + side)
            except OSError as exc:
                self.show_error("Cannot create the project", f"{p}: cannot replace it ({exc.strerror}).")
                return False
            self.statusBar().showMessage(f"The previous {p.name} was kept as {backup.name}", 8000)
        project = self._open(p, create=True)
        if project is None:
            return False
        self._switch_to(project, p)
        return True

    def open_demo(self) -> bool:
        """Open the built-in demo project (built in the background on the first launch)."""
        try:
            path, todo, note = prepare_demo(self.data_dir)
        except ProjectError as exc:
            self.show_error("Cannot open the demo project", str(exc))
            return False
        except Exception as exc:
            self._unexpected("preparing the demo project", exc)
            return False
        if self._is_open(path):
            return True
        project = self._open(path, create=False)
        if project is None:
            return False
        self._leave_project()
        self._set_project(project)
        self._is_demo = True
        if note:
            self.statusBar().showMessage(note, 10000)
        runs = self.runs_panel.runs()
        current, selected = demo_selection(runs)
        if selected:
            self.runs_panel.select_runs(selected, current)
        if current is not None and self.runs_panel.run(current) is not None:
            self.run_panel.load_spec(self.runs_panel.run(current).spec)
        if todo:
            self.statusBar().showMessage("Computing the demo project...", 5000)
            self._queue = list(todo)
            self._start_next()
        else:
            self.status_label.setText(DEMO_READY)
        if current is not None:
            run = self.runs_panel.run(current)
            if run is not None and run.complete:
                self._start_autoplay()
            else:
                self._autoplay_run = current
        return True

    def _start_autoplay(self) -> None:
        """The demo plays its first run once, from generation 0."""
        self._autoplay_run = None
        self.scrubber.follow_box.setChecked(False)
        self.scrubber.set_value(0)
        self.scrubber.play()

    def save_as(self, path: str | None = None) -> bool:
        """File > Save As: copy with SQLite's backup API and continue in the copy (runs keep computing)."""
        if self.project is None:
            return False
        suggested = str(self.project.path.with_name(self.project.path.stem + " copy.collapse"))
        if self._is_demo:
            suggested = str(Path.home() / "demo.collapse")
        chosen = save_target(self.dialogs, self, path, "Save project as", suggested, PROJECT_FILTER, ".collapse")
        if chosen is None:
            return False
        target = Path(chosen)
        if self._is_open(target):
            return True
        pending = self._halt_worker()
        try:
            self.project.save_as(target)
        except ProjectError as exc:
            self.show_error("Cannot save the project", str(exc))
            self._resume_after(pending)
            return False
        except Exception as exc:
            self._unexpected(f"saving {target}", exc)
            self._resume_after(pending)
            return False
        project = self._open(target, create=False)
        if project is None:
            self._resume_after(pending)
            return False
        keep_current = self._current.id if self._current is not None else None
        keep_selected = [r.id for r in self._selected]
        self._is_demo = False
        self._set_project(project)
        self._add_recent(target)
        if keep_selected:
            self.runs_panel.select_runs(keep_selected, keep_current)
        self.statusBar().showMessage(f"Saved as {target}", 5000)
        self._resume_after(pending)
        return True

    def close_project(self) -> None:
        """File > Close."""
        if self.project is None:
            return
        self._leave_project()
        self._is_demo = False
        self._set_project(None)

    # ---- drag and drop ------------------------------------------------------------------------------------------
    @staticmethod
    def _dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if isinstance(url, QUrl) and url.isLocalFile():
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged local file (a project to open)."""
        if self._dropped_file(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped project once the drop has finished."""
        path = self._dropped_file(event)
        if path:
            event.acceptProposedAction()
            self._dropped = path
            QTimer.singleShot(0, self, self._open_dropped)
        else:
            event.ignore()

    def _open_dropped(self) -> None:
        path, self._dropped = self._dropped, None
        if path:
            self.open_project(path)

    # ---- recent files -------------------------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Recently opened projects, newest first (absolute paths)."""
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: Path) -> None:
        text = str(path.resolve())
        files = [f for f in self.recent_files() if f != text]
        files.insert(0, text)
        self.settings.setValue("recent_files", files[:MAX_RECENT])

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        menu.clear()
        files = self.recent_files()
        for f in files:
            a = menu.addAction(Path(f).name)
            a.setData(f)
            a.setToolTip(f)
            a.setStatusTip(f)
            a.setEnabled(Path(f).exists())
            a.triggered.connect(self._on_recent_triggered)
        if not files:
            none = menu.addAction("No recent projects")
            none.setEnabled(False)
        menu.addSeparator()
        clear = menu.addAction("Clear Recent Projects")
        clear.setEnabled(bool(files))
        clear.triggered.connect(self._clear_recent)

    def _on_recent_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and action.data():
            self.open_project(str(action.data()))

    def _clear_recent(self) -> None:
        self.settings.setValue("recent_files", [])
