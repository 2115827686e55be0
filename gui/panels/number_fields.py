"""Number boxes for the run form that never change what the user typed behind their back.

Plain Qt spin boxes clamp a typed value into their range (-5 becomes 5), drop characters they do not
expect ("1e-9" or "0,5" lose a character) and keep the previous value when the text is emptied. These
boxes accept any number of their kind, so an out-of-range value stays visible and the form says what is
wrong with it; the allowed range only bounds the arrow keys and the mouse wheel. `hasAcceptableInput()`
is False while the text is not a number (empty, "-", "1e", and "1.5" in a whole-number box).

A whole-number box reads 1000, 1_000, 1,000 (thousands separators, where the decimal point is "."), 1000.0,
1e3 and 1e+03 all as 1000, and 2.5e3 as 2500, exactly; a fraction such as 1.5 is refused, never rounded. A
decimal box takes no thousands separators: "1,500" could mean 1.5, so a comma there is reported.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import cast

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QKeyEvent, QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox

FLOAT_MAX = sys.float_info.max
STEP_DIGITS = 12  # arrows round a decimal box's value to this many significant digits (0.1 + 0.2 shows 0.3)


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


# Whole numbers are read exactly (as decimals, never through a float), in any of these forms: 1000, +1000,
# 1_000, 1,000 (commas only between groups of three digits, and only where the decimal point is "."), 1000.0,
# 1e3, 1E+03, 2.5e3. A value with a fraction (1.5, 2.5e0, 1e-3) is refused, not rounded.
_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?([eE][+-]?\d+)?")
_MAX_DIGITS = 300  # a typed number longer than this is refused as too large instead of built digit by digit


def read_whole(text: str, commas: bool = True) -> tuple[int | None, str]:
    """(value, "") for a complete text that means a whole number; (None, why) otherwise, `why` one of "empty",
    "fraction" (1.5), "comma" (a comma that does not group thousands), "too large", "not a number"."""
    text = text.strip()
    if not text:
        return None, "empty"
    if "," in text:
        if not commas or not _GROUPED.fullmatch(text):
            return None, "comma"
        text = text.replace(",", "")
    if text.lower().lstrip("+-") in ("inf", "infinity", "nan", "snan"):
        return None, "not a number"
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None, "not a number"
    if d.is_zero():
        return 0, ""
    if d.adjusted() >= _MAX_DIGITS:
        return None, "too large"
    if d.adjusted() < 0 or d != d.to_integral_value():
        return None, "fraction"
    return int(d), ""


def parse_whole(text: str, commas: bool = True) -> int | None:
    """The whole number a complete text means (see ``read_whole``), else None."""
    return read_whole(text, commas)[0]


class WholeNumberBox(_KeepsWhatWasTyped, QAbstractSpinBox):
    """A box for a whole number of any size (a run's seed is 64-bit), typed as 1000, 1,000, 1e3 or 2.5e3; the
    arrows and the wheel stay within the [minimum, maximum] given (None: unbounded).

    Its value is a Python int: ``value()``, ``setValue()`` and ``valueChanged(int)`` as on a QSpinBox. While the
    text is not a whole number (empty, "1.5", "abc") the value stays the last whole number typed and
    ``hasAcceptableInput()`` is False.
    """

    valueChanged = Signal(object)  # noqa: N815 (the QSpinBox name); carries the new int

    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        super().__init__()
        self.commas = self.locale().decimalPoint() != ","  # whether 1,000 is read as a thousand
        self._step = 1
        self._value = 0
        self.allowed: tuple[float, float] = (-math.inf, math.inf)
        self.set_allowed(minimum, maximum)
        self._value = int(min(max(0, self.allowed[0]), self.allowed[1]))
        self.lineEdit().textChanged.connect(self._on_text_changed)
        self.lineEdit().setText(str(self._value))

    def set_allowed(self, minimum: int | None, maximum: int | None) -> None:
        """The range the arrows step within (typed values outside it are kept and reported by the form)."""
        self.allowed = (-math.inf if minimum is None else minimum, math.inf if maximum is None else maximum)
        self.update()

    def value(self) -> int:
        """The last whole number the box held."""
        return self._value

    def setValue(self, value: int) -> None:  # noqa: N802 (the QSpinBox name)
        """Show `value` (as plain digits) and make it the box's value."""
        value = int(value)
        text = str(value)
        if self.lineEdit().text() != text:
            self.lineEdit().setText(text)  # _on_text_changed takes the value
        self._take(value)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        """Room for the longer bound (at most 12 digits: wide ranges must not force a wide form), as a QSpinBox."""
        hint = super().sizeHint()  # the frame and the arrows
        texts = [str(int(b)) for b in self.allowed if math.isfinite(b)] + ["0000"]
        longest = max(texts, key=len)[:12]
        return QSize(hint.width() + self.fontMetrics().horizontalAdvance(longest + " "), hint.height())

    def singleStep(self) -> int:  # noqa: N802 (the QSpinBox name)
        return self._step

    def setSingleStep(self, step: int) -> None:  # noqa: N802 (the QSpinBox name)
        self._step = int(step)

    def _on_text_changed(self, text: str) -> None:
        v = parse_whole(text, self.commas)
        if v is not None:
            self._take(v)

    def _take(self, value: int) -> None:
        if value != self._value:
            self._value = value
            self.update()  # the arrows' enabled state
            self.valueChanged.emit(value)

    def problem(self) -> str:
        """Why the text is not a whole number ("" when it is one; see ``read_whole``)."""
        return read_whole(self.text(), self.commas)[1]

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        # Never Invalid: a refused keystroke would change the number unseen; the form reports non-numbers.
        ok = parse_whole(text, self.commas) is not None
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos

    def fixup(self, text: str) -> str:
        return text

    def stepBy(self, steps: int) -> None:  # noqa: N802 (Qt override)
        lo, hi = self.allowed
        self.setValue(int(min(max(self._value + steps * self._step, lo), hi)))
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt override)
        if self.isReadOnly():
            return QAbstractSpinBox.StepEnabledFlag.StepNone
        return _step_flags(self._value, *self.allowed)


def format_grouped(value: float) -> str:
    """A number as the form's tooltips and messages write it: whole numbers with thousands separators
    (500,000; -1,000,000; 1,000.0 as 1,000), others as ``format_number`` writes them (0.25, 1e-6, 1e308)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return format_number(value)


def format_number(value: float) -> str:
    """A float as a person writes it, exactly (the shortest text that reads back as the same float): 0.5,
    1e-9, 250000, 0.123456789012345."""
    if value == 0:
        return "0"
    text = repr(float(value))
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa.removesuffix('.0')}e{int(exponent)}"  # 1e-9, 1e308: as typed, without + or zeros
    return text.removesuffix(".0")


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
        stepped = float(f"{self.value() + steps * self.singleStep():.{STEP_DIGITS}g}")  # no 0.30000000000000004
        self.setValue(min(max(stepped, lo), hi))
        self.selectAll()

    def stepEnabled(self) -> QAbstractSpinBox.StepEnabledFlag:  # noqa: N802 (Qt override)
        return _step_flags(self.value(), *self.allowed)
