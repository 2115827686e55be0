"""File > Export (and the toolbar's Export button): charts as PNG, SVG, clipboard image or CSV of what they
draw; metrics, histograms and samples CSVs of the selected runs; the histogram animation.

A component of the main window: it is handed the state model (which reads the runs for the CSV writers), the
notifier, the dialogs, QSettings (for the PNG size and background it remembers) and a function returning the
charts to export. The files are written by :mod:`gui.export.charts` and :mod:`core.export` (the command line's
writers); this component asks where, shows progress and errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu, QProgressDialog, QToolButton, QWidget

from core import export as core_export
from core.params import ParamError
from core.store import ProjectError, RunInfo
from gui.dialogs import Dialogs, save_target
from gui.export import charts as chart_export
from gui.icons import icon
from gui.state.window_state import WindowState
from gui.views.base import view_kind
from gui.window.make_action import make_action
from gui.window.notifier import Notifier

CHART_LABELS = {"distribution": "Distribution", "heatmap": "Drift heatmap", "timeline": "Timelines"}
# kind: (submenu, action text ({} is the chart's label), tip ({} is the label in lower case))
CHART_EXPORTS = {
    "png": ("Chart as &PNG", "{}...", "Export the {} chart as a PNG image"),
    "svg": ("Chart as S&VG", "{}...", "Export the {} chart as an SVG drawing"),
    "copy": ("&Copy Chart", "{}", "Copy the {} chart to the clipboard"),
    "csv": ("Chart &Data as CSV", "{}...", "The data the {} chart draws, as CSV"),
}
DEFAULT_PNG_SIZE = (1200, 800)


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


class ExportActions(QObject):
    """Export actions, their menu and dialogs, and the exports themselves."""

    def __init__(self, state: WindowState, notifier: Notifier, dialogs: Dialogs, settings: QSettings,
                 charts: Callable[[], dict[str, QWidget]], view_state: Callable[[], dict[str, Any]],
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.state = state
        self.notifier = notifier
        self.dialogs = dialogs
        self.settings = settings
        self.charts = charts
        self.view_state = view_state  # the chart choices on screen (the histogram mode an animation starts in)
        self.animation = chart_export.AnimationOptions()  # size and fps last chosen (this session)
        self._parent = parent
        self.png_size = DEFAULT_PNG_SIZE
        self.png_transparent = False
        self.last_result: Any = None
        self._load_preferences()
        self.export_actions: dict[str, dict[str, QAction]] = {kind: {} for kind in CHART_EXPORTS}
        for kind, (_, text, tip) in CHART_EXPORTS.items():
            for chart, label in CHART_LABELS.items():
                a = make_action(self, text.format(label), self._on_chart_export_action, None,
                                tip.format(label.lower()))
                a.setData(chart)
                a.setProperty("export_kind", kind)
                self.export_actions[kind][chart] = a
        self.metrics_csv_action = make_action(self, "&Metrics CSV...", self.export_metrics_csv, None,
                                              "Tidy metrics of the selected runs (run, replicate, generation, "
                                              "metric, value), as the command line writes them")
        self.histograms_csv_action = make_action(self, "&Histograms CSV...", self.export_histograms_csv, None,
                                                 "Histogram counts of every generation of the selected runs")
        self.samples_csv_action = make_action(self, "&Samples CSV...", self.export_samples_csv, None,
                                              "Stored samples of every generation of the selected runs")
        self.gif_action = make_action(self, "Histogram Animation (&GIF)...", self.export_animation_gif, None,
                                      "The current run's histogram across generations as an animated GIF")
        self.mp4_action = make_action(self, "Histogram Animation (MP4 &frames)...", self.export_animation_mp4, None,
                                      "The current run's histogram across generations as numbered frames for "
                                      "an MP4 encoder")
        self.menu = QMenu("&Export", parent)
        self.menu.setIcon(icon("export"))
        self.menu.setToolTipsVisible(True)
        for kind, (title, _, _) in CHART_EXPORTS.items():
            submenu = self.menu.addMenu(title)
            for chart in CHART_LABELS:
                submenu.addAction(self.export_actions[kind][chart])
        self.menu.addSeparator()
        for a in (self.metrics_csv_action, self.histograms_csv_action, self.samples_csv_action):
            self.menu.addAction(a)
        self.menu.addSeparator()
        self.menu.addAction(self.gif_action)
        self.menu.addAction(self.mp4_action)
        self.button = QToolButton()
        self.button.setObjectName("export_button")
        self.button.setText("Export")
        self.button.setIcon(icon("export"))
        self.button.setToolTip("Export charts (PNG, SVG, clipboard), CSVs and animations")
        self.button.setMenu(self.menu)
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        state.runs_changed.connect(self._update_actions)
        self._update_actions()

    def _load_preferences(self) -> None:
        size = self.settings.value("export/png_size")
        if isinstance(size, list) and len(size) == 2:
            try:
                w, h = int(size[0]), int(size[1])
                if 16 <= w <= 20000 and 16 <= h <= 20000:
                    self.png_size = (w, h)
            except (TypeError, ValueError):
                pass
        self.png_transparent = str(self.settings.value("export/png_transparent", "false")).lower() == "true"

    def _save_preferences(self) -> None:
        self.settings.setValue("export/png_size", [self.png_size[0], self.png_size[1]])
        self.settings.setValue("export/png_transparent", "true" if self.png_transparent else "false")

    def _update_actions(self) -> None:
        has_runs = self.state.project is not None and bool(self.state.runs)
        for kind in self.export_actions.values():
            for a in kind.values():
                a.setEnabled(has_runs)
        for a in (self.metrics_csv_action, self.histograms_csv_action, self.samples_csv_action, self.gif_action,
                  self.mp4_action):
            a.setEnabled(has_runs)
        self.button.setEnabled(has_runs)

    def _on_chart_export_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            exporters = {"png": self.export_png, "svg": self.export_svg, "copy": self.copy_chart,
                         "csv": self.export_chart_csv}
            exporters[str(a.property("export_kind"))](str(a.data()))

    # ---- charts -------------------------------------------------------------------------------------------------
    def chart(self, name: str) -> QWidget | None:
        """One of the centre panel's charts ('distribution', 'heatmap', 'timeline')."""
        return self.charts().get(name)

    def _suggest(self, what: str, suffix: str) -> str:
        base = self.state.folder()
        stem = self.state.path.stem if self.state.path is not None else "collapse-lab"
        run = self.state.current
        tag = f"-{run.name}" if run is not None and what not in ("metrics", "histograms", "samples") else ""
        safe = "".join(c if c.isalnum() or c in "-_. " else "_" for c in f"{stem}-{what}{tag}")
        return str(base / f"{safe}{suffix}")

    def _chart_or_error(self, name: str) -> QWidget | None:
        w = self.chart(name)
        if w is None:
            self.notifier.error("Cannot export", f"There is no {CHART_LABELS.get(name, name).lower()} chart to export.")
        return w

    def export_png(self, chart: str, path: str | None = None, size: tuple[int, int] | None = None,
                   transparent: bool | None = None) -> bool:
        """Export a chart to PNG at a chosen size, white or transparent background."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        if size is None or transparent is None:
            opts = self.dialogs.png_options(self._parent, self.png_size, self.png_transparent)
            if opts is None:
                return False
            size, transparent = opts
            self.png_size, self.png_transparent = size, transparent
            self._save_preferences()
        path = save_target(self.dialogs, self._parent, path, "Export chart as PNG", self._suggest(chart, ".png"),
                           "PNG images (*.png)", ".png")
        if path is None:
            return False
        return self._export_call(f"exporting {path}", chart_export.export_png, w, path, size=size,
                                 transparent=transparent, done=f"Saved {path}")

    def export_svg(self, chart: str, path: str | None = None) -> bool:
        """Export a chart to SVG."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        path = save_target(self.dialogs, self._parent, path, "Export chart as SVG", self._suggest(chart, ".svg"),
                           "SVG drawings (*.svg)", ".svg")
        if path is None:
            return False
        return self._export_call(f"exporting {path}", chart_export.export_svg, w, path, done=f"Saved {path}")

    def export_chart_csv(self, chart: str, path: str | None = None) -> bool:
        """The data a chart draws, as CSV."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        path = save_target(self.dialogs, self._parent, path, "Export chart data as CSV",
                           self._suggest(f"{chart}-data", ".csv"), "CSV files (*.csv)", ".csv")
        if path is None:
            return False
        return self._export_call(f"writing {path}", chart_export.export_csv, w, path, done=f"Saved {path}")

    def copy_chart(self, chart: str) -> bool:
        """Copy a chart to the clipboard as an image."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        return self._export_call("copying the chart", chart_export.copy_to_clipboard, w,
                                 done=f"Copied the {CHART_LABELS.get(chart, chart).lower()} chart")

    def _export_call(self, doing: str, fn: Any, *args: Any, done: str = "", **kwargs: Any) -> bool:
        """Call an exporter under a wait cursor; an error dialog (never a traceback) when it fails."""
        failure: Exception | None = None
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        self.last_result = None
        try:
            self.last_result = fn(*args, **kwargs)
        except Exception as exc:
            failure = exc
        finally:
            QGuiApplication.restoreOverrideCursor()
        if isinstance(failure, ProjectError):
            self.notifier.error("Export failed", str(failure))
        elif isinstance(failure, OSError):
            self.notifier.error("Export failed", f"Could not finish {doing}: {failure.strerror or failure}.")
        elif failure is not None:
            self.notifier.unexpected(doing, failure)
        elif done:
            self.notifier.status(done, 5000)
        return failure is None

    # ---- run data -----------------------------------------------------------------------------------------------
    def _export_runs(self) -> list[RunInfo]:
        """The runs a CSV export covers: the selected runs, else all runs."""
        return list(self.state.selected) or list(self.state.runs)

    def _export_csv(self, kind: str, writer: Any, path: str | None) -> bool:
        if self.state.project is None:
            return False
        runs = self._export_runs()
        if not runs:
            return False
        path = save_target(self.dialogs, self._parent, path, f"Export {kind} CSV", self._suggest(kind, ".csv"),
                           "CSV files (*.csv)", ".csv")
        if path is None:
            return False
        n_runs = len(runs)
        return self._export_call(f"writing {path}", self.state.write_runs, writer, runs, path,
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

    def export_animation(self, fmt: str, path: str | None = None,
                         options: chart_export.AnimationOptions | None = None) -> bool:
        """The current run's distribution across generations: 'gif' (one file) or 'mp4' (numbered frames), at
        the size, frame rate, generation range and histogram mode asked for (or given as `options`); a progress
        dialog can cancel it (the frames done so far are kept and the note says so)."""
        run = self.state.current
        cache = self.state.cache
        if run is None or cache is None:
            self.notifier.error("Cannot export", "Select a run first: the animation shows the current run.")
            return False
        if fmt == "gif":
            title, what, filters = "Export histogram animation", "animation", "GIF animations (*.gif)"
        else:
            title, what, filters = "Export histogram frames for MP4", "frames", "MP4 video / frames (*.mp4)"
        if options is None:
            last = max(run.last_generation, 0)
            modes = chart_export.animation_modes() if self._is_histogram(run) else []
            mode = self.view_state().get("hist_mode") if modes else None
            defaults = chart_export.AnimationOptions(size=self.animation.size, fps=self.animation.fps, first=0,
                                                     last=last, mode=mode if any(m == mode for m, _ in modes)
                                                     else None)
            options = self.dialogs.animation_options(self._parent, defaults, last, modes)
            if options is None:
                return False
            self.animation = chart_export.AnimationOptions(size=options.size, fps=options.fps)
        path = save_target(self.dialogs, self._parent, path, title, self._suggest(what, f".{fmt}"), filters, f".{fmt}")
        if path is None:
            return False
        progress = QProgressDialog("Rendering the generations...", "Cancel", 0, 100, self._parent)
        progress.setWindowTitle("Export animation")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)
        reporter = _AnimationProgress(progress)
        ok = self._export_call(f"exporting {path}", chart_export.export_animation_frames, cache, run, path,
                               fmt, progress=reporter.update, done="", **options.as_kwargs())
        progress.close()
        progress.deleteLater()
        if not ok:
            return False
        note = getattr(self.last_result, "note", None)
        if note:
            self.notifier.info("Animation exported", f"{note}.")
            self.notifier.status(note, 8000)
        else:
            self.notifier.status(f"Saved the animation to {path}", 5000)
        return True

    @staticmethod
    def _is_histogram(run: RunInfo) -> bool:
        try:
            return view_kind(run) == "hist1d"
        except ParamError:
            return False

    def export_animation_gif(self) -> None:
        """Export > Histogram Animation (GIF)."""
        self.export_animation("gif")

    def export_animation_mp4(self) -> None:
        """Export > Histogram Animation (MP4 frames)."""
        self.export_animation("mp4")
