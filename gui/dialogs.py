"""Every question the main window asks the user, behind one replaceable object.

:class:`Dialogs` opens the real modal dialogs; tests replace it with an object that answers from a script.
:func:`save_target` is the "ask for a file to write, add the extension" step the window's actions share.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QMessageBox,
    QSpinBox,
    QWidget,
)

if TYPE_CHECKING:
    from gui.export.charts import AnimationOptions


class PngOptionsDialog(QDialog):
    """Size and background of a PNG export."""

    def __init__(self, parent: QWidget | None, size: tuple[int, int], transparent: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export PNG")
        self.width_spin = self._pixels_spin(size[0], "Width of the image in pixels")
        self.height_spin = self._pixels_spin(size[1], "Height of the image in pixels")
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

    @staticmethod
    def _pixels_spin(value: int, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(100, 10000)
        spin.setValue(value)
        spin.setSuffix(" px")
        spin.setToolTip(tip)
        return spin

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

    def choose(self, parent: QWidget, title: str, text: str, options: list[str]) -> int | None:
        """Ask to pick one of `options` (the last one cancels); its index, or None when cancelled."""
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
        buttons = [box.addButton(o, QMessageBox.ButtonRole.RejectRole if i == len(options) - 1
                                 else QMessageBox.ButtonRole.AcceptRole) for i, o in enumerate(options)]
        box.setDefaultButton(buttons[-1])
        box.exec()
        clicked = box.clickedButton()
        index = next((i for i, b in enumerate(buttons) if b is clicked), None)
        return None if index is None or index == len(options) - 1 else index

    def png_options(self, parent: QWidget, size: tuple[int, int],
                    transparent: bool) -> tuple[tuple[int, int], bool] | None:
        """Size and background of a PNG export, or None when cancelled."""
        dlg = PngOptionsDialog(parent, size, transparent)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return dlg.result_options()

    def animation_options(self, parent: QWidget, defaults: AnimationOptions, last_generation: int,
                          modes: list[tuple[str, str]]) -> AnimationOptions | None:
        """Frame size, frames per second, the generations first..last (0..`last_generation`) and the histogram
        mode (one of `modes`, (key, readable name) pairs; none: the view has no modes) of an animation export,
        starting from `defaults`; None when cancelled."""
        from PySide6.QtWidgets import QComboBox, QLabel

        from gui.export.charts import MAX_ANIMATION_FRAMES, AnimationOptions

        top = max(0, int(last_generation))
        dlg = QDialog(parent)
        dlg.setWindowTitle("Export animation")
        width = PngOptionsDialog._pixels_spin(int(defaults.size[0]), "Width of every frame in pixels")
        height = PngOptionsDialog._pixels_spin(int(defaults.size[1]), "Height of every frame in pixels")
        fps = QSpinBox()
        fps.setRange(1, 60)
        fps.setValue(min(max(int(defaults.fps), 1), 60))
        fps.setSuffix(" frames/s")
        fps.setToolTip("Frames per second of the GIF or MP4")
        first, last = QSpinBox(), QSpinBox()
        for spin, value, tip in ((first, defaults.first, "The first generation shown"),
                                 (last, top if defaults.last is None else defaults.last, "The last generation shown")):
            spin.setRange(0, top)
            spin.setValue(min(max(int(value), 0), top))
            spin.setToolTip(tip)
        first.setMaximum(last.value())
        last.setMinimum(first.value())
        first.valueChanged.connect(last.setMinimum)  # first <= last always
        last.valueChanged.connect(first.setMaximum)
        mode = QComboBox()
        for key, text in modes:
            mode.addItem(text, key)
        mode.setCurrentIndex(max(0, mode.findData(defaults.mode)))
        mode.setEnabled(bool(modes))
        mode.setToolTip("How the histogram is drawn in every frame" if modes else
                        "This run's view has no histogram modes")
        frames = QLabel()

        def count() -> None:
            n = last.value() - first.value() + 1
            step = max(1, -(-n // MAX_ANIMATION_FRAMES))  # as export_animation_frames thins a long range
            shown = len(range(0, n, step)) + (0 if (n - 1) % step == 0 else 1)  # ... and always ends at `last`
            frames.setText(f"{n} frames" if step == 1 else f"{shown} frames (one in {step} generations)")

        first.valueChanged.connect(count)
        last.valueChanged.connect(count)
        count()
        form = QFormLayout(dlg)
        form.addRow("Width", width)
        form.addRow("Height", height)
        form.addRow("Frame rate", fps)
        form.addRow("First generation", first)
        form.addRow("Last generation", last)
        form.addRow("Histogram", mode)
        form.addRow("", frames)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dlg.accept)
        buttons.rejected.connect(dlg.reject)
        form.addRow(buttons)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return None
        return AnimationOptions(size=(width.value(), height.value()), fps=fps.value(), first=first.value(),
                                last=last.value(), mode=str(mode.currentData()) if modes else defaults.mode)


def with_suffix(path: str, suffix: str) -> str:
    """Add `suffix` (".png") when the chosen name has no extension."""
    p = Path(path)
    return str(p) if p.suffix else str(p.with_suffix(suffix))


def save_target(dialogs: Dialogs, parent: QWidget, path: str | None, title: str, suggested: str, filters: str,
                suffix: str) -> str | None:
    """`path`, or else the file the user chooses (None when cancelled), with `suffix` added when it has none."""
    if not path:
        path = dialogs.save_path(parent, title, suggested, filters)
        if not path:
            return None
    return with_suffix(path, suffix)
