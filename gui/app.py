"""Application set-up: QApplication identity (for QSettings), the Fusion look following the system's light or
dark scheme, signal handling, the entry point, and the last-resort exception hook (icons, paths and the
preload of heavy libraries live in gui.icons, gui.paths and gui.preload).

The exception hook never shows a traceback: it writes it to ``collapse-lab.log`` in the user data folder and
shows one clear dialog saying that committed data is safe and where the details are.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from core import __version__
from gui.icons import icon
from gui.paths import setup_logging, user_data_dir
from gui.preload import preload

APP_NAME = "Collapse Lab"
ORG_NAME = "collapse-lab"
ORG_DOMAIN = "collapse-lab.org"
ENV_THEME = "COLLAPSE_LAB_THEME"  # "light" or "dark" overrides the system scheme
# The run worker is a thread of this process: with Python's default 5 ms GIL switch interval, every time the
# GUI thread re-enters Python while the worker holds the GIL it can wait up to 5 ms, and a chart repaint does
# that dozens of times (measured: 5 ms frames became 15-100 ms). 0.5 ms keeps repaints near their idle cost.
GIL_SWITCH_INTERVAL_S = 0.0005

log = logging.getLogger("collapse_lab")


def is_dark(app: QGuiApplication) -> bool:
    """Whether the system (or $COLLAPSE_LAB_THEME) asks for a dark look."""
    forced = os.environ.get(ENV_THEME, "").lower()
    if forced in ("dark", "light"):
        return forced == "dark"
    scheme = app.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    window = app.palette().color(QPalette.ColorRole.Window)
    return window.lightness() < 128


def dark_palette() -> QPalette:
    """A calm dark palette for Fusion."""
    p = QPalette()
    roles = QPalette.ColorRole
    base, window, text = QColor("#1e1f22"), QColor("#2b2d30"), QColor("#dfe1e5")
    for role, color in ((roles.Window, window), (roles.WindowText, text), (roles.Base, base),
                        (roles.AlternateBase, QColor("#26282b")), (roles.ToolTipBase, QColor("#3c3f41")),
                        (roles.ToolTipText, text), (roles.PlaceholderText, QColor("#8c8f94")), (roles.Text, text),
                        (roles.Button, QColor("#35373b")), (roles.ButtonText, text), (roles.BrightText, QColor("#ff6b68")),
                        (roles.Light, QColor("#4a4d52")), (roles.Midlight, QColor("#3e4145")),
                        (roles.Mid, QColor("#303236")), (roles.Dark, QColor("#1b1c1f")), (roles.Shadow, QColor("#0d0d0e")),
                        (roles.Highlight, QColor("#2f65ca")), (roles.HighlightedText, QColor("#ffffff")),
                        (roles.Link, QColor("#6ea8fe")), (roles.LinkVisited, QColor("#b18cfe"))):
        p.setColor(role, color)
    disabled = QPalette.ColorGroup.Disabled
    for role in (roles.WindowText, roles.Text, roles.ButtonText):
        p.setColor(disabled, role, QColor("#7a7d82"))
    p.setColor(disabled, roles.Highlight, QColor("#44474c"))
    return p


def apply_theme(app: QApplication) -> bool:
    """Fusion with a light or dark palette following the system; pyqtgraph defaults to match. Returns dark."""
    app.setStyle("Fusion")
    dark = is_dark(app)
    palette = dark_palette() if dark else app.style().standardPalette()
    app.setPalette(palette)
    try:
        import pyqtgraph as pg

        pg.setConfigOptions(antialias=True,
                            background=palette.color(QPalette.ColorRole.Base),
                            foreground=palette.color(QPalette.ColorRole.Text))
    except Exception:  # pyqtgraph is optional for the look; the views set their own colours anyway
        pass
    return dark


class ThemeWatcher(QObject):
    """Re-applies the palette when the system switches between light and dark."""

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._app = app
        app.styleHints().colorSchemeChanged.connect(self.on_scheme_changed)

    def on_scheme_changed(self, scheme: Qt.ColorScheme) -> None:
        """The system switched light/dark: re-apply the palette."""
        apply_theme(self._app)


# ---- errors ---------------------------------------------------------------------------------------------------
class ErrorReporter(QObject):
    """sys.excepthook / threading.excepthook: log the traceback to a file, show one clear dialog."""

    _from_thread = Signal(str)

    def __init__(self, log_path: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self._showing = False
        self._previous = sys.excepthook
        self._previous_threading = threading.excepthook
        self._from_thread.connect(self.show_message)
        self.parent_widget: QWidget | None = None

    def install(self) -> None:
        """Become sys.excepthook and threading.excepthook."""
        sys.excepthook = self.excepthook
        threading.excepthook = self.threading_hook

    def uninstall(self) -> None:
        """Put the previous hooks back."""
        sys.excepthook = self._previous
        threading.excepthook = self._previous_threading

    def message_for(self, exc: BaseException) -> str:
        """What the user reads: what happened, that saved data is safe, where the details are."""
        return (f"Something unexpected went wrong: {type(exc).__name__}: {exc}\n\n"
                "Every generation that was already computed is saved in the project file. You can keep working; "
                "if this happens again, please report it with the log file:\n"
                f"{self.log_path}")

    def excepthook(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """Log the traceback to the file and show one clear dialog (from any thread)."""
        if issubclass(etype, KeyboardInterrupt):
            app = QApplication.instance()
            if app is not None:
                app.quit()
            return
        self.log(etype, value, tb)
        text = self.message_for(value)
        app = QApplication.instance()
        if app is not None and QThread.currentThread() is app.thread():
            self.show_message(text)
        else:
            self._from_thread.emit(text)

    def threading_hook(self, args: threading.ExceptHookArgs) -> None:
        """threading.excepthook: the same for Python threads."""
        if args.exc_value is not None:
            self.excepthook(args.exc_type, args.exc_value, args.exc_traceback)

    def log(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        """Write the traceback to the log file (through the logger when it has a file handler)."""
        text = "".join(traceback.format_exception(etype, value, tb))
        if any(isinstance(h, logging.FileHandler) for h in log.handlers):
            log.error("unexpected error\n%s", text)
            return
        try:
            with open(self.log_path, "a", encoding="utf-8") as fh:
                fh.write(text)
        except OSError:
            pass

    def show_message(self, text: str) -> None:
        """Show the error dialog (one at a time; further errors only go to the log)."""
        if self._showing:  # one dialog at a time; the rest is in the log
            return
        self._showing = True
        try:
            box = QMessageBox(QMessageBox.Icon.Critical, "Collapse Lab: unexpected error", text,
                              QMessageBox.StandardButton.Ok, self.parent_widget)
            box.exec()
        finally:
            self._showing = False



# ---- entry point ----------------------------------------------------------------------------------------------
def make_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication with name, organisation and version set (QSettings and paths use them)."""
    app = QApplication.instance()
    if app is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(argv if argv is not None else [sys.argv[0]])
    assert isinstance(app, QApplication)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setOrganizationDomain(ORG_DOMAIN)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("collapse-lab")
    app.setWindowIcon(icon("collapse-lab"))
    return app


def _wake() -> None:
    """Lets Python run its signal handlers while Qt's event loop is in C++."""


def install_signal_handlers(app: QApplication) -> QTimer:
    """Ctrl-C and SIGTERM close the window cleanly (the run pauses with every generation saved, the layout is
    kept) instead of killing the process mid-write. Returns the wake-up timer (keep it alive)."""

    def on_signal(signum: int, frame: object) -> None:
        app.quit()  # Qt 6: asks the windows to close first, so closeEvent runs

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(sig, on_signal)
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
    timer = QTimer(app)
    timer.setInterval(250)
    timer.timeout.connect(_wake)
    timer.start()
    return timer


def run_app(path: str | None) -> int:
    """Open the main window on `path` (None: the built-in demo project) and run the event loop."""
    app = make_app()
    apply_theme(app)
    watcher = ThemeWatcher(app)
    data_dir = user_data_dir()
    log_path = setup_logging(data_dir)
    reporter = ErrorReporter(log_path, app)
    reporter.install()
    wake = install_signal_handlers(app)

    from gui.window.main_window import MainWindow

    window = MainWindow(data_dir=data_dir)
    reporter.parent_widget = window
    window.show()
    app.processEvents()  # paint the window before the one-off imports below
    preload()
    if path is None:
        window.open_demo()
    else:
        window.open_project(path)
    try:
        return app.exec()
    finally:
        reporter.uninstall()
        wake.stop()
        del watcher
