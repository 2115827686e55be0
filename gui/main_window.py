"""The main window: menus, toolbar, docks (Runs, Run setup, What am I seeing?, Generation scrubber), the
centre GenerationPanel, the status bar, projects (New/Open/Recent/Save As/Close, drag-and-drop), the run
worker's life cycle, and export wiring.

Threads: the window owns the GUI thread's :class:`core.store.Project` connection (reads, renames, deletes,
creating runs); every run is computed by a :class:`gui.worker.RunWorker` with its own connection. Worker
signals are connected to bound methods of this window only.

Dialogs go through :class:`Dialogs`, so tests can answer them without blocking.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QProgressDialog,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from core import export as core_export
from core.engine import RunSpec
from core.runner import create_runs
from core.store import Project, ProjectError, RunInfo
from gui import chart_export
from gui.about import show_about
from gui.app import glyph_icon, icon, user_data_dir
from gui.cache import RunCache
from gui.demo import demo_selection, prepare_demo
from gui.generation_panel import GenerationPanel
from gui.help_panel import HelpPanel
from gui.run_panel import RunPanel
from gui.runs_panel import RunsPanel, is_resumable
from gui.scrubber import Scrubber
from gui.worker import RunWorker

log = logging.getLogger("collapse_lab.window")

PROJECT_FILTER = "Collapse Lab projects (*.collapse);;All files (*)"
MAX_RECENT = 10
STATE_VERSION = 1
CHART_LABELS = {"distribution": "Distribution", "heatmap": "Drift heatmap", "timeline": "Timelines"}
DEFAULT_PNG_SIZE = (1200, 800)
SELECT_ALL_MAX = 4  # opening a project with this many runs or fewer overlays them all
FOLLOW_INTERVAL_S = 1 / 15  # "follow latest" moves the views at most this often while a run computes
DEMO_READY = ("Demo: a pure refit (replace) beside a run that mixes in 50% real data. Space plays the generations; "
              "select runs on the left to compare them.")


# ---- dialogs --------------------------------------------------------------------------------------------------
class PngOptionsDialog(QDialog):
    """Size and background of a PNG export."""

    def __init__(self, parent: QWidget | None, size: tuple[int, int], transparent: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export PNG")
        self.width_spin = QSpinBox()
        self.width_spin.setRange(100, 10000)
        self.width_spin.setValue(size[0])
        self.width_spin.setSuffix(" px")
        self.width_spin.setToolTip("Width of the image in pixels")
        self.height_spin = QSpinBox()
        self.height_spin.setRange(100, 10000)
        self.height_spin.setValue(size[1])
        self.height_spin.setSuffix(" px")
        self.height_spin.setToolTip("Height of the image in pixels")
        self.transparent_box = QCheckBox("Transparent background")
        self.transparent_box.setChecked(transparent)
        self.transparent_box.setToolTip("Leave the background transparent instead of white (for slides)")
        form = QFormLayout(self)
        form.addRow("Width", self.width_spin)
        form.addRow("Height", self.height_spin)
        form.addRow(self.transparent_box)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def result_options(self) -> tuple[tuple[int, int], bool]:
        """((width, height), transparent) as chosen."""
        return (self.width_spin.value(), self.height_spin.value()), self.transparent_box.isChecked()


class Dialogs:
    """Every question the window asks. Tests replace this object with one that answers from a script."""

    def open_path(self, parent: QWidget, title: str, filters: str, start: str = "") -> str | None:
        """A file to open, or None when cancelled."""
        path, _ = QFileDialog.getOpenFileName(parent, title, start, filters)
        return path or None

    def save_path(self, parent: QWidget, title: str, suggested: str, filters: str) -> str | None:
        """A file to write, or None when cancelled (the dialog asks before replacing)."""
        path, _ = QFileDialog.getSaveFileName(parent, title, suggested, filters)
        return path or None

    def error(self, parent: QWidget, title: str, text: str) -> None:
        """Show an error (modal)."""
        QMessageBox.critical(parent, title, text)

    def info(self, parent: QWidget, title: str, text: str) -> None:
        """Show a note (modal)."""
        QMessageBox.information(parent, title, text)

    def confirm(self, parent: QWidget, title: str, text: str) -> bool:
        """Ask yes/cancel; True for yes."""
        answer = QMessageBox.question(parent, title, text, QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def png_options(self, parent: QWidget, size: tuple[int, int],
                    transparent: bool) -> tuple[tuple[int, int], bool] | None:
        """Size and background of a PNG export, or None when cancelled."""
        dlg = PngOptionsDialog(parent, size, transparent)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.result_options()


def _with_suffix(path: str, suffix: str) -> str:
    """Add `suffix` (".png") when the chosen name has no extension."""
    p = Path(path)
    return str(p) if p.suffix else str(p.with_suffix(suffix))


def _worth_showing(message: str | None) -> bool:
    """A finished run's stored message, unless it is a leftover pause/stop note."""
    if not message:
        return False
    low = message.lower()
    return not (low.startswith("paused after") or low.startswith("stopped after") or low == "not started yet"
                or "resume to continue" in low)


def _fmt_eta(seconds: float) -> str:
    if seconds < 1:
        return "< 1 s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class _AnimationProgress:
    """Feeds export_animation_frames' progress(i, total) into a QProgressDialog; False cancels."""

    def __init__(self, dialog: QProgressDialog) -> None:
        self.dialog = dialog

    def update(self, i: int, total: int) -> bool:
        """progress(i, total) for export_animation_frames; False when the user cancelled."""
        if self.dialog.maximum() != total:
            self.dialog.setMaximum(total)
        self.dialog.setValue(i)
        return not self.dialog.wasCanceled()


# ---- the window -------------------------------------------------------------------------------------------------
class MainWindow(QMainWindow):
    """Collapse Lab's main window."""

    def __init__(self, settings: QSettings | None = None, data_dir: str | Path | None = None,
                 dialogs: Dialogs | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.data_dir = Path(data_dir) if data_dir is not None else user_data_dir()
        self.dialogs = dialogs if dialogs is not None else Dialogs()
        self.project: Project | None = None
        self.cache: RunCache | None = None
        self._worker: RunWorker | None = None
        self._retired: list[RunWorker] = []  # ended workers whose last queued signals may still be on the way
        self._queue: list[int] = []  # runs waiting to be computed, in order (after the worker's run)
        self._paused: list[int] = []  # runs paused by Pause (Resume continues them first)
        self._stop_mode: str | None = None  # 'pause' or 'stop' while a stop request is pending
        self._run_started_at = 0.0
        self._run_first_generation = 0
        self._last_follow = 0.0
        self._last_error: str | None = None  # the text of the last error dialog (for the status line and tests)
        self._dropped: str | None = None
        self._is_demo = False
        self._autoplay_run: int | None = None
        self._current: RunInfo | None = None
        self._selected: list[RunInfo] = []
        self._png_size = DEFAULT_PNG_SIZE
        self._png_transparent = False
        self._last_export_result: Any = None

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
        self._default_state = self.saveState(STATE_VERSION)
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
        self.quit_action = self._action("&Quit", self.close, QKeySequence(ks.Quit), "Quit Collapse Lab")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.start_action = self._action("&Start", self.run_panel.request_start, "F5",
                                         "Create a run from Run setup and compute it", glyph_icon("start"))
        self.pause_action = self._action("&Pause", self.pause_run, "F6",
                                         "Pause after the current generation", glyph_icon("run-pause"))
        self.resume_action = self._action("&Resume", self.resume_run, "Ctrl+R",
                                          "Continue the paused run, or the selected interrupted runs",
                                          glyph_icon("resume"))
        self.stop_action = self._action("S&top", self.stop_run, "Shift+F5",
                                        "Stop after the current generation (the run stays resumable)",
                                        glyph_icon("stop"))

        self.export_actions: dict[str, dict[str, QAction]] = {"png": {}, "svg": {}, "copy": {}, "csv": {}}
        for chart, label in CHART_LABELS.items():
            self.export_actions["png"][chart] = self._action(f"{label}...", self._on_export_png_action, None,
                                                             f"Export the {label.lower()} chart as a PNG image")
            self.export_actions["svg"][chart] = self._action(f"{label}...", self._on_export_svg_action, None,
                                                             f"Export the {label.lower()} chart as an SVG drawing")
            self.export_actions["copy"][chart] = self._action(label, self._on_copy_chart_action, None,
                                                              f"Copy the {label.lower()} chart to the clipboard")
            self.export_actions["csv"][chart] = self._action(f"{label}...", self._on_export_chart_csv_action, None,
                                                             f"The data the {label.lower()} chart draws, as CSV")
            for kind in ("png", "svg", "copy", "csv"):
                self.export_actions[kind][chart].setData(chart)
        self.metrics_csv_action = self._action("&Metrics CSV...", self.export_metrics_csv, None,
                                               "Tidy metrics of the selected runs (run, replicate, generation, "
                                               "metric, value), as the command line writes them")
        self.histograms_csv_action = self._action("&Histograms CSV...", self.export_histograms_csv, None,
                                                  "Histogram counts of every generation of the selected runs")
        self.samples_csv_action = self._action("&Samples CSV...", self.export_samples_csv, None,
                                               "Stored samples of every generation of the selected runs")
        self.gif_action = self._action("Histogram Animation (&GIF)...", self.export_animation_gif, None,
                                       "The current run's histogram across generations as an animated GIF")
        self.mp4_action = self._action("Histogram Animation (MP4 &frames)...", self.export_animation_mp4, None,
                                       "The current run's histogram across generations as numbered frames for "
                                       "an MP4 encoder")

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
        self.export_menu = file_menu.addMenu(icon("export"), "&Export")
        self.export_menu.setToolTipsVisible(True)
        png = self.export_menu.addMenu("Chart as &PNG")
        svg = self.export_menu.addMenu("Chart as S&VG")
        copy = self.export_menu.addMenu("&Copy Chart")
        data = self.export_menu.addMenu("Chart &Data as CSV")
        for chart in CHART_LABELS:
            png.addAction(self.export_actions["png"][chart])
            svg.addAction(self.export_actions["svg"][chart])
            copy.addAction(self.export_actions["copy"][chart])
            data.addAction(self.export_actions["csv"][chart])
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.metrics_csv_action)
        self.export_menu.addAction(self.histograms_csv_action)
        self.export_menu.addAction(self.samples_csv_action)
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.gif_action)
        self.export_menu.addAction(self.mp4_action)
        file_menu.addSeparator()
        file_menu.addAction(self.close_action)
        file_menu.addAction(self.quit_action)

        run_menu = mb.addMenu("&Run")
        run_menu.setToolTipsVisible(True)
        for a in (self.start_action, self.pause_action, self.resume_action, self.stop_action):
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
        for dock in (self.runs_dock, self.setup_dock, self.help_dock, self.scrubber_dock):
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
        self.export_button = QToolButton()
        self.export_button.setObjectName("export_button")
        self.export_button.setText("Export")
        self.export_button.setIcon(icon("export"))
        self.export_button.setToolTip("Export charts (PNG, SVG, clipboard), CSVs and animations")
        self.export_button.setMenu(self.export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.addWidget(self.export_button)
        tb.addSeparator()
        for a in (self.start_action, self.pause_action, self.resume_action, self.stop_action):
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
        rp = self.run_panel
        rp.start_requested.connect(self.start_run)
        rp.pause_requested.connect(self.pause_run)
        rp.resume_requested.connect(self.resume_run)
        rp.stop_requested.connect(self.stop_run)
        rp.start_enabled_changed.connect(self.start_action.setEnabled)
        rp.choose_file = self.choose_data_file  # type: ignore[method-assign]
        runs = self.runs_panel
        runs.selection_changed.connect(self._on_selection_changed)
        runs.rename_requested.connect(self.rename_run)
        runs.delete_requested.connect(self.delete_runs)
        runs.resume_requested.connect(self.resume_runs)
        runs.use_settings_requested.connect(self._on_use_settings)
        self.scrubber.generation_requested.connect(self._on_generation_requested)
        self.generation_panel.generation_picked.connect(self._on_generation_picked)
        self.empty_new.clicked.connect(self.new_project)
        self.empty_open.clicked.connect(self.open_dialog)
        self.empty_demo.clicked.connect(self.open_demo)

    def _apply_default_layout(self) -> None:
        screen = QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1440, 900
        if avail is not None and avail.width() > 200:
            w, h = min(w, int(avail.width() * 0.92)), min(h, int(avail.height() * 0.92))
        self.resize(w, h)
        left = max(300, min(int(w * 0.24), 400))
        right = max(320, min(int(w * 0.25), 400))
        self.resizeDocks([self.runs_dock, self.setup_dock], [left, right], Qt.Orientation.Horizontal)
        # Run setup as tall as its form needs (within 50-72% of the column); the help panel gets the rest.
        column = max(h - 140, 300)
        form = self.run_panel.sizeHint().height() + 8
        setup = max(int(column * 0.5), min(form, int(column * 0.72)))
        self.resizeDocks([self.setup_dock, self.help_dock], [setup, column - setup], Qt.Orientation.Vertical)

    # ---- settings --------------------------------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.restoreGeometry(QByteArray(geometry))
        state = s.value("window/state")
        if isinstance(state, QByteArray | bytes) and state:
            self.restoreState(QByteArray(state), STATE_VERSION)
        fps = s.value("scrubber/fps")
        if fps is not None:
            try:
                self.scrubber.fps_spin.setValue(int(fps))
            except (TypeError, ValueError):
                pass
        self.scrubber.loop_box.setChecked(str(s.value("scrubber/loop", "false")).lower() == "true")
        size = s.value("export/png_size")
        if isinstance(size, list) and len(size) == 2:
            try:
                self._png_size = (int(size[0]), int(size[1]))
            except (TypeError, ValueError):
                pass
        self._png_transparent = str(s.value("export/png_transparent", "false")).lower() == "true"

    def save_settings(self) -> None:
        """Geometry, dock layout, scrubber and export preferences (recent files are saved as they change)."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.setValue("scrubber/fps", self.scrubber.fps_spin.value())
        s.setValue("scrubber/loop", "true" if self.scrubber.loop_box.isChecked() else "false")
        s.setValue("export/png_size", [self._png_size[0], self._png_size[1]])
        s.setValue("export/png_transparent", "true" if self._png_transparent else "false")
        s.sync()

    def reset_layout(self) -> None:
        """Every dock and the toolbar back to the default place and size."""
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in (self.runs_dock, self.setup_dock, self.help_dock, self.scrubber_dock):
            dock.show()
        self.toolbar.show()
        self._apply_default_layout()

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

    # ---- errors --------------------------------------------------------------------------------------------------
    def show_error(self, title: str, text: str) -> None:
        """A clear dialog (never a traceback); tests answer it through `dialogs`."""
        self._last_error = text
        self.dialogs.error(self, title, text)

    def _unexpected(self, doing: str, exc: BaseException) -> None:
        log.error("unexpected error while %s", doing, exc_info=(type(exc), exc, exc.__traceback__))
        self.show_error("Collapse Lab", f"Could not finish {doing}: {type(exc).__name__}: {exc}\n\nEverything "
                        f"already saved in the project is safe. Details are in the log file in {self.data_dir}.")

    # ---- projects ---------------------------------------------------------------------------------------------------
    def _set_project(self, project: Project | None) -> None:
        old = self.project
        self.project = project
        self.cache = RunCache(project) if project is not None else None
        self._current, self._selected = None, []
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
        else:
            self.runs_panel.set_empty_text("This project has no runs yet.\n\nChoose a scenario and a policy in "
                                           "Run setup (right) and press Start.")
            if project.readonly:
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
        try:
            return Project(path, create=create)
        except ProjectError as exc:
            self.show_error("Cannot open the project" if not create else "Cannot create the project", str(exc))
        except Exception as exc:  # e.g. an OSError the store did not translate
            self._unexpected(f"opening {path}", exc)
        return None

    def _leave_project(self) -> list[int]:
        """Stop any worker (the run is paused and stays resumable); return the runs that were in progress."""
        pending = self._halt_worker()
        if pending and self.project is not None:
            self.statusBar().showMessage(f"Paused the run in {self.project.path.name}; open it again and press "
                                         "Resume to continue.", 8000)
        return pending

    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open a project file; a clear error dialog when it is not one (the current project stays open)."""
        p = Path(path)
        if self.project is not None and p.exists() and p.resolve() == self.project.path.resolve():
            return True
        if not p.exists():
            self.show_error("Cannot open the project", f"{p}: no such file")
            return False
        project = self._open(p, create=False)
        if project is None:
            return False
        self._leave_project()
        self._is_demo = False
        self._autoplay_run = None
        self._set_project(project)
        self._add_recent(p)
        self._select_initial()
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
        start = str(self.project.path.parent) if self.project is not None else str(Path.home())
        path = self.dialogs.open_path(self, "Open project", PROJECT_FILTER, start)
        if path:
            self.open_project(path)

    def new_project(self, path: str | None = None) -> bool:
        """File > New: ask for a file name and create an empty project there."""
        if not path:
            start = str((self.project.path.parent if self.project is not None else Path.home()) / "untitled.collapse")
            path = self.dialogs.save_path(self, "New project", start, PROJECT_FILTER)
            if not path:
                return False
        p = Path(_with_suffix(path, ".collapse"))
        if self.project is not None and p.exists() and p.resolve() == self.project.path.resolve():
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
        self._leave_project()
        self._is_demo = False
        self._autoplay_run = None
        self._set_project(project)
        self._add_recent(p)
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
        if self.project is not None and self.project.path.resolve() == path.resolve():
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
        if not path:
            suggested = str(self.project.path.with_name(self.project.path.stem + " copy.collapse"))
            if self._is_demo:
                suggested = str(Path.home() / "demo.collapse")
            path = self.dialogs.save_path(self, "Save project as", suggested, PROJECT_FILTER)
            if not path:
                return False
        target = Path(_with_suffix(path, ".collapse"))
        if target.exists() and target.resolve() == self.project.path.resolve():
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

    # ---- drag and drop ------------------------------------------------------------------------------------------------
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

    # ---- runs list and selection --------------------------------------------------------------------------------------
    def reload_runs(self) -> list[RunInfo]:
        """Re-read the runs from the file into the Runs panel (and the shown RunInfos)."""
        if self.project is None:
            return []
        try:
            runs = self.project.runs()
        except ProjectError as exc:
            self.show_error("Cannot read the project", str(exc))
            return []
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
        start = current or (str(self.project.path.parent) if self.project is not None else str(Path.home()))
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
        busy = set(self._queue) | set(self._paused) | ({self._worker.run_id} if self._worker else set())
        if busy & set(run_ids):
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

    # ---- running ----------------------------------------------------------------------------------------------------
    @property
    def worker(self) -> RunWorker | None:
        """The worker computing a run now, if any."""
        return self._worker

    def is_running(self) -> bool:
        """Whether a run is being computed now."""
        return self._worker is not None

    def start_run(self, spec: RunSpec, replicates: int = 1, name: str = "") -> list[int]:
        """Create runs from a validated spec (R replicates) and compute them one after the other."""
        if self.project is None or self.project.readonly:
            return []
        if self._worker is not None:
            self.show_error("A run is in progress", "Wait for it to finish, or pause it, before starting another.")
            return []
        try:
            ids = create_runs(self.project, spec, replicates, name or None)
        except ProjectError as exc:
            self.show_error("Cannot start the run", str(exc))
            return []
        except Exception as exc:
            self._unexpected("creating the run", exc)
            return []
        self._paused = []  # a new run replaces whatever was paused (those runs stay resumable individually)
        self.reload_runs()
        self.scrubber.follow_box.setChecked(True)
        self.runs_panel.select_runs(ids, ids[0])
        self._queue = list(ids)
        self._start_next()
        return ids

    def _start_next(self) -> None:
        if self._worker is not None or not self._queue or self.project is None:
            self._update_actions()
            return
        run_id = self._queue.pop(0)
        worker = RunWorker(self.project.path, run_id)
        worker.run_started.connect(self._on_run_started)
        worker.progressed.connect(self._on_progress)
        worker.run_ended.connect(self._on_run_ended)
        worker.failed.connect(self._on_worker_failed)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker
        self._stop_mode = None
        self._run_started_at = time.perf_counter()
        self.statusBar().clearMessage()  # a temporary message would hide the run's progress line
        run = self.runs_panel.run(run_id)
        self.status_label.setText(f"Starting {run.name if run else 'run'}...")
        self.progress.setRange(0, run.spec.generations if run else 0)
        self.progress.setValue(max(run.last_generation, 0) if run else 0)
        self.progress.show()
        worker.start()
        self._update_actions()

    def pause_run(self) -> None:
        """Pause after the current generation (the run and any queued runs can be resumed)."""
        if self._worker is not None and not self._worker.stop_requested:
            self._stop_mode = "pause"
            self._worker.request_stop()
            self.status_label.setText("Pausing after the current generation...")
            self._update_actions()

    def stop_run(self) -> None:
        """Stop after the current generation and forget queued runs (they stay resumable)."""
        if self._worker is not None and not self._worker.stop_requested:
            self._stop_mode = "stop"
            self._worker.request_stop()
            self.status_label.setText("Stopping after the current generation...")
        elif self._worker is None and self._paused:
            self._paused = []
            self.status_label.setText("Stopped. The interrupted runs can be resumed from the Runs panel.")
        self._queue = []
        self._update_actions()

    def resume_run(self) -> None:
        """Resume the paused runs, else the selected interrupted runs."""
        if self._worker is not None:
            return
        if self._paused:
            self._queue = self._paused + [i for i in self._queue if i not in self._paused]
            self._paused = []
            self._start_next()
            return
        ids = self.runs_panel.resumable_selected()
        if not ids and self._current is not None and is_resumable(self._current):
            ids = [self._current.id]
        self.resume_runs(ids)

    def resume_runs(self, run_ids: list[int]) -> None:
        """Continue interrupted runs from their last saved generation."""
        if not run_ids or self.project is None or self.project.readonly:
            return
        if self._worker is not None:
            self._queue.extend(i for i in run_ids if i not in self._queue and i != self._worker.run_id)
            self._update_actions()
            return
        self._paused = []
        self._queue = list(run_ids)
        self.scrubber.follow_box.setChecked(True)
        self._start_next()

    def _halt_worker(self) -> list[int]:
        """Stop the worker now, blocking until the generation in flight is saved (a generation always ends;
        nothing is cut off mid-write); return the runs that were running, paused or queued."""
        pending: list[int] = []
        w = self._worker
        if w is not None:
            pending.append(w.run_id)
            self._stop_mode = "halt"
            w.request_stop()
            self.status_label.setText("Saving the generation in progress...")
            QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
            try:
                w.wait()
            finally:
                QGuiApplication.restoreOverrideCursor()
            self._finish_worker(w)
        pending += [i for i in self._paused + self._queue if i not in pending]
        self._queue, self._paused = [], []
        self._update_actions()
        return pending

    def _resume_after(self, pending: list[int]) -> None:
        if pending and self.project is not None and not self.project.readonly:
            self._queue = list(pending)
            self._start_next()

    # worker signals (queued to the GUI thread; bound methods only) -------------------------------------------------
    def _from_current_worker(self, run_id: int) -> bool:
        """Whether a worker signal comes from the worker running now (not a stopped one's late signal)."""
        w = self._worker
        return w is not None and w.run_id == run_id and self.sender() in (w, None)

    def _on_run_started(self, run_id: int, first: int, target: int) -> None:
        if not self._from_current_worker(run_id):
            return
        self._run_first_generation = first
        self.progress.setRange(0, target)
        if self.project is not None:
            try:
                info = self.project.run(run_id)
            except ProjectError:
                return
            self.runs_panel.update_run(info)

    def _on_progress(self, run_id: int, generation: int, target: int, metrics: dict[str, float],
                     rate: float) -> None:
        if self.project is None or not self._from_current_worker(run_id):
            return
        assert self._worker is not None
        run = self.runs_panel.run(run_id)
        name = run.name if run is not None else f"run {run_id}"
        left = max(target - generation, 0) + sum(self._remaining(i) for i in self._queue)
        eta = _fmt_eta(left / rate) if rate > 0 else "?"
        queued = f" (+{len(self._queue)} queued)" if self._queue else ""
        if self._worker.stop_requested:
            self.status_label.setText(f"{'Pausing' if self._stop_mode == 'pause' else 'Stopping'} {name} after "
                                      f"generation {generation}...")
        else:
            self.status_label.setText(f"Running {name}: generation {generation}/{target}, {rate:,.0f} gen/s, "
                                      f"ETA {eta}{queued}")
        self.progress.setValue(generation)
        if self.cache is not None:
            self.cache.invalidate(run_id)
        try:
            info = self.project.run(run_id)
        except ProjectError:
            return
        self.runs_panel.update_run(info)
        if self._current is not None and self._current.id == run_id:
            self._current = info
        self._selected = [info if r.id == run_id else r for r in self._selected]
        shown = any(r.id == run_id for r in self._selected)
        if shown:
            self.generation_panel.refresh(run_id)  # coalesced by the panel
        if self._current is not None and self._current.id == run_id:
            now = time.perf_counter()
            last_signal = generation >= target or self._worker.stop_requested
            if self.scrubber.follow and (last_signal or now - self._last_follow >= FOLLOW_INTERVAL_S):
                self._last_follow = now
                if shown:
                    self.generation_panel.flush()  # the views have generation k before the scrubber asks for it
                self.scrubber.set_latest(generation, target)
            else:
                self.scrubber.set_range(generation, target)

    def _remaining(self, run_id: int) -> int:
        run = self.runs_panel.run(run_id)
        return max(run.spec.generations - max(run.last_generation, 0), 0) if run is not None else 0

    def _on_run_ended(self, run_id: int, status: str, message: str) -> None:
        if self._from_current_worker(run_id) and status == "failed" and message:
            log.warning("run %s failed: %s", run_id, message)

    def _on_worker_failed(self, run_id: int, message: str) -> None:
        if self._from_current_worker(run_id):
            self._queue = []
            self._stop_mode = "failed"
        self.show_error("The run stopped", message)

    def _on_worker_finished(self) -> None:
        # QThread.finished is the last signal a worker sends: after it, nothing queued can name it as sender.
        w = self.sender()
        if isinstance(w, RunWorker):
            self._finish_worker(w)
            if w in self._retired:
                self._retired.remove(w)
                w.deleteLater()

    def _finish_worker(self, w: RunWorker) -> None:
        """Bookkeeping after a worker's thread ended (idempotent: a halted worker is finished at once)."""
        if w is not self._worker:
            return
        self._worker = None
        self._retired.append(w)  # kept alive until its queued finished signal has been delivered
        mode, self._stop_mode = self._stop_mode, None
        elapsed = time.perf_counter() - self._run_started_at
        runs = self.reload_runs()
        info = next((r for r in runs if r.id == w.run_id), None)
        if self.cache is not None:
            self.cache.invalidate(w.run_id)
        if info is not None and any(r.id == w.run_id for r in self._selected):
            self.generation_panel.refresh(w.run_id)
            if self._current is not None and self._current.id == w.run_id:
                self.scrubber.set_range(info.last_generation, info.spec.generations)
        self.progress.hide()
        self.statusBar().clearMessage()
        name = info.name if info is not None else f"run {w.run_id}"
        if mode == "pause":
            if info is not None and not info.complete:
                self._paused = [w.run_id] + [i for i in self._queue if i != w.run_id]
            else:
                self._paused = list(self._queue)
            self._queue = []
            self.status_label.setText(f"Paused {name} after generation {w.last_generation}. Press Resume to "
                                      "continue; every finished generation is saved.")
        elif mode == "stop":
            self._queue = []
            self.status_label.setText(f"Stopped {name} after generation {w.last_generation}. It can be resumed "
                                      "from the Runs panel.")
        elif mode == "halt":
            self.status_label.setText(f"Paused {name} after generation {w.last_generation}.")
        elif mode == "failed" or info is None or info.status == "failed":
            self._queue = []
            note = f": {info.message}" if info is not None and info.message else ""
            self.status_label.setText(f"{name} stopped{note}")
        else:
            done = (info.last_generation - self._run_first_generation + 1) if info is not None else 0
            note = f" ({info.message})" if info is not None and _worth_showing(info.message) else ""
            self.status_label.setText(f"Finished {name}: {max(done, 0)} generations in {elapsed:.1f} s{note}")
            if self._autoplay_run == w.run_id:
                self._start_autoplay()
            if self._is_demo and not self._queue:
                self.status_label.setText(DEMO_READY)
        if mode is None and self._queue:
            self._start_next()
        self._update_actions()

    # ---- enabling ------------------------------------------------------------------------------------------------------
    def _update_actions(self) -> None:
        has_project = self.project is not None
        writable = has_project and not self.project.readonly  # type: ignore[union-attr]
        running = self._worker is not None
        stopping = running and self._worker.stop_requested  # type: ignore[union-attr]
        resumable_sel = bool(self.runs_panel.resumable_selected()) or (
            self._current is not None and is_resumable(self._current))
        can_resume = writable and not running and (bool(self._paused) or resumable_sel)
        can_pause = running and not stopping
        can_stop = (running and not stopping) or (not running and bool(self._paused))
        self.run_panel.set_run_state(running=running, can_pause=can_pause, can_resume=can_resume, can_stop=can_stop)
        self.runs_panel.set_pending(self._queue, self._paused)
        self.start_action.setEnabled(self.run_panel.start_button.isEnabled())
        self.pause_action.setEnabled(can_pause)
        self.resume_action.setEnabled(can_resume)
        self.stop_action.setEnabled(can_stop)
        has_runs = has_project and bool(self.runs_panel.runs())
        self.save_as_action.setEnabled(has_project)
        self.close_action.setEnabled(has_project)
        for kind in self.export_actions.values():
            for a in kind.values():
                a.setEnabled(has_runs)
        for a in (self.metrics_csv_action, self.histograms_csv_action, self.samples_csv_action, self.gif_action,
                  self.mp4_action):
            a.setEnabled(has_runs)
        self.export_button.setEnabled(has_runs)

    # ---- export ---------------------------------------------------------------------------------------------------------
    def chart(self, name: str) -> QWidget | None:
        """One of the centre panel's charts ('distribution', 'heatmap', 'timeline')."""
        return self.generation_panel.charts().get(name)

    def _suggest(self, what: str, suffix: str) -> str:
        base = self.project.path.parent if self.project is not None else Path.home()
        stem = self.project.path.stem if self.project is not None else "collapse-lab"
        run = self._current
        tag = f"-{run.name}" if run is not None and what not in ("metrics", "histograms", "samples") else ""
        safe = "".join(c if c.isalnum() or c in "-_. " else "_" for c in f"{stem}-{what}{tag}")
        return str(base / f"{safe}{suffix}")

    def _chart_or_error(self, name: str) -> QWidget | None:
        w = self.chart(name)
        if w is None:
            self.show_error("Cannot export", f"There is no {CHART_LABELS.get(name, name).lower()} chart to export.")
        return w

    def _on_export_png_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.export_png(str(a.data()))

    def _on_export_svg_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.export_svg(str(a.data()))

    def _on_export_chart_csv_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.export_chart_csv(str(a.data()))

    def _on_copy_chart_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            self.copy_chart(str(a.data()))

    def export_png(self, chart: str, path: str | None = None, size: tuple[int, int] | None = None,
                   transparent: bool | None = None) -> bool:
        """Export a chart to PNG at a chosen size, white or transparent background."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        if size is None or transparent is None:
            opts = self.dialogs.png_options(self, self._png_size, self._png_transparent)
            if opts is None:
                return False
            size, transparent = opts
            self._png_size, self._png_transparent = size, transparent
        if not path:
            path = self.dialogs.save_path(self, "Export chart as PNG", self._suggest(chart, ".png"),
                                          "PNG images (*.png)")
            if not path:
                return False
        path = _with_suffix(path, ".png")
        return self._export_call(f"exporting {path}", chart_export.export_png, w, path, size=size,
                                 transparent=transparent, done=f"Saved {path}")

    def export_svg(self, chart: str, path: str | None = None) -> bool:
        """Export a chart to SVG."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        if not path:
            path = self.dialogs.save_path(self, "Export chart as SVG", self._suggest(chart, ".svg"),
                                          "SVG drawings (*.svg)")
            if not path:
                return False
        path = _with_suffix(path, ".svg")
        return self._export_call(f"exporting {path}", chart_export.export_svg, w, path, done=f"Saved {path}")

    def export_chart_csv(self, chart: str, path: str | None = None) -> bool:
        """The data a chart draws, as CSV."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        if not path:
            path = self.dialogs.save_path(self, "Export chart data as CSV", self._suggest(f"{chart}-data", ".csv"),
                                          "CSV files (*.csv)")
            if not path:
                return False
        path = _with_suffix(path, ".csv")
        return self._export_call(f"writing {path}", chart_export.export_csv, w, path, done=f"Saved {path}")

    def copy_chart(self, chart: str) -> bool:
        """Copy a chart to the clipboard as an image."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        return self._export_call("copying the chart", chart_export.copy_to_clipboard, w,
                                 done=f"Copied the {CHART_LABELS.get(chart, chart).lower()} chart")

    def _export_call(self, doing: str, fn: Any, *args: Any, done: str = "", **kwargs: Any) -> bool:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self._last_export_result = None
        try:
            self._last_export_result = fn(*args, **kwargs)
        except ProjectError as exc:
            QGuiApplication.restoreOverrideCursor()
            self.show_error("Export failed", str(exc))
            return False
        except OSError as exc:
            QGuiApplication.restoreOverrideCursor()
            self.show_error("Export failed", f"Could not finish {doing}: {exc.strerror or exc}.")
            return False
        except Exception as exc:
            QGuiApplication.restoreOverrideCursor()
            self._unexpected(doing, exc)
            return False
        QGuiApplication.restoreOverrideCursor()
        if done:
            self.statusBar().showMessage(done, 5000)
        return True

    def _export_runs(self) -> list[RunInfo]:
        """The runs a CSV export covers: the selected runs, else all runs."""
        if self._selected:
            return list(self._selected)
        return self.runs_panel.runs()

    def _export_csv(self, kind: str, writer: Any, path: str | None) -> bool:
        if self.project is None:
            return False
        runs = self._export_runs()
        if not runs:
            return False
        if not path:
            path = self.dialogs.save_path(self, f"Export {kind} CSV", self._suggest(kind, ".csv"),
                                          "CSV files (*.csv)")
            if not path:
                return False
        path = _with_suffix(path, ".csv")
        try:
            fresh = [self.project.run(r.id) for r in runs]
        except ProjectError as exc:
            self.show_error("Export failed", str(exc))
            return False
        n_runs = len(fresh)
        return self._export_call(f"writing {path}", writer, self.project, fresh, path,
                                 done=f"Wrote {kind} of {n_runs} run{'s' * (n_runs != 1)} to {path}")

    def export_metrics_csv(self, path: str | None = None) -> bool:
        """Tidy metrics CSV of the selected runs (core.export, the CLI's format)."""
        return self._export_csv("metrics", core_export.write_metrics_csv, path)

    def export_histograms_csv(self, path: str | None = None) -> bool:
        """Histogram counts CSV of the selected runs."""
        return self._export_csv("histograms", core_export.write_histograms_csv, path)

    def export_samples_csv(self, path: str | None = None) -> bool:
        """Stored samples CSV of the selected runs."""
        return self._export_csv("samples", core_export.write_samples_csv, path)

    def export_animation(self, fmt: str, path: str | None = None) -> bool:
        """The current run's histogram across generations: 'gif' (one file) or 'mp4' (numbered frames)."""
        run = self._current
        if run is None or self.cache is None:
            self.show_error("Cannot export", "Select a run first: the animation shows the current run.")
            return False
        if not path:
            if fmt == "gif":
                path = self.dialogs.save_path(self, "Export histogram animation", self._suggest("animation", ".gif"),
                                              "GIF animations (*.gif)")
            else:
                path = self.dialogs.save_path(self, "Export histogram frames for MP4",
                                              self._suggest("frames", ".mp4"), "MP4 video / frames (*.mp4)")
            if not path:
                return False
        path = _with_suffix(path, f".{fmt}")
        progress = QProgressDialog("Rendering the generations...", "Cancel", 0, 100, self)
        progress.setWindowTitle("Export animation")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        reporter = _AnimationProgress(progress)
        ok = self._export_call(f"exporting {path}", chart_export.export_animation_frames, self.cache, run, path,
                               fmt, progress=reporter.update, done="")
        progress.close()
        progress.deleteLater()
        if not ok:
            return False
        note = getattr(self._last_export_result, "note", None)
        if note:
            self.dialogs.info(self, "Animation exported", f"{note}.")
            self.statusBar().showMessage(note, 8000)
        else:
            self.statusBar().showMessage(f"Saved the animation to {path}", 5000)
        return True

    def export_animation_gif(self) -> None:
        """Export > Histogram Animation (GIF)."""
        self.export_animation("gif")

    def export_animation_mp4(self) -> None:
        """Export > Histogram Animation (MP4 frames)."""
        self.export_animation("mp4")

    # ---- help ----------------------------------------------------------------------------------------------------------
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

    # ---- closing -------------------------------------------------------------------------------------------------------
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
