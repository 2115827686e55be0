"""The generation scrubber: |< < play > >|, a slider with a spin box, fps, loop and "follow latest".

A view of :class:`gui.state.playback.Playback`: every control sets the playback state, and the controls show
it (signals are blocked while they do, so showing never sets). Clicking the slider's track goes to the clicked
generation; any move by the user to an earlier generation than the latest turns "follow latest" off.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSignalBlocker, Qt
from PySide6.QtGui import QAction, QKeySequence, QMouseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QStyle,
    QStyleOptionSlider,
    QToolButton,
    QWidget,
)

from gui.icons import glyph_icon
from gui.state.playback import MAX_FPS, MIN_FPS, Playback


class JumpSlider(QSlider):
    """A slider whose track goes to the clicked position at once (not a page step towards it)."""

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """A click on the track moves the handle there, then drags as usual."""
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            opt = QStyleOptionSlider()
            self.initStyleOption(opt)
            handle = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                 QStyle.SubControl.SC_SliderHandle, self)
            if not handle.contains(event.position().toPoint()):
                groove = self.style().subControlRect(QStyle.ComplexControl.CC_Slider, opt,
                                                     QStyle.SubControl.SC_SliderGroove, self)
                half = handle.width() / 2
                x = event.position().x() - groove.x() - half
                span = max(groove.width() - handle.width(), 1)
                value = QStyle.sliderValueFromPosition(self.minimum(), self.maximum(), int(round(x)), int(span),
                                                       opt.upsideDown)
                self.setValue(value)
        super().mousePressEvent(event)


class Scrubber(QWidget):
    """Shows and sets the one current generation every view shows (a view of a Playback)."""

    def __init__(self, playback: Playback, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.playback = playback

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

        self.slider = JumpSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("generation_slider")
        self.slider.setRange(0, 0)
        self.slider.setToolTip("Drag, or click the track, to scrub through the generations; every view follows.")
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
        self.fps_spin.setRange(MIN_FPS, MAX_FPS)
        self.fps_spin.setValue(playback.fps)
        self.fps_spin.setSuffix(" fps")
        self.fps_spin.setToolTip("Playback speed in generations per second (frames are skipped when a view "
                                 "cannot keep up).")
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setObjectName("loop")
        self.loop_box.setChecked(playback.loop)
        self.loop_box.setToolTip("Start again from generation 0 when playback reaches the end.")
        self.follow_box = QCheckBox("Follow latest")
        self.follow_box.setObjectName("follow")
        self.follow_box.setChecked(playback.follow)
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

        pb = playback
        self.slider.valueChanged.connect(pb.go_to)
        self.spin.valueChanged.connect(pb.go_to)
        self.first_button.clicked.connect(pb.first)
        self.prev_button.clicked.connect(self.step_back)
        self.next_button.clicked.connect(self.step_forward)
        self.last_button.clicked.connect(pb.last)
        self.play_button.toggled.connect(self._on_play_toggled)
        self.fps_spin.valueChanged.connect(pb.set_fps)
        self.loop_box.toggled.connect(pb.set_loop)
        self.follow_box.toggled.connect(pb.set_follow)
        pb.position_changed.connect(self._show_position)
        pb.range_changed.connect(self._show_range)
        pb.follow_changed.connect(self._show_follow)
        pb.playing_changed.connect(self._show_playing)
        pb.options_changed.connect(self._show_options)
        self._make_actions()
        self._show_range(pb.available, pb.target)

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

        pb = self.playback
        self.first_action = act("First Generation", Qt.Key.Key_Home, pb.first, "Go to generation 0")
        self.prev_action = act("Previous Generation", Qt.Key.Key_Left, self.step_back, "One generation back")
        self.play_action = act("Play / Pause", Qt.Key.Key_Space, pb.toggle_play, "Play or pause the generations")
        self.next_action = act("Next Generation", Qt.Key.Key_Right, self.step_forward, "One generation forward")
        self.last_action = act("Last Generation", Qt.Key.Key_End, pb.last, "Go to the last generation")
        self.follow_action = QAction("Follow Latest Generation", self)
        self.follow_action.setCheckable(True)
        self.follow_action.setChecked(pb.follow)
        self.follow_action.setStatusTip("While a run computes, show each new generation as it is saved")
        self.follow_action.toggled.connect(pb.set_follow)

    def actions_for_window(self) -> list[QAction]:
        """The playback actions (with Left/Right/Home/End/Space) for the window and its View menu."""
        return [self.first_action, self.prev_action, self.play_action, self.next_action, self.last_action]

    # ---- what tests and the window read --------------------------------------------------------------------------
    @property
    def value(self) -> int:
        """The current generation."""
        return self.playback.generation

    @property
    def follow(self) -> bool:
        """Whether "follow latest" is on."""
        return self.playback.follow

    def step_back(self) -> None:
        """One generation back."""
        self.playback.step(-1)

    def step_forward(self) -> None:
        """One generation forward."""
        self.playback.step(1)

    # ---- showing the state -------------------------------------------------------------------------------------
    def _show_position(self, g: int) -> None:
        for w in (self.slider, self.spin):
            if w.value() != g:
                with QSignalBlocker(w):
                    w.setValue(g)

    def _show_range(self, available: int, target: int) -> None:
        top = max(available, 0)
        for w in (self.slider, self.spin):
            with QSignalBlocker(w):
                w.setRange(0, top)
        self._show_position(self.playback.generation)
        self.of_label.setText(f"/ {target}" if available >= 0 else "/ -")
        self.of_label.setToolTip(f"{available + 1 if available >= 0 else 0} generations available of "
                                 f"{target + 1} (0..{target}).")
        for w in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button,
                  self.slider, self.spin):
            w.setEnabled(top > 0)

    def _show_follow(self, on: bool) -> None:
        for w in (self.follow_box, self.follow_action):
            with QSignalBlocker(w):
                w.setChecked(on)

    def _show_playing(self, on: bool) -> None:
        with QSignalBlocker(self.play_button):
            self.play_button.setChecked(on)
        self._set_play_icon(on)

    def _show_options(self) -> None:
        with QSignalBlocker(self.fps_spin):
            self.fps_spin.setValue(self.playback.fps)
        with QSignalBlocker(self.loop_box):
            self.loop_box.setChecked(self.playback.loop)

    def _on_play_toggled(self, on: bool) -> None:
        if on:
            self.playback.play()
        else:
            self.playback.pause()

    def _set_play_icon(self, playing: bool) -> None:
        self.play_button.setProperty("glyph", "pause" if playing else "play")
        self.play_button.setIcon(glyph_icon("pause" if playing else "play"))

    def changeEvent(self, event: QEvent) -> None:
        """Redraw the glyphs when the palette changes (light/dark)."""
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for b in (self.first_button, self.prev_button, self.play_button, self.next_button, self.last_button):
                b.setIcon(glyph_icon(str(b.property("glyph"))))
        super().changeEvent(event)
