"""Safe output files for every export: checked before any work, written whole or not at all.

An export never replaces a project (or its journal), a folder, a device or a pipe, never clobbers a read-only
file, and writes through a symlink to the file it points at (the link stays a link). The data goes to a
temporary file beside the real target first and is moved over it only when complete, so a failed or
cancelled export leaves the old file as it was and no half-written one behind.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.store import ProjectError

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SIDECARS = ("-wal", "-shm", "-journal")


class OutputError(ProjectError):
    """An export target that cannot or must not be written; the message says which and why."""


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC
    except OSError:
        return False


def _guards_a_project(path: Path) -> bool:
    """True when `path` is a SQLite file (a project) or the journal beside one."""
    if _is_sqlite(path):
        return True
    for tail in _SIDECARS:
        if path.name.endswith(tail) and _is_sqlite(path.with_name(path.name[: -len(tail)])):
            return True
    return False


def check_output_path(path: str | os.PathLike[str], what: str = "file") -> Path:
    """The real file an export to `path` will replace (symlinks followed); OutputError when it must not be."""
    text = os.fspath(path)
    if not text.strip():
        raise OutputError(f"the {what} needs a file name")
    shown = Path(text)
    target = Path(os.path.realpath(text))
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise OutputError(f"{shown}: a part of the folder path is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"{shown}: cannot check the {what} ({exc.strerror or exc})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise OutputError(f"{shown}: is a folder; give a file name for the {what}")
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{shown}: is not a regular file (a device or pipe); give a file name for the {what}")
        if _guards_a_project(target):
            raise OutputError(f"{shown}: is a project file (SQLite); an export never overwrites one, "
                              "so choose another name")
        if not os.access(target, os.W_OK) or not st.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            raise OutputError(f"{shown}: the file is read-only, so it was not replaced")
    elif _guards_a_project(target):  # a journal name beside a project, even when no journal exists right now
        raise OutputError(f"{shown}: is the journal name of a project file; choose another name")
    parent = target.parent
    if not parent.exists():
        raise OutputError(f"{shown}: the folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(f"{shown}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{shown}: the folder {parent} is not writable")
    return target


@contextmanager
def replacing(path: str | os.PathLike[str], what: str = "file") -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path` (checked first), on any error it is removed.

    The replaced file keeps its permission bits; OSError while writing becomes one OutputError naming the file.
    """
    target = check_output_path(path, what)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        old_mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        old_mode = None
    try:
        yield tmp
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"{os.fspath(path)}: the {what} could not be written ({exc.strerror or exc})") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass
