"""The project life cycle: File > New, Open, Open Recent, Open Demo, Save, Save As, Close; Help > Reset the Demo Project;
opening a dropped file; the recent-files list and the last-used folder (kept in QSettings); the status bar's
project line (file, size, space reusable after deletions).

A component of the main window: it is handed the state model, the notifier and the dialogs, and owns its
actions, the recent menu's contents and the project label. Leaving a project while a run computes asks
first (the run is paused after the generation in flight and stays resumable).

The demo project is a read-only example: new runs, renames and deletions go into a project of the user's own
(`own_project` offers to save the demo as a new project or to create an empty one).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QMenu, QWidget

from core.sizes import human_bytes
from core.store import ProjectError, UnsafeProjectError
from gui.demo import DEMO_READY, demo_path, demo_selection, prepare_demo
from gui.dialogs import Dialogs, save_target
from gui.icons import icon
from gui.panels.runs_panel import is_resumable
from gui.state.run_queue import RunEnd
from gui.state.window_state import WindowState
from gui.window.make_action import make_action
from gui.window.notifier import Notifier

PROJECT_FILTER = "Collapse Lab projects (*.collapse);;All files (*)"
MAX_RECENT = 10


class ProjectActions(QObject):
    """New/Open/Recent/Demo/Save/Save As/Close, Reset Demo, drops, recent files and the project line."""

    def __init__(self, state: WindowState, notifier: Notifier, dialogs: Dialogs, settings: QSettings,
                 data_dir: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self.state = state
        self.notifier = notifier
        self.dialogs = dialogs
        self.settings = settings
        self.data_dir = data_dir
        self._parent = parent
        self._autoplay_run: int | None = None
        ks = QKeySequence.StandardKey
        self.new_action = make_action(self, "&New Project...", self.new_project, ks.New,
                                      "Create a new, empty project file", icon("new"))
        self.open_action = make_action(self, "&Open...", self.open_dialog, ks.Open, "Open a .collapse project",
                                       icon("open"))
        self.demo_action = make_action(self, "Open &Demo Project", self.open_demo, None,
                                       "Open the built-in demo project (a read-only example)", icon("collapse-lab"))
        self.reset_demo_action = make_action(self, "Reset the &Demo Project", self.reset_demo, None,
                                             "Build the demo project again from scratch")
        self.save_action = make_action(self, "&Save", self.explain_saving, ks.Save,
                                       "Every generation is saved as it is computed; this says so")
        self.save_as_action = make_action(self, "Save &As...", self.save_as, ks.SaveAs,
                                          "Save a copy of the project under a new name and continue there "
                                          "(SQLite backup: consistent even while a run computes)", icon("save-as"))
        self.close_action = make_action(self, "&Close Project", self.close_project, ks.Close,
                                        "Close the project (a run in progress is paused and stays resumable)")
        self.recent_menu = QMenu("Open &Recent", parent)
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.project_label = QLabel()
        self.project_label.setObjectName("project_info")
        self.project_label.setToolTip("The open project file, its size and the space deleted runs left free")
        state.project_changed.connect(self._on_project_changed)
        state.runs_changed.connect(self._show_project_line)
        state.queue.ended.connect(self._on_run_ended)
        self._on_project_changed()

    # ---- what is open ---------------------------------------------------------------------------------------------
    def _on_project_changed(self) -> None:
        has = self.state.project is not None
        for a in (self.save_action, self.save_as_action, self.close_action):
            a.setEnabled(has)
        self._show_project_line()

    def _show_project_line(self) -> None:
        path = self.state.path
        if path is None:
            self.project_label.setText("")
            return
        size, free = self.state.file_size()
        extra = f", {human_bytes(free)} reusable" if free >= 64 * 1024 else ""
        tag = " (demo)" if self.state.is_demo else " (read-only)" if not self.state.writable else ""
        self.project_label.setText(f"{path.name}{tag}  {human_bytes(size)}{extra}")
        self.project_label.setToolTip(f"{path}\n{human_bytes(size)} on disk" + (
            f"; {human_bytes(free)} freed by deleted runs is reused by new generations (Save As writes a "
            "compact copy)" if extra else ""))

    def start_folder(self) -> str:
        """Where Open and New start: the last-used folder, else the open project's, else the home folder."""
        last = self.settings.value("last_folder", "")
        if isinstance(last, str) and last and Path(last).is_dir():
            return last
        return str(Path.home() if self.state.is_demo else self.state.folder())

    def _remember_folder(self, path: Path) -> None:
        self.settings.setValue("last_folder", str(path.resolve().parent))

    def may_leave(self, doing: str) -> bool:
        """Ask before leaving a project whose run computes (the run is paused; it stays resumable)."""
        if not self.state.queue.running:
            return True
        run = self.state.run(self.state.queue.run_id() or -1)
        name = run.name if run is not None else "a run"
        return self.notifier.confirm(
            "A run is computing", f"{name} is being computed. {doing} pauses it after the generation in flight "
            "(every computed generation is saved) and it can be resumed later from the Runs panel.\n\n"
            f"{doing} anyway?")

    def _say_paused(self, pending: list[int]) -> None:
        """After switching away from a project whose run computed (it was paused, and stays resumable)."""
        if pending:
            self.notifier.status("Paused the run in the project that was open; open it again and press Resume to "
                                 "continue.")

    def _opened(self, pending: list[int], path: Path) -> None:
        """Bookkeeping after a project was switched to."""
        self._say_paused(pending)
        self._add_recent(path)
        self._remember_folder(path)

    def _open(self, path: Path, *, create: bool = False, demo: bool = False) -> list[int] | None:
        """Open (or create) and switch to a project; one clear dialog and None when it cannot be."""
        try:
            try:
                return self.state.open(path, create=create, demo=demo)
            except UnsafeProjectError as exc:
                choice = self.notifier.choose(
                    "The file holds SQL of its own",
                    f"{exc.path.name} holds SQL that Collapse Lab did not write: {exc.report.describe()}.\n\nSQL "
                    "stored in a file can run when the file is read or changed (a trigger can delete runs, for "
                    "example), so Collapse Lab has not changed the file. Remove that SQL to work with the project "
                    "(every run and generation is kept), or look at the project read-only.",
                    ["Remove it and open", "Open read-only", "Cancel"])
                if choice == 0:
                    pending = self.state.open(path, remove_foreign=True)
                    self.notifier.status(f"Removed the SQL {exc.report.describe()} from {exc.path.name}", 10000)
                    return pending
                if choice == 1:
                    return self.state.open(path, readonly=True)
                return None
        except ProjectError as exc:
            self.notifier.error("Cannot create the project" if create else "Cannot open the project", str(exc))
        except Exception as exc:  # e.g. an OSError the store did not translate
            self.notifier.unexpected(f"opening {path}", exc)
        return None

    # ---- File menu ------------------------------------------------------------------------------------------------
    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open a project file; a clear error dialog when it is not one (the open project stays open)."""
        p = Path(path)
        if self.state.is_open(p):
            return True
        if not p.exists():
            self.notifier.error("Cannot open the project", f"{p}: no such file")
            return False
        if not self.may_leave("Opening another project"):
            return False
        pending = self._open(p)
        if pending is None:
            return False
        self._autoplay_run = None
        self._opened(pending, p)
        self.state.playback.set_follow(True)
        self.state.select(*self.state.initial_selection())
        project = self.state.project
        assert project is not None
        if project.full_disk:
            self.notifier.info("Opened read-only", f"The disk holding {p.name} is full, so the project is open "
                               "read-only: every run can be looked at and exported, but nothing can be computed "
                               "until some space is freed and the project is opened again.")
        waiting = [r for r in self.state.runs if is_resumable(r)]
        if waiting and not project.readonly:
            self.notifier.status(f"{len(waiting)} run{'s were' if len(waiting) != 1 else ' was'} interrupted before "
                                 "finishing; select it and press Resume to continue from the last saved generation.",
                                 15000)
        else:
            self.notifier.status(f"Opened {p.name}")
        return True

    def open_dialog(self) -> None:
        """File > Open."""
        path = self.dialogs.open_path(self._parent, "Open project", PROJECT_FILTER, self.start_folder())
        if path:
            self.open_project(path)

    def new_project(self, path: str | None = None) -> bool:
        """File > New: ask for a file name and create an empty project there."""
        chosen = save_target(self.dialogs, self._parent, path, "New project",
                             str(Path(self.start_folder()) / "untitled.collapse"), PROJECT_FILTER, ".collapse")
        if chosen is None:
            return False
        p = Path(chosen)
        if self.state.is_open(p):
            self.notifier.error("Cannot create the project",
                                f"{p}: is the project that is open now; choose another name.")
            return False
        if not self.may_leave("Creating a new project"):
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
                self.notifier.error("Cannot create the project", f"{p}: cannot replace it ({exc.strerror}).")
                return False
            self.notifier.status(f"The previous {p.name} was kept as {backup.name}")
        pending = self._open(p, create=True)
        if pending is None:
            return False
        self._autoplay_run = None
        self._opened(pending, p)
        return True

    def open_demo(self) -> bool:
        """Open the built-in demo project (computed in the background on the first launch)."""
        try:
            path, todo, note = prepare_demo(self.data_dir)
        except ProjectError as exc:
            self.notifier.error("Cannot open the demo project", str(exc))
            return False
        except Exception as exc:
            self.notifier.unexpected("preparing the demo project", exc)
            return False
        if self.state.is_open(path):
            return True
        if not self.may_leave("Opening the demo"):
            return False
        pending = self._open(path, demo=True)
        if pending is None:
            return False
        self._say_paused(pending)
        if note:
            self.notifier.status(note, 10000)
        current, selected = demo_selection(self.state.runs)
        self.state.playback.set_follow(True)
        if selected:
            self.state.select(current, selected)
        if todo:
            self.notifier.status("Computing the demo project...", 5000)
            self.state.queue.start(list(todo))
        else:
            self.notifier.status(DEMO_READY, 20000)
        run = self.state.run(current) if current is not None else None
        self._autoplay_run = None
        if run is not None:
            if run.complete:
                self._start_autoplay()
            else:
                self._autoplay_run = run.id
        return True

    def reset_demo(self) -> bool:
        """Help > Reset the Demo Project: build the demo file again from scratch and open it."""
        if self.state.is_demo and not self.may_leave("Resetting the demo"):
            return False
        if not self.notifier.confirm("Reset the demo project", "Build the demo project again from scratch? Its "
                                     "runs are computed again (a few seconds); your own projects are not touched."):
            return False
        path = demo_path(self.data_dir)
        if self.state.is_open(path):
            self.state.close_project()
        try:
            for p in (path, Path(str(path) + "-wal"), Path(str(path) + "-shm"), Path(str(path) + "-journal")):
                p.unlink(missing_ok=True)
        except OSError as exc:
            self.notifier.error("Cannot reset the demo project", f"{path}: cannot remove it ({exc.strerror}).")
            return False
        return self.open_demo()

    def _start_autoplay(self) -> None:
        """The demo plays its first run once, from generation 0."""
        self._autoplay_run = None
        pb = self.state.playback
        pb.set_follow(False)
        pb.go_to(0)
        pb.play()

    def _on_run_ended(self, end: RunEnd) -> None:
        if not end.mode and self._autoplay_run == end.run_id and self.state.is_demo:
            self._start_autoplay()
        if self.state.is_demo and not end.mode and not self.state.queue.queue:
            self.notifier.status(DEMO_READY, 20000)

    def own_project(self) -> bool:
        """True when the open project takes the user's changes; for the demo, offer a project of their own
        first (False when they chose neither)."""
        if not self.state.is_demo:
            return True
        choice = self.notifier.choose(
            "The demo is an example",
            "The demo project is a read-only example, kept as it is so it can be shown again (Help > Reset the "
            "Demo Project builds it afresh). Put your own runs in a project of your own: save the demo's runs "
            "as a new project and continue there, or start an empty one.",
            ["Save the demo as a new project", "New empty project", "Cancel"])
        if choice == 0:
            return self.save_as()
        if choice == 1:
            return self.new_project()
        return False

    def explain_saving(self) -> None:
        """File > Save (Ctrl+S): there is nothing to save; say so."""
        self.notifier.status("Everything is already saved: every generation is written to the project file as "
                             "it is computed. Use File > Save As to keep a copy under another name.", 10000)

    def save_as(self, path: str | None = None) -> bool:
        """File > Save As: copy with SQLite's backup API and continue in the copy (runs keep computing)."""
        current = self.state.path
        if current is None:
            return False
        suggested = str(current.with_name(current.stem + " copy.collapse"))
        if self.state.is_demo:
            suggested = str(Path(self.start_folder()) / "my-demo.collapse")
        chosen = save_target(self.dialogs, self._parent, path, "Save project as", suggested, PROJECT_FILTER,
                             ".collapse")
        if chosen is None:
            return False
        target = Path(chosen)
        if self.state.is_open(target):
            return True
        try:
            self.state.save_as(target)
        except ProjectError as exc:
            self.notifier.error("Cannot save the project", str(exc))
            return False
        except Exception as exc:
            self.notifier.unexpected(f"saving {target}", exc)
            return False
        self._add_recent(target)
        self._remember_folder(target)
        self.notifier.status(f"Saved as {target}", 5000)
        return True

    def close_project(self) -> bool:
        """File > Close (asks first while a run computes)."""
        if self.state.project is None:
            return True
        if not self.may_leave("Closing the project"):
            return False
        self._autoplay_run = None
        if self.state.close_project():
            self.notifier.status("Paused the run; open the project again and press Resume to continue.")
        return True

    # ---- drag and drop ------------------------------------------------------------------------------------------
    @staticmethod
    def dropped_file(event: QDragEnterEvent | QDropEvent) -> str | None:
        """The first local file of a drag, if any."""
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if isinstance(url, QUrl) and url.isLocalFile():
                return url.toLocalFile()
        return None

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
