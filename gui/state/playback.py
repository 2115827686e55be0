"""The current generation and its playback: the one generation every view shows, how far the shown run has
got, "follow latest", play / pause at a frame rate, loop.

Frames are dropped, never queued: a change of the generation only records the *latest* requested one and
arms a zero-interval single-shot timer; when the event loop gets to it, one ``generation_changed`` is emitted
for whatever generation is current then. Playback advances by wall-clock time (frame = start + elapsed x fps),
so a slow view skips generations instead of falling behind. No widget is involved: the scrubber
(:mod:`gui.panels.scrubber`) shows and sets this state, and tests drive it alone.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

DEFAULT_FPS = 30
MIN_FPS, MAX_FPS = 1, 120


class Playback(QObject):
    """The current generation, the available range, follow latest, and play / pause."""

    generation_changed = Signal(int)  # coalesced: only the latest position is emitted
    position_changed = Signal(int)  # every change of the position at once (for the scrubber's controls)
    range_changed = Signal(int, int)  # (last available generation or -1, the run's target)
    follow_changed = Signal(bool)
    playing_changed = Signal(bool)
    options_changed = Signal()  # fps or loop

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._available = -1  # the last available generation (-1: none)
        self._target = 0
        self._follow = True
        self._fps = DEFAULT_FPS
        self._loop = False
        self._pending: int | None = None
        self._play_start = 0.0
        self._play_from = 0
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(0)
        self._emit_timer.timeout.connect(self._emit_pending)
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_tick)

    # ---- what it holds ----------------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """The current generation."""
        return self._generation

    @property
    def maximum(self) -> int:
        """The last available generation (0 when none)."""
        return max(self._available, 0)

    @property
    def available(self) -> int:
        """The last available generation, -1 when the shown run has none."""
        return self._available

    @property
    def target(self) -> int:
        """The shown run's target generation."""
        return self._target

    @property
    def follow(self) -> bool:
        """Whether each new generation of a computing run is shown as it is saved."""
        return self._follow

    @property
    def playing(self) -> bool:
        """Whether playback is running."""
        return self._play_timer.isActive()

    @property
    def fps(self) -> int:
        """Playback speed in generations per second."""
        return self._fps

    @property
    def loop(self) -> bool:
        """Whether playback starts again from generation 0 at the end."""
        return self._loop

    # ---- changing it -------------------------------------------------------------------------------------------
    def set_range(self, available: int, target: int | None = None) -> None:
        """Generations 0..available can be shown (-1: none yet); `target` is the run's goal."""
        self._available = max(int(available), -1)
        self._target = self.maximum if target is None else max(int(target), 0)
        self.range_changed.emit(self._available, self._target)
        if self._generation > self.maximum:
            self._move(self.maximum)

    def set_latest(self, generation: int, target: int | None = None) -> None:
        """A new generation was saved: extend the range and, when following, go to it."""
        self.set_range(generation, target)
        if self._follow and not self.playing:
            self._move(self.maximum)

    def go_to(self, generation: int, by_user: bool = True) -> None:
        """Show a generation (clamped). A user going to an earlier generation than the latest stops following
        (the next saved generation would otherwise take the view away)."""
        g = max(0, min(int(generation), self.maximum))
        if by_user and self._follow and g < self.maximum:
            self.set_follow(False)
        self._move(g)

    def first(self) -> None:
        """Go to generation 0."""
        self.go_to(0)

    def last(self) -> None:
        """Go to the last available generation."""
        self.go_to(self.maximum)

    def step(self, delta: int) -> None:
        """`delta` generations forward (negative: back)."""
        self.go_to(self._generation + int(delta))

    def request_current(self) -> None:
        """Emit the current generation again (the runs shown changed)."""
        self._request(self._generation)

    def set_follow(self, on: bool) -> None:
        """Follow latest on or off; turning it on stops playback and goes to the last generation."""
        on = bool(on)
        if on == self._follow:
            return
        self._follow = on
        if on:
            self.pause()
            self._move(self.maximum)
        self.follow_changed.emit(on)

    def set_fps(self, fps: int) -> None:
        """Playback speed (1-120 generations per second)."""
        fps = max(MIN_FPS, min(int(fps), MAX_FPS))
        if fps == self._fps:
            return
        self._fps = fps
        if self.playing:
            self._play_from, self._play_start = self._generation, time.perf_counter()
            self._play_timer.setInterval(self._tick_ms())
        self.options_changed.emit()

    def set_loop(self, on: bool) -> None:
        """Loop playback or stop at the end."""
        if bool(on) != self._loop:
            self._loop = bool(on)
            self.options_changed.emit()

    def play(self) -> None:
        """Play from the current generation (from 0 when at the end); stops following."""
        if self.playing or self.maximum <= 0:
            if not self.playing:
                self.playing_changed.emit(False)  # the scrubber's play button goes back up
            return
        if self._follow:
            self._follow = False
            self.follow_changed.emit(False)
        if self._generation >= self.maximum:
            self._move(0)
        self._play_from, self._play_start = self._generation, time.perf_counter()
        self._play_timer.start(self._tick_ms())
        self.playing_changed.emit(True)

    def pause(self) -> None:
        """Stop playback."""
        if self.playing:
            self._play_timer.stop()
            self.playing_changed.emit(False)

    def toggle_play(self) -> None:
        """Play or pause (Space)."""
        if self.playing:
            self.pause()
        else:
            self.play()

    # ---- internals ----------------------------------------------------------------------------------------------
    def _tick_ms(self) -> int:
        return max(1, int(1000 / self._fps / 2))

    def _move(self, g: int) -> None:
        if g != self._generation:
            self._generation = g
            self.position_changed.emit(g)
        self._request(g)

    def _request(self, generation: int) -> None:
        self._pending = generation
        if not self._emit_timer.isActive():
            self._emit_timer.start()

    def _emit_pending(self) -> None:
        if self._pending is None:
            return
        g, self._pending = self._pending, None
        self.generation_changed.emit(g)

    def _on_tick(self) -> None:
        frame = self._play_from + int((time.perf_counter() - self._play_start) * self._fps)
        if frame > self.maximum:
            if self._loop and self.maximum > 0:
                self._play_from, self._play_start = 0, time.perf_counter()
                frame = 0
            else:
                self._move(self.maximum)
                self.pause()
                return
        if frame != self._generation:
            self._move(frame)
