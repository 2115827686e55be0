"""The main window's File > Export menu (and the toolbar's Export button): charts as PNG, SVG, clipboard image
or CSV of what they draw; metrics, histograms and samples CSVs of the selected runs; the histogram animation.

:class:`ExportActions` is one part (a mixin) of :class:`gui.window.main_window.MainWindow`. The files are written by
:mod:`gui.export.charts` and :mod:`core.export` (the command line's writers); this part asks where, shows
progress and errors, and remembers the PNG size and background (saved by :mod:`gui.window.settings_state`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMenu, QProgressDialog, QToolButton, QWidget

from core import export as core_export
from core.store import Project, ProjectError, RunInfo
from gui.cache import RunCache
from gui.dialogs import Dialogs, save_target
from gui.export import charts as chart_export
from gui.icons import icon
from gui.panels.generation_panel import GenerationPanel
from gui.panels.runs_panel import RunsPanel

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


class ExportActions(QMainWindow):
    """Export actions, their menu and dialogs, and the exports themselves."""

    dialogs: Dialogs
    project: Project | None
    cache: RunCache | None
    generation_panel: GenerationPanel
    runs_panel: RunsPanel
    _current: RunInfo | None
    _selected: list[RunInfo]

    def _init_export_state(self) -> None:
        self._png_size = DEFAULT_PNG_SIZE
        self._png_transparent = False
        self._last_export_result: Any = None

    # ---- actions and menu ---------------------------------------------------------------------------------------
    def _build_export_actions(self) -> None:
        self.export_actions: dict[str, dict[str, QAction]] = {kind: {} for kind in CHART_EXPORTS}
        for kind, (_, text, tip) in CHART_EXPORTS.items():
            for chart, label in CHART_LABELS.items():
                a = self._action(text.format(label), self._on_chart_export_action, None, tip.format(label.lower()))
                a.setData(chart)
                a.setProperty("export_kind", kind)
                self.export_actions[kind][chart] = a
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

    def _data_export_actions(self) -> tuple[QAction, ...]:
        """The exports that are not of one chart."""
        return (self.metrics_csv_action, self.histograms_csv_action, self.samples_csv_action, self.gif_action,
                self.mp4_action)

    def _build_export_menu(self, parent: QMenu) -> None:
        """File > Export, a submenu of `parent`."""
        self.export_menu = parent.addMenu(icon("export"), "&Export")
        self.export_menu.setToolTipsVisible(True)
        for kind, (title, _, _) in CHART_EXPORTS.items():
            submenu = self.export_menu.addMenu(title)
            for chart in CHART_LABELS:
                submenu.addAction(self.export_actions[kind][chart])
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.metrics_csv_action)
        self.export_menu.addAction(self.histograms_csv_action)
        self.export_menu.addAction(self.samples_csv_action)
        self.export_menu.addSeparator()
        self.export_menu.addAction(self.gif_action)
        self.export_menu.addAction(self.mp4_action)

    def _build_export_button(self) -> QToolButton:
        """The toolbar's Export button: the Export menu at one click."""
        self.export_button = QToolButton()
        self.export_button.setObjectName("export_button")
        self.export_button.setText("Export")
        self.export_button.setIcon(icon("export"))
        self.export_button.setToolTip("Export charts (PNG, SVG, clipboard), CSVs and animations")
        self.export_button.setMenu(self.export_menu)
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return self.export_button

    def _update_export_actions(self, has_runs: bool) -> None:
        for kind in self.export_actions.values():
            for a in kind.values():
                a.setEnabled(has_runs)
        for a in self._data_export_actions():
            a.setEnabled(has_runs)
        self.export_button.setEnabled(has_runs)

    def _on_chart_export_action(self) -> None:
        a = self.sender()
        if isinstance(a, QAction):
            exporters = {"png": self.export_png, "svg": self.export_svg, "copy": self.copy_chart,
                         "csv": self.export_chart_csv}
            exporters[str(a.property("export_kind"))](str(a.data()))

    # ---- charts -------------------------------------------------------------------------------------------------
    def chart(self, name: str) -> QWidget | None:
        """One of the centre panel's charts ('distribution', 'heatmap', 'timeline')."""
        return self.generation_panel.charts().get(name)

    def _suggest(self, what: str, suffix: str) -> str:
        base = self._project_folder()
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
        path = save_target(self.dialogs, self, path, "Export chart as PNG", self._suggest(chart, ".png"),
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
        path = save_target(self.dialogs, self, path, "Export chart as SVG", self._suggest(chart, ".svg"),
                           "SVG drawings (*.svg)", ".svg")
        if path is None:
            return False
        return self._export_call(f"exporting {path}", chart_export.export_svg, w, path, done=f"Saved {path}")

    def export_chart_csv(self, chart: str, path: str | None = None) -> bool:
        """The data a chart draws, as CSV."""
        w = self._chart_or_error(chart)
        if w is None:
            return False
        path = save_target(self.dialogs, self, path, "Export chart data as CSV",
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
        self._last_export_result = None
        try:
            self._last_export_result = fn(*args, **kwargs)
        except Exception as exc:
            failure = exc
        finally:
            QGuiApplication.restoreOverrideCursor()
        if isinstance(failure, ProjectError):
            self.show_error("Export failed", str(failure))
        elif isinstance(failure, OSError):
            self.show_error("Export failed", f"Could not finish {doing}: {failure.strerror or failure}.")
        elif failure is not None:
            self._unexpected(doing, failure)
        elif done:
            self.statusBar().showMessage(done, 5000)
        return failure is None

    # ---- run data -----------------------------------------------------------------------------------------------
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
        path = save_target(self.dialogs, self, path, f"Export {kind} CSV", self._suggest(kind, ".csv"),
                           "CSV files (*.csv)", ".csv")
        if path is None:
            return False
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
        if fmt == "gif":
            title, what, filters = "Export histogram animation", "animation", "GIF animations (*.gif)"
        else:
            title, what, filters = "Export histogram frames for MP4", "frames", "MP4 video / frames (*.mp4)"
        path = save_target(self.dialogs, self, path, title, self._suggest(what, f".{fmt}"), filters, f".{fmt}")
        if path is None:
            return False
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
