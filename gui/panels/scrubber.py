"""The generation scrubber: |< < play > >|, a slider with a spin box, fps, loop and "follow latest".

Frames are dropped, never queued: every change of the position only records the *latest* requested
generation and arms a zero-interval single-shot timer; when the event loop gets to it, one
``generation_requested`` is emitted for whatever generation is current then. Playback advances by wall-clock
time (frame = start + elapsed x fps), so a slow view skips generations instead of falling behind.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from gui.icons import glyph_icon

DEFAULT_FPS = 30


class Scrubber(QWidget):
    """Chooses the one current generation every view shows."""

    generation_requested = Signal(int)  # coalesced: only the latest position is emitted
    follow_changed = Signal(bool)
    playing_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._maximum = 0  # last available generation
        self._target = 0  # the run's target generation (shown as "of N")
        self._pending: int | None = None
        self._play_start = 0.0
        self._play_from = 0
        def button(glyph: str, tip: str, name: str) -> QToolButton:
            b = QToolButton()
            b.setProperty("glyph", glyph)
            b.setIcon(glyph_icon(glyph))
            b.setToolTip(tip)
            b.setObjectName(name)
            b.setAutoRaise(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            return b

        self.first_button = button("first", "First generation (Home)", "first")
        self.prev_button = button("prev", "Previous generation (Left)", "previous")
        self.play_button = button("play", "Play / pause the generations (Space)", "play")
        self.play_button.setCheckable(True)
        self.next_button = button("next", "Next generation (Right)", "next")
        self.last_button = button("last", "Last available generation (End)", "last")

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("generation_slider")
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag to scrub through the generations; every view follows.")
        self.slider.setPageStep(10)
        self.spin = QSpinBox()
        self.spin.setObjectName("generation_spin")
        self.spin.setRange(0, 0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("The current generation (0 = the real data).")
        self.spin.setPrefix("gen ")
        self.of_label = QLabel("/ 0")
        self.of_label.setToolTip("Generations computed so far / the run's target.")
        self.fps_spin = QSpinBox()
        self.fps_spin.setObjectName("fps")
        self.fps_spin.setRange(1, 120)
        self.fps_spin.setValue(DEFAULT_FPS)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Playback speed in generations per second (frames are skipped when a view "
                                 "cannot keep up).")
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setObjectName("loop")
        self.loop_box.setToolTip("Start again from generation 0 when playback reaches the end.")
        self.follow_box = QCheckBox("Follow latest")
        self.follow_box.setObjectName("follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("While a run is computing, jump to each new generation as it is saved.")

        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        lay.setSpacing(4)
        for b in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button):
            lay.addWidget(b)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        lay.addWidget(self.of_label)
        lay.addSpacing(8)
        lay.addWidget(self.fps_spin)
        lay.addWidget(self.loop_box)
        lay.addWidget(self.follow_box)

        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(0)
        self._emit_timer.timeout.connect(self._emit_pending)
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_tick)

        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.first_button.clicked.connect(self.go_first)
        self.prev_button.clicked.connect(self.step_back)
        self.next_button.clicked.connect(self.step_forward)
        self.last_button.clicked.connect(self.go_last)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.fps_spin.valueChanged.connect(self._on_fps)
        self.follow_box.toggled.connect(self._on_follow)
        self._make_actions()
        self._update_enabled()

    # ---- actions with keyboard shortcuts (added to the window so they work anywhere in it) -------------------
    def _make_actions(self) -> None:
        def act(text: str, key: QKeySequence | Qt.Key, slot: object, tip: str) -> QAction:
            a = QAction(text, self)
            a.setShortcut(QKeySequence(key))
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            a.setToolTip(tip)
            a.setStatusTip(tip)
            a.triggered.connect(slot)
            return a

        self.first_action = act("First Generation", Qt.Key.Key_Home, self.go_first, "Go to generation 0")
        self.prev_action = act("Previous Generation", Qt.Key.Key_Left, self.step_back, "One generation back")
        self.play_action = act("Play / Pause", Qt.Key.Key_Space, self.toggle_play, "Play or pause the generations")
        self.next_action = act("Next Generation", Qt.Key.Key_Right, self.step_forward, "One generation forward")
        self.last_action = act("Last Generation", Qt.Key.Key_End, self.go_last, "Go to the last generation")
        self.follow_action = QAction("Follow Latest Generation", self)
        self.follow_action.setCheckable(True)
        self.follow_action.setChecked(True)
        self.follow_action.setStatusTip("While a run computes, show each new generation as it is saved")
        self.follow_action.toggled.connect(self.follow_box.setChecked)
        self.follow_box.toggled.connect(self.follow_action.setChecked)

    def actions_for_window(self) -> list[QAction]:
        """The playback actions (with Left/Right/Home/End/Space) for the window and its View menu."""
        return [self.first_action, self.prev_action, self.play_action, self.next_action, self.last_action]

    # ---- state -------------------------------------------------------------------------------------------------
    @property
    def value(self) -> int:
        """The current generation."""
        return self.slider.value()

    @property
    def maximum(self) -> int:
        """The last available generation."""
        return self._maximum

    @property
    def follow(self) -> bool:
        """Whether the scrubber follows each new generation of a running run."""
        return self.follow_box.isChecked()

    @property
    def playing(self) -> bool:
        """Whether playback is running."""
        return self._play_timer.isActive()

    def set_range(self, maximum: int, target: int | None = None) -> None:
        """Generations 0..maximum are available (maximum -1: none yet); `target` is the run's goal."""
        self._maximum = max(maximum, 0)
        self._target = self._maximum if target is None else max(target, 0)
        for w in (self.slider, self.spin):
            with QSignalBlocker(w):
                w.setRange(0, self._maximum)
        self.of_label.setText(f"/ {self._target}" if maximum >= 0 else "/ -")
        self.of_label.setToolTip(f"{maximum + 1 if maximum >= 0 else 0} generations available of "
                                 f"{self._target + 1} (0..{self._target}).")
        self._sync(self.slider.value())
        self._update_enabled()

    def set_latest(self, generation: int, target: int | None = None) -> None:
        """A new generation was saved: extend the range and, when following, jump to it."""
        self.set_range(generation, target)
        if self.follow and not self.playing:
            self.set_value(generation)

    def set_value(self, generation: int) -> None:
        """Go to a generation (clamped); the request is coalesced."""
        self.slider.setValue(max(0, min(generation, self._maximum)))

    def request_current(self) -> None:
        """Re-request the current generation (after the runs shown changed)."""
        self._request(self.slider.value())

    # ---- navigation ---------------------------------------------------------------------------------------------
    def go_first(self) -> None:
        """Go to generation 0 (stops following)."""
        self._user_moved()
        self.set_value(0)

    def go_last(self) -> None:
        """Go to the last available generation."""
        self.set_value(self._maximum)

    def step_back(self) -> None:
        """One generation back (stops following)."""
        self._user_moved()
        self.set_value(self.value - 1)

    def step_forward(self) -> None:
        """One generation forward."""
        self.set_value(self.value + 1)

    def toggle_play(self) -> None:
        """Play or pause (Space)."""
        self.play_button.setChecked(not self.play_button.isChecked())

    def play(self) -> None:
        """Start playback from the current generation (from 0 when at the end)."""
        self.play_button.setChecked(True)

    def pause(self) -> None:
        """Stop playback."""
        self.play_button.setChecked(False)

    def _user_moved(self) -> None:
        # Going back while following would be undone by the next saved generation.
        if self.follow:
            self.follow_box.setChecked(False)

    # ---- internals ------------------------------------------------------------------------------------------------
    def _sync(self, value: int) -> None:
        for w in (self.slider, self.spin):
            if w.value() != value:
                with QSignalBlocker(w):
                    w.setValue(value)

    def _on_slider(self, value: int) -> None:
        self._sync(value)
        if self.follow and value < self._maximum and self.slider.isSliderDown():
            self.follow_box.setChecked(False)
        self._request(value)

    def _on_spin(self, value: int) -> None:
        if self.follow and value < self._maximum:
            self.follow_box.setChecked(False)
        self.slider.setValue(value)

    def _request(self, generation: int) -> None:
        self._pending = generation
        if not self._emit_timer.isActive():
            self._emit_timer.start()

    def _emit_pending(self) -> None:
        if self._pending is None:
            return
        g, self._pending = self._pending, None
        self.generation_requested.emit(g)

    def _on_play_toggled(self, on: bool) -> None:
        self._set_play_icon(on)
        if on:
            if self._maximum <= 0:
                with QSignalBlocker(self.play_button):
                    self.play_button.setChecked(False)
                self._set_play_icon(False)
                return
            if self.follow:
                self.follow_box.setChecked(False)
            if self.value >= self._maximum:
                self.set_value(0)
            self._play_from = self.value
            self._play_start = time.perf_counter()
            self._play_timer.start(max(1, int(1000 / self.fps_spin.value() / 2)))
        else:
            self._play_timer.stop()
        self.playing_changed.emit(on)

    def _set_play_icon(self, playing: bool) -> None:
        self.play_button.setProperty("glyph", "pause" if playing else "play")
        self.play_button.setIcon(glyph_icon("pause" if playing else "play"))

    def changeEvent(self, event: QEvent) -> None:
        """Redraw the glyphs when the palette changes (light/dark)."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for b in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button):
                b.setIcon(glyph_icon(str(b.property("glyph"))))
        super().changeEvent(event)

    def _on_fps(self, fps: int) -> None:
        if self.playing:
            self._play_from = self.value
            self._play_start = time.perf_counter()
            self._play_timer.setInterval(max(1, int(1000 / fps / 2)))

    def _on_play_tick(self) -> None:
        elapsed = time.perf_counter() - self._play_start
        frame = self._play_from + int(elapsed * self.fps_spin.value())
        if frame > self._maximum:
            if self.loop_box.isChecked() and self._maximum > 0:
                self._play_from = 0
                self._play_start = time.perf_counter()
                frame = 0
            else:
                self.set_value(self._maximum)
                self.pause()
                return
        if frame != self.value:
            self.set_value(frame)

    def _on_follow(self, on: bool) -> None:
        if on:
            self.pause()
            self.set_value(self._maximum)
        self.follow_changed.emit(on)

    def _update_enabled(self) -> None:
        has = self._maximum > 0
        for w in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button,
                  self.slider, self.spin):
            w.setEnabled(has)
