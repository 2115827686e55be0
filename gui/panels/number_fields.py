"""Number boxes for the run form that never change what the user typed behind their back.

Plain Qt spin boxes clamp a typed value into their range (-5 becomes 5), drop characters they do not
expect ("1e-9" or "0,5" lose a character) and keep the previous value when the text is emptied. These
boxes accept any number of their kind, so an out-of-range value stays visible and the form says what is
wrong with it; the allowed range only bounds the arrow keys and the mouse wheel. `hasAcceptableInput()`
is False while the text is not a number (empty, "-", "1e").
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import cast

from PySide6.QtCore import Qt
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox, QSpinBox

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
FLOAT_MAX = sys.float_info.max


def _step_flags(value: float, lo: float, hi: float) -> QAbstractSpinBox.StepEnabledFlag:
    flags = QAbstractSpinBox.StepEnabledFlag.StepNone
    if value > lo:
        flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
    if value < hi:
        flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
    return flags


class _KeepsWhatWasTyped:
    """Leaving the box (focus out, Return) with text that is not a number keeps that text for the form to report,
    instead of Qt's silent return to the previous value."""

    def _keeping_text(self, handle: Callable[[], None]) -> None:
        box = cast(QAbstractSpinBox, self)
        typed = box.lineEdit().text()
        keep = not box.hasAcceptableInput()
        handle()
        if keep and box.lineEdit().text() != typed:
            box.lineEdit().setText(typed)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 (Qt override)
        self._keeping_text(lambda: super(_KeepsWhatWasTyped, self).focusOutEvent(event))

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._keeping_text(lambda: super(_KeepsWhatWasTyped, self).keyPressEvent(event))
        else:
            super().keyPressEvent(event)  # type: ignore[misc]


def parse_whole(text: str) -> int | None:
    """The 32-bit whole number a complete text means, else None."""
    try:
        v = int(text.strip())
    except ValueError:
        return None
    return v if INT_MIN <= v <= INT_MAX else None


class WholeNumberBox(_KeepsWhatWasTyped, QSpinBox):
    """A whole-number box holding any 32-bit value; arrows and wheel stay within [minimum, maximum] given."""

    def __init__(self, minimum: int = INT_MIN, maximum: int = INT_MAX) -> None:
        super().__init__()
        super().setRange(INT_MIN, INT_MAX)
        self.setGroupSeparatorShown(False)
        self.allowed = (max(INT_MIN, minimum), min(INT_MAX, maximum))
        self.setValue(min(max(0, self.allowed[0]), self.allowed[1]))
        self.lineEdit().setText(self.textFromValue(self.value()))  # Qt leaves the text empty until a change

    def set_allowed(self, minimum: int, maximum: int) -> None:
        """The range the arrows step within (typed values outside it are kept and reported by the form)."""
        self.allowed = (max(INT_MIN, minimum), min(INT_MAX, maximum))

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        # Never Invalid: a refused keystroke would change the number unseen; the form reports non-numbers.
        ok = parse_whole(text) is not None
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def valueFromText(self, text: str) -> int:  # noqa: N802 (Qt override)
        v = parse_whole(text)
        return self.value() if v is None else v

    def fixup(self, text: str) -> str:
        return text

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt override)
        lo, hi = self.allowed
        self.setValue(int(min(max(self.value() + steps * self.singleStep(), lo), hi)))
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt override)
        return _step_flags(self.value(), *self.allowed)


def format_number(value: float) -> str:
    """A float as a person writes it: 0.5, 1e-9, 250000 (12 significant digits, no trailing zeros)."""
    if value == 0:
        return "0"
    text = f"{value:.12g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"  # 1e-9, 1e308: as typed, without + or leading zeros
    return text


def parse_number(text: str) -> float | None:
    """The float a complete text means, else None (also for inf and nan)."""
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return v if math.isfinite(v) else None


class NumberBox(_KeepsWhatWasTyped, QDoubleSpinBox):
    """A float box that takes any finite number, in e-notation too, and shows it without rounding.

    A decimal comma is accepted where the system locale writes one; elsewhere a comma is not a number,
    so "0,5" is reported instead of silently read as 5.
    """

    def __init__(self, minimum: float = -FLOAT_MAX, maximum: float = FLOAT_MAX) -> None:
        self._comma = False
        super().__init__()
        self._comma = self.locale().decimalPoint() == ","
        self.setDecimals(323)  # the most Qt allows: setValue must not round 1e-9 to 0
        super().setRange(-FLOAT_MAX, FLOAT_MAX)
        self.allowed = (minimum, maximum)
        self.setValue(min(max(0.0, minimum), maximum))
        self.lineEdit().setText(self.textFromValue(self.value()))

    def set_allowed(self, minimum: float, maximum: float) -> None:
        """The range the arrows step within (typed values outside it are kept and reported by the form)."""
        self.allowed = (minimum, maximum)

    def _plain(self, text: str) -> str:
        text = text.strip()
        return text.replace(",", ".") if self._comma else text

    def textFromValue(self, value: float) -> str:  # noqa: N802 (Qt override)
        text = format_number(value)
        return text.replace(".", ",") if self._comma else text

    def valueFromText(self, text: str) -> float:  # noqa: N802 (Qt override)
        v = parse_number(self._plain(text))
        return self.value() if v is None else v

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        # Never Invalid: a refused keystroke would turn "0,5" into "05" unseen; the form reports non-numbers.
        ok = parse_number(self._plain(text)) is not None
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def fixup(self, text: str) -> str:
        return text  # never replace what the user typed; the form reports it

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt override)
        lo, hi = self.allowed
        self.setValue(min(max(self.value() + steps * self.singleStep(), lo), hi))
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt override)
        return _step_flags(self.value(), *self.allowed)
