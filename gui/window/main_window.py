"""The main window: menus, toolbar, docks (Runs, Run setup, What am I seeing?, Generation scrubber), the
centre GenerationPanel and the status bar, put together from parts that each hold one responsibility:

- :mod:`gui.window.project_actions`: New/Open/Recent/Demo/Save As/Close, drag-and-drop, window title, recent files;
- :mod:`gui.window.run_selection`: the runs list, the current and selected runs, rename/delete;
- :mod:`gui.window.run_control`: Start/Pause/Resume/Stop, the run queue, the worker and the progress line;
- :mod:`gui.export.actions`: the Export menu (charts, CSVs, animation);
- :mod:`gui.window.settings_state`: geometry, dock layout and preferences kept in QSettings;
- :mod:`gui.dialogs`: every question the window asks (replaced by a scripted object in tests).

Threads: the window owns the GUI thread's :class:`core.store.Project` connection (reads, renames, deletes,
creating runs); every run is computed by a :class:`gui.worker.RunWorker` with its own connection. Worker
signals are connected to bound methods of this window only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

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
from gui.window.project_actions import ProjectActions
from gui.window.run_control import RunControl
from gui.window.run_selection import RunSelection
from gui.window.settings_state import SettingsState

__all__ = ["Dialogs", "MainWindow"]

log = logging.getLogger("collapse_lab.window")


class MainWindow(ProjectActions, RunSelection, RunControl, ExportActions, SettingsState):
    """Collapse Lab's main window."""

    def __init__(self, settings: QSettings | None = None, data_dir: str | Path | None = None,
                 dialogs: Dialogs | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.data_dir = Path(data_dir) if data_dir is not None else user_data_dir()
        self.dialogs = dialogs if dialogs is not None else Dialogs()
        self._last_error: str | None = None  # the text of the last error dialog (for the status line and tests)
        self._init_project_state()
        self._init_selection_state()
        self._init_run_state()
        self._init_export_state()

        self.setObjectName("MainWindow")
        self.setWindowIcon(icon("collapse-lab"))
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.AllowNestedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)

        self._build_centre()
        self._build_docks()
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self._apply_default_layout()
        self._restore_settings()
        self._set_project(None)

    # ---- construction -------------------------------------------------------------------------------------------
    def _build_centre(self) -> None:
        self.generation_panel = GenerationPanel()
        self.generation_panel.setObjectName("generation_panel")
        self.empty_page = QWidget()
        self.empty_page.setObjectName("empty_page")
        self.empty_title = QLabel()
        self.empty_title.setObjectName("empty_title")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title.setWordWrap(True)
        font = self.empty_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        self.empty_title.setFont(font)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("empty_text")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        self.empty_new = QPushButton(icon("new"), "New Project...")
        self.empty_new.setToolTip("Create a new, empty project file")
        self.empty_open = QPushButton(icon("open"), "Open Project...")
        self.empty_open.setToolTip("Open an existing .collapse project")
        self.empty_demo = QPushButton(icon("collapse-lab"), "Open the Demo")
        self.empty_demo.setToolTip("Open the built-in demo project (a pure refit beside a run mixed with real data)")
        row = QHBoxLayout()
        row.addStretch(1)
        for b in (self.empty_new, self.empty_open, self.empty_demo):
            row.addWidget(b)
        row.addStretch(1)
        lay = QVBoxLayout(self.empty_page)
        lay.addStretch(2)
        lay.addWidget(self.empty_title)
        lay.addWidget(self.empty_text)
        lay.addSpacing(12)
        lay.addLayout(row)
        lay.addStretch(3)
        self.centre = QStackedWidget()
        self.centre.addWidget(self.empty_page)
        self.centre.addWidget(self.generation_panel)
        self.setCentralWidget(self.centre)

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
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.run_panel)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setup_dock = self._dock("Run setup", "setup_dock", scroll, Qt.DockWidgetArea.RightDockWidgetArea,
                                     "Choose a scenario, a policy and parameters, then Start")
        self.help_panel = HelpPanel()
        self.help_dock = self._dock("What am I seeing?", "help_dock", self.help_panel,
                                    Qt.DockWidgetArea.RightDockWidgetArea,
                                    "Model collapse, the views and every metric in plain words")
        self.splitDockWidget(self.setup_dock, self.help_dock, Qt.Orientation.Vertical)
        self.scrubber = Scrubber()
        self.scrubber_dock = self._dock("Generation", "scrubber_dock", self.scrubber,
                                        Qt.DockWidgetArea.BottomDockWidgetArea,
                                        "Choose the generation every view shows")
        self.scrubber_dock.setTitleBarWidget(QWidget())  # a slim bar; still listed (and restorable) in View

    def _action(self, text: str, slot: Any, shortcut: QKeySequence | str | None = None, tip: str = "",
                ic: QIcon | None = None) -> QAction:
        a = QAction(text, self)
        if ic is not None:
            a.setIcon(ic)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        return a


    def _build_actions(self) -> None:
        ks = QKeySequence.StandardKey
        self._build_project_actions()
        self.quit_action = self._action("&Quit", self.close, QKeySequence(ks.Quit), "Quit Collapse Lab")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self._build_run_actions()
        self._build_export_actions()
        self.help_action = self._action("&What am I seeing?", self.show_help, QKeySequence(ks.HelpContents),
                                        "Model collapse, the views and the metrics explained", icon("help"))
        self.about_action = self._action("&About Collapse Lab", self.show_about, None,
                                         "Version information")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_qt_action = self._action("About &Qt", self.show_about_qt, None,
                                            "Qt version and licence")
        self.reset_layout_action = self._action("&Reset Layout", self.reset_layout, None,
                                                "Put every panel back where it started")
        for a in self.scrubber.actions_for_window():
            self.addAction(a)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        file_menu.setToolTipsVisible(True)
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setToolTipsVisible(True)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.save_as_action)
        self._build_export_menu(file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        file_menu.addAction(self.quit_action)

        run_menu = mb.addMenu("&Run")
        run_menu.setToolTipsVisible(True)
        for a in self._run_control_actions():
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
        for dock in self._docks():
            view_menu.addAction(dock.toggleViewAction())
        self.toolbar_toggle_menu_anchor = view_menu.addSeparator()
        gen_menu = view_menu.addMenu("&Generation")
        for a in self.scrubber.actions_for_window():
            gen_menu.addAction(a)
        gen_menu.addSeparator()
        gen_menu.addAction(self.scrubber.follow_action)
        view_menu.addSeparator()
        view_menu.addAction(self.reset_layout_action)
        self.view_menu = view_menu

        help_menu = mb.addMenu("&Help")
        help_menu.addAction(self.help_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)
        help_menu.addAction(self.about_qt_action)

    def _build_toolbar(self) -> None:
        tb = self.addToolBar("Main toolbar")
        tb.setObjectName("main_toolbar")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addAction(self.new_action)
        tb.addAction(self.open_action)
        tb.addAction(self.save_as_action)
        tb.addWidget(self._build_export_button())
        tb.addSeparator()
        for a in self._run_control_actions():
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.help_action)
        self.toolbar = tb
        self.view_menu.insertAction(self.toolbar_toggle_menu_anchor, tb.toggleViewAction())

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel()
        self.status_label.setObjectName("run_status")
        self.status_label.setToolTip("What the run worker is doing: generation, speed and time left")
        self.progress = QProgressBar()
        self.progress.setObjectName("run_progress")
        self.progress.setMaximumWidth(180)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.setToolTip("Progress of the run being computed")
        self.progress.hide()
        self.project_label = QLabel()
        self.project_label.setObjectName("project_info")
        self.project_label.setToolTip("The open project file")
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.project_label)

    def _connect(self) -> None:
        self._connect_run_panel()
        self._connect_selection()
        self.empty_new.clicked.connect(self.new_project)
        self.empty_open.clicked.connect(self.open_dialog)
        self.empty_demo.clicked.connect(self.open_demo)

    # ---- enabling -----------------------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        self._update_run_actions()
        self._update_project_actions()
        self._update_export_actions(self.project is not None and bool(self.runs_panel.runs()))

    # ---- errors -------------------------------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A clear dialog (never a traceback); tests answer it through `dialogs`."""
        self._last_error = text
        self.dialogs.error(self, title, text)

    def _unexpected(self, doing: str, exc: BaseException) -> None:
        log.error("unexpected error while %s", doing, exc_info=(type(exc), exc, exc.__traceback__))
        self.show_error("Collapse Lab", f"Could not finish {doing}: {type(exc).__name__}: {exc}\n\nEverything "
                        f"already saved in the project is safe. Details are in the log file in {self.data_dir}.")

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

    # ---- closing ------------------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        """Pause any run (its generations are saved), save the layout, close the project."""
        self._halt_worker()
        self.scrubber.pause()
        self.save_settings()
        if self.project is not None:
            self.generation_panel.set_cache(None)
            self.project.close()
            self.project = None
            self.cache = None
        super().closeEvent(event)
