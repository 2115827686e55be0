"""One helper for the window's QActions: text, slot, shortcut, tip and icon in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QIcon, QKeySequence


def make_action(parent: QObject, text: str, slot: Callable[..., Any] | None,
                shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None, tip: str = "",
                icon: QIcon | None = None) -> QAction:
    """A QAction owned by `parent` whose tool tip and status tip are `tip`."""
    a = QAction(text, parent)
    if icon is not None:
        a.setIcon(icon)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setToolTip(tip)
        a.setStatusTip(tip)
    if slot is not None:
        a.triggered.connect(slot)
    return a
