"""Where Collapse Lab keeps its own files: the user data folder (demo project, log) and the log file."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QStandardPaths

LOG_FILE = "collapse-lab.log"
ENV_DATA_DIR = "COLLAPSE_LAB_DATA_DIR"


def user_data_dir() -> Path:
    """The folder for the demo project and the log ($COLLAPSE_LAB_DATA_DIR overrides it); created if needed."""
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        path = Path(env)
    else:
        loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
        path = Path(loc) if loc else Path.home() / ".collapse-lab"
    path.mkdir(parents=True, exist_ok=True)
    return path


def setup_logging(data_dir: Path) -> Path:
    """Log warnings and errors (with tracebacks) to the log file in the data folder; return its path."""
    path = data_dir / LOG_FILE
    root = logging.getLogger("collapse_lab")
    if not any(isinstance(h, logging.FileHandler) and Path(h.baseFilename) == path for h in root.handlers):
        try:
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            return path
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    return path


# ---- look ---------------------------------------------------------------------------------------------------
