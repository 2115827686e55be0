"""What the window remembers between launches in QSettings: geometry, the dock layout, playback speed and
loop, and the chart choices the generation panel reports (metric panels, histogram mode, log scales, pane
sizes); and the default layout that View > Reset Layout returns to. (Recent files and the last folder are kept
by :mod:`gui.window.project_actions`, the PNG preferences by :mod:`gui.export.actions`, as they change.)

A component of the main window: it is handed QSettings, the window (for its geometry and dock state), the
docks and the toolbar, the playback state and the generation panel's view-state functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar

from gui.state.playback import Playback

STATE_VERSION = 1


class SettingsState(QObject):
    """Restore and save the window's layout and preferences; reset the layout."""

    def __init__(self, settings: QSettings, window: QMainWindow, docks: tuple[QDockWidget, ...], toolbar: QToolBar,
                 playback: Playback, view_state: Callable[[], dict[str, Any]],
                 restore_view_state: Callable[[dict[str, Any]], None], setup_height: Callable[[], int]) -> None:
        super().__init__(window)
        self.settings = settings
        self.window = window
        self.docks = docks
        self.toolbar = toolbar
        self.playback = playback
        self._view_state = view_state
        self._restore_view_state = restore_view_state
        self._setup_height = setup_height
        self._default_state = QByteArray()

    def apply_default_layout(self) -> None:
        """The default size and dock proportions for the screen."""
        screen = QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1440, 900
        if avail is not None and avail.width() > 200:
            w, h = min(w, int(avail.width() * 0.92)), min(h, int(avail.height() * 0.92))
        self.window.resize(w, h)
        runs, setup, help_, _ = self.docks
        left = max(260, min(int(w * 0.24), 400))
        right = max(300, min(int(w * 0.25), 400))
        self.window.resizeDocks([runs, setup], [left, right], Qt.Orientation.Horizontal)
        # Run setup as tall as its form needs (within 50-72% of the column); the help panel gets the rest.
        column = max(h - 140, 300)
        form = self._setup_height() + 8
        size = max(int(column * 0.5), min(form, int(column * 0.72)))
        self.window.resizeDocks([setup, help_], [size, column - size], Qt.Orientation.Vertical)

    def restore(self) -> None:
        """Remember the default layout (for Reset Layout), then restore the saved one and the preferences."""
        self._default_state = self.window.saveState(STATE_VERSION)
        s = self.settings
        geometry = s.value("window/geometry")
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.window.restoreGeometry(QByteArray(geometry))
        state = s.value("window/state")
        if isinstance(state, QByteArray | bytes) and state:
            self.window.restoreState(QByteArray(state), STATE_VERSION)
        fps = s.value("scrubber/fps")
        if fps is not None:
            try:
                self.playback.set_fps(int(fps))
            except (TypeError, ValueError):
                pass
        self.playback.set_loop(_is_true(s.value("scrubber/loop", "false")))
        try:
            view = json.loads(str(s.value("view/state", "{}")))
        except ValueError:
            view = None
        if isinstance(view, dict):
            self._restore_view_state(view)

    def save(self) -> None:
        """Geometry, dock layout, playback and chart choices."""
        s = self.settings
        s.setValue("window/geometry", self.window.saveGeometry())
        s.setValue("window/state", self.window.saveState(STATE_VERSION))
        s.setValue("scrubber/fps", self.playback.fps)
        s.setValue("scrubber/loop", "true" if self.playback.loop else "false")
        s.setValue("view/state", json.dumps(self._view_state()))
        s.sync()

    def reset_layout(self) -> None:
        """Every dock and the toolbar back to the default place and size."""
        self.window.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks:
            dock.show()
        self.toolbar.show()
        self.apply_default_layout()


def _is_true(value: object) -> bool:
    """A boolean stored as "true"/"false" (INI files and the registry keep text)."""
    return str(value).lower() == "true"
