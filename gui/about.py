"""The About box: what Collapse Lab is and the versions of everything it runs on."""

from __future__ import annotations

import html
import platform
import sqlite3

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from core import __version__


def versions() -> dict[str, str]:
    """Name -> version of the app and the libraries it uses."""
    import numpy
    import pyqtgraph
    import PySide6
    import scipy
    import sklearn

    return {
        "Collapse Lab": __version__,
        "Python": platform.python_version(),
        "Qt": qVersion(),
        "PySide6": PySide6.__version__,
        "pyqtgraph": pyqtgraph.__version__,
        "NumPy": numpy.__version__,
        "SciPy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "SQLite": sqlite3.sqlite_version,
        "Platform": platform.platform(),
    }


def about_html() -> str:
    """The About text with a version table."""
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>&nbsp;&nbsp;{html.escape(v)}</td></tr>"
                   for k, v in versions().items())
    return (f"<h3>Collapse Lab {html.escape(__version__)}</h3>"
            "<p>Watch model collapse happen: generative models refitted on their own samples, stored generation "
            "by generation, scrubbed and compared.</p>"
            f"<table>{rows}</table>"
            "<p>Projects are plain SQLite files (readable with the <code>sqlite3</code> shell or Datasette). "
            "Licence: MIT.</p>")


def show_about(parent: QWidget | None) -> None:
    """Show the About box (modal)."""
    QMessageBox.about(parent, "About Collapse Lab", about_html())
