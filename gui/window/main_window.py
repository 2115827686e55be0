"""The main window: menus, toolbar, docks (Runs, Run setup, What am I seeing?, Generation scrubber), the centre
and the status bar. It builds the state model and the components, hands each what it needs, and wires them;
it holds no state of its own:

- :mod:`gui.state`: the state model (project, runs, selection, generation and playback, the run queue);
- :mod:`gui.window.project_actions`: New/Open/Recent/Demo/Save/Save As/Close, Reset Demo, drops, recent files;
- :mod:`gui.window.run_selection`: the Runs panel bound to the state's runs and selection; rename/delete;
- :mod:`gui.window.run_control`: Start/Pause/Resume/Stop, the run status line and progress bar;
- :mod:`gui.window.centre`: the generation panel (or the empty page) bound to the state;
- :mod:`gui.export.actions`: the Export menu (charts, CSVs, animation);
- :mod:`gui.window.settings_state`: geometry, dock layout and preferences kept in QSettings;
- :mod:`gui.window.notifier`: every message to the user (dialogs through :mod:`gui.dialogs`, replaced by a
  scripted object in tests; status messages that expire).

Components talk through the state model's signals, never through each other's attributes; where one needs
another's decision (a run in the demo needs a project of the user's own) the window hands it a function.
Threads: the state model owns the GUI thread's :class:`core.store.Project` connection; every run is computed
by a :class:`gui.worker.RunWorker` with its own connection (see :mod:`gui.state.run_queue`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from core.engine import RunSpec
from core.store import Project, RunInfo
from gui.about import show_about
from gui.dialogs import Dialogs
from gui.export.actions import ExportActions
from gui.icons import icon
from gui.panels.generation_panel import GenerationPanel
from gui.panels.help_panel import HelpPanel
from gui.panels.run_panel import RunPanel
from gui.panels.runs_panel import RunsPanel
from gui.panels.scrubber import Scrubber
from gui.paths import user_data_dir
from gui.state.window_state import WindowState
from gui.window.centre import Centre
from gui.window.make_action import make_action
from gui.window.notifier import Notifier
from gui.window.project_actions import ProjectActions
from gui.window.run_control import RunControl
from gui.window.run_selection import RunSelection
from gui.window.settings_state import SettingsState
from gui.worker import RunWorker

__all__ = ["Dialogs", "MainWindow"]

log = logging.getLogger("collapse_lab.window")

def _same_settings(a: RunSpec | None, b: RunSpec) -> bool:
    """Whether two specs differ at most in the replicate index."""
    if a is None:
        return False
    ja, jb = a.to_json(), b.to_json()
    ja.pop("replicate", None)
    jb.pop("replicate", None)
    return ja == jb


class MainWindow(QMainWindow):
    """Collapse Lab's main window."""

    def __init__(self, settings: QSettings | None = None, data_dir: str | Path | None = None,
                 dialogs: Dialogs | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.data_dir = Path(data_dir) if data_dir is not None else user_data_dir()
        self.dialogs = dialogs if dialogs is not None else Dialogs()
        self.setObjectName("MainWindow")
        self.setWindowIcon(icon("collapse-lab"))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)

        self.state = WindowState(self)
        self.notifier = Notifier(self, self.dialogs, self.statusBar(), self.data_dir)
        self.centre = Centre(self.state, self)
        self.setCentralWidget(self.centre.widget)
        self._build_docks()
        self.projects = ProjectActions(self.state, self.notifier, self.dialogs, self.settings, self.data_dir, self)
        self.run_control = RunControl(self.state, self.notifier, self.run_panel, self.projects.own_project, self)
        self.runs = RunSelection(self.state, self.notifier, self.runs_panel, self.projects.own_project, self)
        self.exports = ExportActions(self.state, self.notifier, self.dialogs, self.settings,
                                     self.generation_panel.charts, self.generation_panel.view_state, self)
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.layout_state = SettingsState(self.settings, self, self.docks(), self.toolbar, self.state.playback,
                                          self.generation_panel.view_state, self.generation_panel.restore_view_state,
                                          lambda: self.run_panel.sizeHint().height())
        self.layout_state.apply_default_layout()
        self.layout_state.restore()
        self._update_title()

    # ---- construction -------------------------------------------------------------------------------------------
    @property
    def generation_panel(self) -> GenerationPanel:
        """The centre's distribution, heatmap and timelines."""
        return self.centre.generation_panel

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea, tip: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setToolTip(tip)
        dock.toggleViewAction().setStatusTip(f"Show or hide the {title} panel")
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        self.runs_panel = RunsPanel()
        self.runs_dock = self._dock("Runs", "runs_dock", self.runs_panel, Qt.DockWidgetArea.LeftDockWidgetArea,
                                    "The project's runs: select to show, several to compare")
        self.run_panel = RunPanel()
        self.run_panel.choose_file = self.choose_data_file  # type: ignore[method-assign]
        self.setup_dock = self._dock("Run setup", "setup_dock", self.run_panel, Qt.DockWidgetArea.RightDockWidgetArea,
                                     "Choose a scenario, a policy and parameters, then Start")
        self.help_panel = HelpPanel()
        self.help_dock = self._dock("What am I seeing?", "help_dock", self.help_panel,
                                    Qt.DockWidgetArea.RightDockWidgetArea,
                                    "Model collapse, the views and every metric in plain words")
        self.splitDockWidget(self.setup_dock, self.help_dock, Qt.Orientation.Vertical)
        self.scrubber = Scrubber(self.state.playback)
        self.scrubber_dock = self._dock("Generation Scrubber", "scrubber_dock", self.scrubber,
                                        Qt.DockWidgetArea.BottomDockWidgetArea,
                                        "Choose the generation every view shows")
        self.scrubber_dock.setTitleBarWidget(QWidget())  # a slim bar; still listed (and restorable) in View

    def docks(self) -> tuple[QDockWidget, ...]:
        """Every dock of the window, in View menu order."""
        return (self.runs_dock, self.setup_dock, self.help_dock, self.scrubber_dock)

    def _build_actions(self) -> None:
        ks = QKeySequence.StandardKey
        self.quit_action = make_action(self, "&Quit", self.close, ks.Quit, "Quit Collapse Lab")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.help_action = make_action(self, "&What am I seeing?", self.show_help, ks.HelpContents,
                                       "Model collapse, the views and the metrics explained", icon("help"))
        self.about_action = make_action(self, "&About Collapse Lab", self.show_about, None, "Version information")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_qt_action = make_action(self, "About &Qt", self.show_about_qt, None, "Qt version and licence")
        self.reset_layout_action = make_action(self, "&Reset Layout", self.reset_layout, None,
                                               "Put every panel back where it started")
        for a in self.scrubber.actions_for_window():
            self.addAction(a)

    def _build_menus(self) -> None:
        p = self.projects
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        file_menu.addAction(p.new_action)
        file_menu.addAction(p.open_action)
        file_menu.addMenu(p.recent_menu)
        file_menu.addAction(p.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(p.save_action)
        file_menu.addAction(p.save_as_action)
        file_menu.addMenu(self.exports.menu)
        file_menu.addSeparator()
        file_menu.addAction(p.close_action)
        file_menu.addAction(self.quit_action)

        run_menu = mb.addMenu("&Run")
        run_menu.setToolTipsVisible(True)
        for a in self.run_control.actions():
            run_menu.addAction(a)
        run_menu.addSeparator()
        rp = self.runs_panel
        for a in (rp.resume_action, rp.rename_action, rp.use_settings_action, rp.select_all_action):
            run_menu.addAction(a)
        rp.resume_action.setText("Resume Selected Runs")
        run_menu.addSeparator()
        run_menu.addAction(rp.delete_action)

        view_menu = mb.addMenu("&View")
        view_menu.setToolTipsVisible(True)
        for dock in self.docks():
            view_menu.addAction(dock.toggleViewAction())
        self._toolbar_anchor = view_menu.addSeparator()
        gen_menu = view_menu.addMenu("&Playback")
        for a in self.scrubber.actions_for_window():
            gen_menu.addAction(a)
        gen_menu.addSeparator()
        gen_menu.addAction(self.scrubber.follow_action)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_layout_action)
        self.view_menu = view_menu

        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addAction(p.reset_demo_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.about_qt_action)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main toolbar")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.projects.new_action)
        tb.addAction(self.projects.open_action)
        tb.addAction(self.projects.save_as_action)
        tb.addWidget(self.exports.button)
        tb.addSeparator()
        for a in self.run_control.actions():
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.help_action)
        self.toolbar = tb
        tb.toggleViewAction().setText("Toolbar")
        self.view_menu.insertAction(self._toolbar_anchor, tb.toggleViewAction())

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.addWidget(self.run_control.status_label, 1)
        sb.addPermanentWidget(self.run_control.progress)
        sb.addPermanentWidget(self.projects.project_label)

    def _connect(self) -> None:
        c = self.centre
        c.empty_new.clicked.connect(self.projects.new_project)
        c.empty_open.clicked.connect(self.projects.open_dialog)
        c.empty_demo.clicked.connect(self.projects.open_demo)
        self.state.project_changed.connect(self._update_title)
        self.state.selection_changed.connect(self._on_selection)
        self.state.problem.connect(self.notifier.error)
        self.runs.use_settings.connect(self._use_settings)
        self.runs_panel.resume_requested.connect(self.run_control.resume_runs)
        self.run_panel.start_requested.connect(self._after_start)
        self._shown_current: int | None = None

    # ---- wiring ---------------------------------------------------------------------------------------------------
    def _update_title(self) -> None:
        path = self.state.path
        if path is None:
            self.setWindowTitle("Collapse Lab")
            self.setWindowFilePath("")
            return
        tag = " (demo)" if self.state.is_demo else " (read-only)" if not self.state.writable else ""
        self.setWindowTitle(f"Collapse Lab - {path.name}{tag}")
        self.setWindowFilePath(str(path))

    def _on_selection(self) -> None:
        """The help panel explains the current run's scenario; Run setup shows the current run's settings."""
        current = self.state.current
        self.help_panel.set_scenario(current.scenario if current is not None else None)
        cid = current.id if current is not None else None
        if cid != self._shown_current:
            self._shown_current = cid
            if current is not None and not self.state.queue.running and not _same_settings(self.run_panel.spec,
                                                                                             current.spec):
                self.run_panel.load_spec(current.spec)  # (not the run just started: the form keeps its R, name)

    def _use_settings(self, spec: RunSpec) -> None:
        self.run_panel.load_spec(spec)
        self.setup_dock.show()
        self.setup_dock.raise_()

    def _after_start(self) -> None:
        """After Start the focus leaves the form, so the generation keys move the views at once."""
        QTimer.singleShot(0, self, self._focus_centre)

    def _focus_centre(self) -> None:
        self.generation_panel.setFocus(Qt.FocusReason.OtherFocusReason)

    def choose_data_file(self, current: str) -> str | None:
        """Run setup's Browse button for file parameters (e.g. the csv scenario's path)."""
        start = current or self.projects.start_folder()
        return self.dialogs.open_path(self, "Choose a data file", "CSV files (*.csv *.tsv *.txt);;All files (*)",
                                      start)

    # ---- what tests and scripts read --------------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        """The open project."""
        return self.state.project

    @property
    def worker(self) -> RunWorker | None:
        """The worker computing a run now, if any."""
        return self.state.queue.worker

    def is_running(self) -> bool:
        """Whether a run is being computed now."""
        return self.state.queue.running

    def current_run(self) -> RunInfo | None:
        """The run the distribution and heatmap centre on."""
        return self.state.current

    def selected_runs(self) -> list[RunInfo]:
        """The runs compared (at least the current one)."""
        return list(self.state.selected)

    def open_project(self, path: str | Path) -> bool:
        """Open a project file (a clear dialog when it is not one)."""
        return self.projects.open_project(path)

    def open_demo(self) -> bool:
        """Open the built-in demo project."""
        return self.projects.open_demo()

    # ---- help ---------------------------------------------------------------------------------------------------
    def show_help(self) -> None:
        """Show and raise the "What am I seeing?" panel."""
        self.help_dock.show()
        self.help_dock.raise_()

    def show_about(self) -> None:
        """Help > About Collapse Lab."""
        show_about(self)

    def show_about_qt(self) -> None:
        """Help > About Qt."""
        QMessageBox.aboutQt(self, "About Qt")

    def reset_layout(self) -> None:
        """View > Reset Layout."""
        self.layout_state.reset_layout()

    # ---- drops and closing ----------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged local file (a project to open)."""
        if self.projects.dropped_file(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the dropped project once the drop has finished."""
        path = self.projects.dropped_file(event)
        if path:
            event.acceptProposedAction()
            QTimer.singleShot(0, self, lambda: self.projects.open_project(path))
        else:
            event.ignore()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Ask first while a run computes; then pause it (its generations are saved), save the layout and
        close the project."""
        if not self.projects.may_leave("Quitting"):
            event.ignore()
            return
        self.state.playback.pause()
        self.layout_state.save()
        self.state.close_project()
        super().closeEvent(event)
