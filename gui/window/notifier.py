"""How the window's components tell the user something: one error dialog (never a traceback), a question,
or a status-bar message that expires. Handed to every component, so none reaches into the window for it."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QStatusBar, QWidget

from gui.dialogs import Dialogs

log = logging.getLogger("collapse_lab.window")

STATUS_MS = 8000  # how long a status-bar message stays


class Notifier:
    """Error, information and question dialogs, and status messages, for one window."""

    def __init__(self, parent: QWidget, dialogs: Dialogs, status_bar: QStatusBar, data_dir: Path) -> None:
        self.parent = parent
        self.dialogs = dialogs
        self.status_bar = status_bar
        self.data_dir = data_dir

    def error(self, title: str, text: str) -> None:
        """A clear dialog; tests answer it through the scripted dialogs."""
        self.dialogs.error(self.parent, title, text)

    def unexpected(self, doing: str, exc: BaseException) -> None:
        """An error nobody foresaw: logged with its traceback, shown as one sentence."""
        log.error("unexpected error while %s", doing, exc_info=(type(exc), exc, exc.__traceback__))
        self.error("Collapse Lab", f"Could not finish {doing}: {type(exc).__name__}: {exc}\n\nEverything already "
                   f"saved in the project is safe. Details are in the log file in {self.data_dir}.")

    def info(self, title: str, text: str) -> None:
        """An information dialog."""
        self.dialogs.info(self.parent, title, text)

    def confirm(self, title: str, text: str) -> bool:
        """A yes/no question."""
        return self.dialogs.confirm(self.parent, title, text)

    def choose(self, title: str, text: str, options: list[str]) -> int | None:
        """One of several answers (None: cancelled)."""
        return self.dialogs.choose(self.parent, title, text, options)

    def status(self, text: str, ms: int = STATUS_MS) -> None:
        """A status-bar message that goes away after `ms` milliseconds."""
        self.status_bar.showMessage(text, ms)
