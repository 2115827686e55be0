"""What the main window remembers between launches in QSettings: geometry, dock layout, scrubber and PNG export
preferences, the chart options (metric, smoothing, log scales, pane sizes); and the default layout that View > Reset Layout returns to. (Recent files are kept by
:mod:`gui.window.project_actions`, saved as they change.)

:class:`SettingsState` is one part (a mixin) of :class:`gui.window.main_window.MainWindow`; the attributes annotated on
the class are what it uses of the window (the PNG preferences belong to :class:`gui.export.actions.ExportActions`).
"""

from __future__ import annotations

import json

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar

from gui.panels.generation_panel import GenerationPanel
from gui.panels.run_panel import RunPanel
from gui.panels.scrubber import Scrubber

STATE_VERSION = 1


class SettingsState(QMainWindow):
    """Restore and save the window's layout and preferences; reset the layout."""

    settings: QSettings
    runs_dock: QDockWidget
    setup_dock: QDockWidget
    help_dock: QDockWidget
    scrubber_dock: QDockWidget
    toolbar: QToolBar
    run_panel: RunPanel
    scrubber: Scrubber
    generation_panel: GenerationPanel
    _png_size: tuple[int, int]
    _png_transparent: bool
    _default_state: QByteArray

    def _docks(self) -> tuple[QDockWidget, ...]:
        """Every dock of the window, in View menu order."""
        return (self.runs_dock, self.setup_dock, self.help_dock, self.scrubber_dock)

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

    def _restore_settings(self) -> None:
        """Remember the default layout (for Reset Layout), then restore the saved one and the preferences."""
        self._default_state = self.saveState(STATE_VERSION)
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
        self.scrubber.loop_box.setChecked(_is_true(s.value("scrubber/loop", "false")))
        size = s.value("export/png_size")
        if isinstance(size, list) and len(size) == 2:
            try:
                self._png_size = (int(size[0]), int(size[1]))
            except (TypeError, ValueError):
                pass
        self._png_transparent = _is_true(s.value("export/png_transparent", "false"))
        try:
            view = json.loads(str(s.value("view/state", "{}")))
        except ValueError:
            view = None
        if isinstance(view, dict):
            self.generation_panel.restore_view_state(view)

    def save_settings(self) -> None:
        """Geometry, dock layout, scrubber, export and chart preferences (recent files are saved as they change)."""
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState(STATE_VERSION))
        s.setValue("scrubber/fps", self.scrubber.fps_spin.value())
        s.setValue("scrubber/loop", _bool_text(self.scrubber.loop_box.isChecked()))
        s.setValue("export/png_size", [self._png_size[0], self._png_size[1]])
        s.setValue("export/png_transparent", _bool_text(self._png_transparent))
        s.setValue("view/state", json.dumps(self.generation_panel.view_state()))
        s.sync()

    def reset_layout(self) -> None:
        """Every dock and the toolbar back to the default place and size."""
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self._docks():
            dock.show()
        self.toolbar.show()
        self._apply_default_layout()


def _is_true(value: object) -> bool:
    """A boolean stored as "true"/"false" (INI files and the registry keep text)."""
    return str(value).lower() == "true"


def _bool_text(flag: bool) -> str:
    return "true" if flag else "false"
