"""The project file: one SQLite database per project (plain sqlite3, core/sqlite_db.py).

Tables (readable with the plain ``sqlite3`` shell or Datasette):
- ``meta(key, value)``: format facts (created_at, app version).
- ``runs``: one row per run: name, group (replicates share it), scenario, policy, the full run spec as
  JSON, seed, replicate, target generations, samples per generation, status, message, reference (bins,
  grids) as JSON, sample dtype and unit shape, stored-samples budget, library versions, timestamps.
- ``generations``: one row per (run, generation): fitted model parameters (JSON), samples drawn and stored,
  histogram counts (int32 little-endian BLOB over the run's fixed bins), model density curve (float32 LE BLOB
  on the run's grid), note.
- ``samples``: the samples of each generation (float32 or int32 little-endian BLOB, unit shape in ``runs``);
  above the run's budget a uniform reservoir (fixed seed stream) of ``budget`` samples is stored instead.
- Both carry ``run_id`` and ``generation`` columns; their key is ``id = run_id * 2^32 + generation``.
- ``metrics``: a view with one tidy row (run_id, generation, metric, value) per metric value, read from the
  JSON object in ``generations.metrics`` (one row per generation keeps each commit to two small inserts;
  NaN is stored as null, infinities as the strings "inf" / "-inf", which the view turns back into numbers).

Every generation is committed in one transaction. Nothing read from a file is executed: parameters are JSON,
arrays are raw little-endian buffers read with ``numpy.frombuffer``.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import functools
import glob
import inspect
import json
import math
import os
import shlex
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import __version__
from core.checkpointer import (
    BACKSTOP_PAGES,
    JOURNAL_SIZE_LIMIT,
    SQLITE_AUTOCHECKPOINT_PAGES,
    BackgroundCheckpointer,
)
from core.params import ParamError
from core.schema import (
    APPLICATION_ID,
    FORMAT_VERSION,
    GENERATION_KEY,
    GENERATION_OF_ID,
    METRICS_READABLE,
    MIGRATIONS,
    SCHEMA,
    SCHEMAS,
    SchemaReport,
    inspect_schema,
    remove_foreign,
    statements,
)
from core.seeding import Purpose, stream
from core.spec import MAX_SAMPLES, GenerationRecord, RunSpec, sample_layout
from core.sqlite_db import Database
from core.untrusted import (
    MAX_METRICS_CHARS,
    MAX_MODEL_CHARS,
    MAX_REFERENCE_CHARS,
    MAX_SMALL_CHARS,
    MAX_SPEC_CHARS,
    Damaged,
    check_reference,
    load_json,
    load_object,
    metric_value,
    text_value,
    whole_number,
)

SQLITE_HEADER = b"SQLite format 3\x00"
DEFAULT_SAMPLES_BUDGET = 1_000_000
STATUSES = ("running", "finished", "interrupted", "failed")

# A runs row's last stored generation (-1: none), for a query over runs
_LAST_GENERATION_SQL = ("COALESCE((SELECT MAX(g.id) - runs.id * 4294967296 FROM generations g WHERE g.id BETWEEN "
                        "runs.id * 4294967296 AND runs.id * 4294967296 + 4294967295), -1)")


class ProjectError(Exception):
    """A user-facing problem with a project file; the message names the file and what is wrong."""


class DamagedDataError(ProjectError):
    """What the file holds cannot be what Collapse Lab wrote (a damaged page, row or value)."""


class RunHeldError(ProjectError):
    """Another live process is computing the run (it claimed it first)."""


class UnsafeProjectError(ProjectError):
    """The file holds SQL objects (triggers, views, indexes, tables) that Collapse Lab did not write."""

    def __init__(self, path: Path, report: SchemaReport) -> None:
        super().__init__(
            f"{path}: holds SQL that Collapse Lab did not write ({report.describe()}); SQL in a file can run when "
            f"the file is read or changed, so nothing was changed. It can be looked at read-only; to work with it, "
            f"remove those objects with: python main.py repair {shlex.quote(str(path))} (runs and generations are "
            "kept)")
        self.path, self.report = path, report


MAX_NAME_LENGTH = 100


def clean_run_name(name: str) -> str:
    """`name` with its whitespace (newlines, tabs) folded to single spaces; ProjectError when that is empty, longer
    than MAX_NAME_LENGTH or holds other control characters."""
    folded = " ".join(name.split())
    if not folded:
        raise ProjectError("a run name cannot be empty")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in folded):
        raise ProjectError("a run name cannot contain control characters")
    if len(folded) > MAX_NAME_LENGTH:
        raise ProjectError(f"a run name can be at most {MAX_NAME_LENGTH} characters, got {len(folded)}")
    return folded


@dataclass
class RunInfo:
    """A run's row, decoded."""

    id: int
    name: str
    group: str
    replicate: int
    scenario: str
    policy: str
    spec: RunSpec
    status: str
    message: str | None
    reference: dict[str, Any]
    dtype: np.dtype
    unit_shape: tuple[int, ...]
    samples_budget: int
    versions: dict[str, str]
    last_generation: int
    created_at: str
    updated_at: str

    @property
    def generations(self) -> int:
        return self.spec.generations

    @property
    def complete(self) -> bool:
        return self.last_generation >= self.spec.generations

    @property
    def done(self) -> bool:
        """Nothing left to compute: every generation is stored, or the run ended on purpose (status finished)."""
        return self.complete or self.status == "finished"


@dataclass
class SweepCell:
    """One cell of a sweep: its swept values and the replicate group holding its runs."""

    cell: int
    values: dict[str, str]
    group: str


@dataclass
class SweepInfo:
    """A sweep's row, decoded (``spec`` is the stored JSON object; core.sweep.SweepSpec.from_json reads it)."""

    id: int
    name: str
    spec: dict[str, Any]
    status: str
    cells: list[SweepCell]
    created_at: str
    updated_at: str


def row_key(run_id: int, generation: int) -> int:
    """The id of a (run, generation) row in the generations and samples tables."""
    return int(run_id) * GENERATION_KEY + int(generation)


def run_keys(run_id: int) -> tuple[int, int]:
    """The first and last id a run's generation rows can have (for ``id BETWEEN ? AND ?``)."""
    return int(run_id) * GENERATION_KEY, int(run_id) * GENERATION_KEY + GENERATION_KEY - 1


def _blob(value: Any, what: str) -> bytes:
    """A stored array's bytes: a BLOB of whole 4-byte values, else Damaged."""
    if not isinstance(value, bytes) or len(value) % 4:
        raise Damaged(f"{what} is not an array of 4-byte values")
    return value


def _shortened(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@functools.cache
def library_versions() -> dict[str, str]:
    """Versions of what produced a run."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:  # read from the package's metadata: importing scikit-learn takes 0.5 s
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {"collapse_lab": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "scipy": installed("scipy"), "scikit_learn": installed("scikit-learn"), "sqlite": sqlite3.sqlite_version,
            "platform": platform.platform()}


def _writer_tag() -> str:
    """This process, as a run's writer: host, pid and when the process started (so a pid used again by
    another process, or after a reboot, is not taken for the writer)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_started(os.getpid()) or ''}"


@functools.cache
def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()[:8]
    except OSError:
        return ""


def _started(pid: int) -> str | None:
    """When a process started, as '<boot id>-<clock ticks since boot>' (Linux), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2:].split()
    return f"{_boot_id()}-{fields[19].decode()}" if len(fields) > 19 else None


def _parse_writer(tag: str) -> tuple[str, int, str | None] | None:
    """(host, pid, start) of a writer tag ('host:pid' from older versions has no start), or None."""
    parts = tag.split(":")
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), (parts[2] or None) if len(parts) == 3 else None


def writer_description(tag: str | None) -> str:
    """'process 1234 on host' for a writer tag."""
    parsed = _parse_writer(tag) if isinstance(tag, str) else None
    return "another process" if parsed is None else f"process {parsed[1]} on {parsed[0]}"


def _writer_alive(tag: object) -> bool:
    """Whether the process a writer tag (as read from the file: any value) names may still be writing."""
    parsed = _parse_writer(tag) if isinstance(tag, str) else None
    if parsed is None:
        return False
    host, pid, start = parsed
    if host != socket.gethostname():
        return True  # another machine: assume it may still be writing
    if pid == os.getpid():
        return start is None or start == _started(pid)
    if not _pid_alive(pid):
        return False
    now = _started(pid)
    return start is None or now is None or now == start  # else the pid is another process's now (or a reboot)


def _is_zombie(pid: int) -> bool:
    """Whether a process has ended but not yet been reaped (Linux; elsewhere False): killed, it writes nothing."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2:][:1] in (b"Z", b"X")  # the state letter follows "(command name) "


def _configure(conn: sqlite3.Connection) -> None:
    """The settings of every connection to a project file."""
    conn.execute("PRAGMA busy_timeout = 10000")
    # Nothing in the file's schema may call a function with side effects (core/schema.py checks the schema
    # itself before anything is written), and damaged pages are caught when read.
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.execute("PRAGMA cell_size_check = ON")
    conn.execute("PRAGMA foreign_keys = ON")
    # While a run writes, its background checkpointer copies the WAL: no connection of this project does that
    # copying inside one of its commits before the WAL is this large (core/checkpointer.py).
    conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")


def _pid_alive(pid: int) -> bool:
    """Whether a process of this machine runs (a zombie, killed but not reaped, writes nothing)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, ValueError, OverflowError):
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return not _is_zombie(pid)


def _translate(path: Path, exc: sqlite3.Error, doing: str) -> ProjectError:
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "database or disk is full" in low:
        if doing.startswith("saving generation"):
            return ProjectError(f"{path}: the disk is full while {doing}. Every generation saved before is kept; "
                                "free some space and resume the run.")
        return ProjectError(f"{path}: the disk is full while {doing}; the file is as it was before. Free some "
                            "space and try again.")
    if "readonly" in low or "read-only" in low:
        return ProjectError(f"{path}: the project is read-only, so it cannot be changed ({doing}). "
                            "Copy it to a writable folder (in the app: File > Save As).")
    if "malformed" in low or "not a database" in low or "corrupt" in low:
        return DamagedDataError(f"{path}: the project file is damaged ({text}).")
    if "could not decode to utf-8" in low:  # the raw bytes would follow in the message: not for users
        column = text.split("column", 1)[1].split("with text", 1)[0].strip(" '") if "column" in text else ""
        return DamagedDataError(f"{path}: the project file is damaged (a text value{f' in {column}' if column else ''} "
                                f"is not valid UTF-8, while {doing}).")
    if "unable to open" in low:
        return ProjectError(f"{path}: cannot open or create the file there (is the folder writable?).")
    if "locked" in low or "busy" in low:
        return ProjectError(f"{path}: the project is busy (another program is writing to it); try again.")
    return ProjectError(f"{path}: {doing} failed: {text}")


_DECODING_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError, RecursionError)


def reading(doing: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A reader of a project's data (a Project method, or a function whose first argument is a Project): an
    SQLite error becomes one ProjectError, and a value that cannot be decoded (the file is damaged there) a
    DamagedDataError, whatever the reader was doing with it."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        def fail(project: Project, exc: BaseException) -> ProjectError:
            if isinstance(exc, sqlite3.Error):
                return _translate(project.path, exc, doing)
            return DamagedDataError(f"{project.path}: the project file is damaged ({doing}: {type(exc).__name__}: "
                                    f"{str(exc)[:200]})")

        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def generator(project: Project, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from fn(project, *args, **kwargs)
                except (sqlite3.Error, *_DECODING_ERRORS) as exc:
                    raise fail(project, exc) from None
            return generator

        @functools.wraps(fn)
        def plain(project: Project, *args: Any, **kwargs: Any) -> Any:
            try:
                return fn(project, *args, **kwargs)
            except (sqlite3.Error, *_DECODING_ERRORS) as exc:
                raise fail(project, exc) from None
        return plain

    return wrap


class Project:
    """An open project file. One instance per thread (SQLite connections are not shared)."""

    #: checkpoint the WAL on a background thread while a run writes (False: inside commits, as SQLite does)
    background_checkpoints = True

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False, readonly: bool = False) -> None:
        self.path = Path(path)
        self._checkpointer: BackgroundCheckpointer | None = None
        self.readonly = readonly
        self.full_disk = False  # opened read-only because the disk is full (the file could be written otherwise)
        if self.path.is_dir():
            raise ProjectError(f"{self.path}: is a folder, not a project file")
        exists = self.path.exists()
        if exists and not self.path.is_file():  # a pipe or device would block or never be a project
            raise ProjectError(f"{self.path}: is not a regular file (a device or pipe), not a project file")
        if exists and create and not readonly and self._empty_file():
            exists = False  # e.g. left by a crash while an older version created it: nothing to keep
        if not exists:
            if not create or readonly:
                raise ProjectError(f"{self.path}: no such file")
            self._create()
        self._check_header()
        writable = os.access(self.path, os.W_OK)
        if not writable:
            self.readonly = True
        else:  # also for a read-only opening (`info`) of a file that can be written
            self._settle_journal()
        try:
            self._connect()
        except ProjectError as exc:
            if self.readonly or "disk is full" not in str(exc):
                raise
            # Opening may need to write (marking a stopped run interrupted, upgrading the format): on a full
            # disk the project is still shown, read-only, as it is.
            self.readonly = self.full_disk = True
            self._connect()

    def _connect(self) -> None:
        try:
            if self.readonly:
                # as_uri() percent-encodes the path: a '#', '?' or '%' in it is never read as part of the URI
                conn = sqlite3.connect(self.path.absolute().as_uri() + "?mode=ro", uri=True, check_same_thread=False,
                                       isolation_level=None)
            else:
                conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        except sqlite3.Error as exc:
            raise _translate(self.path, exc, "opening the project") from None
        try:
            _configure(conn)
            self.db = Database(conn)
            self._check_or_init()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, UnicodeDecodeError):  # a name in the schema that is not text
                raise DamagedDataError(f"{self.path}: the project file is damaged (its list of tables cannot be "
                                       "read)") from None
            if isinstance(exc, sqlite3.Error):
                if self.readonly and self._hot_journal():
                    raise ProjectError(self._journal_message()) from None
                raise _translate(self.path, exc, "opening the project") from None
            raise

    # ---- creating ---------------------------------------------------------------------------------------
    def _empty_file(self) -> bool:
        try:
            return self.path.stat().st_size == 0 and not Path(str(self.path) + "-journal").exists()
        except OSError:
            return False

    def _create(self) -> None:
        """Make the project file with its schema under a temporary name beside it, then give it its name: a
        crash while creating leaves nothing at the path (at worst a hidden temporary file, removed next time)."""
        tmp = self.path.with_name(f".{self.path.name}.creating-{os.getpid()}")
        self._remove_stale_creations()
        try:
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                _configure(conn)
                self._init_schema(Database(conn))
            finally:
                conn.close()
            try:
                os.link(tmp, self.path)  # never over a file another process created meanwhile
            except FileExistsError:
                if not self._empty_file():
                    raise
                os.replace(tmp, self.path)
            except OSError:  # a file system without hard links
                os.replace(tmp, self.path)
        except (sqlite3.Error, OSError) as exc:
            full = ("full" in str(exc).lower() if isinstance(exc, sqlite3.Error)
                    else exc.errno in (errno.ENOSPC, errno.EDQUOT))
            if full:
                raise ProjectError(f"{self.path}: the disk is full, so the project could not be created (nothing "
                                   "was written); free some space and try again") from None
            if isinstance(exc, sqlite3.Error):
                raise _translate(self.path, exc, "creating the project") from None
            raise ProjectError(f"{self.path}: cannot create the file there ({exc.strerror})") from None
        finally:
            for suffix in ("", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)

    def _remove_stale_creations(self) -> None:
        """Temporary files of creations that crashed (their process is gone)."""
        try:
            for p in self.path.parent.glob(f".{glob.escape(self.path.name)}.creating-*"):
                pid = p.name.rpartition("-")[2]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    p.unlink(missing_ok=True)
        except OSError:
            pass

    # ---- interrupted writes -----------------------------------------------------------------------------
    def _hot_journal(self) -> bool:
        try:
            return Path(str(self.path) + "-journal").stat().st_size > 0
        except OSError:
            return False

    def _journal_message(self) -> str:
        return (f"{self.path}: a change to this file was cut off (a crash or power loss while it was being written), "
                f"and undoing it needs write access: its rollback journal {self.path.name}-journal lies beside it. "
                "Open it where the file and its folder are writable, keeping the two files together (a copy of the "
                "file alone would be damaged).")

    def _settle_journal(self) -> None:
        """Roll back a change a crash cut off (SQLite does so on the first read of a writable connection)."""
        if not self._hot_journal():
            return
        if not os.access(self.path.parent, os.W_OK):
            raise ProjectError(self._journal_message())
        try:
            conn = sqlite3.connect(str(self.path), isolation_level=None)
            try:
                conn.execute("PRAGMA busy_timeout = 10000")
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise _translate(self.path, exc, "undoing a change a crash cut off") from None

    # ---- opening ----------------------------------------------------------------------------------------
    def _check_header(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise ProjectError(f"{self.path}: cannot be read ({exc.strerror})") from None
        if len(head) == 0:
            raise ProjectError(f"{self.path}: is an empty file, not a Collapse Lab project")
        if head != SQLITE_HEADER:
            raise ProjectError(f"{self.path}: is not a Collapse Lab project (not an SQLite database)")

    def _check_or_init(self) -> None:
        conn = self.db.conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = self.db.table_names()
        empty = not conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
        if app_id == 0 and version == 0 and empty:  # an empty SQLite database (say, made in the sqlite3 shell)
            self.has_sweeps = True
            self.schema = SchemaReport([], [])
            if self.readonly:
                raise ProjectError(f"{self.path}: is an empty database, not a Collapse Lab project")
            self._init_schema(self.db)
            return
        if app_id != APPLICATION_ID:
            raise ProjectError(f"{self.path}: is an SQLite database but not a Collapse Lab project")
        if version > FORMAT_VERSION:
            raise ProjectError(f"{self.path}: was written by a newer Collapse Lab (project format {version}; this "
                               f"version reads formats up to {FORMAT_VERSION}). Update Collapse Lab to open it.")
        if version not in SCHEMAS:
            raise ProjectError(f"{self.path}: uses project format {version}, which this version cannot read")
        missing = {"meta", "runs", "generations", "samples"} - set(tables)
        if missing:
            raise ProjectError(f"{self.path}: the project file is damaged (missing tables: {', '.join(sorted(missing))})")
        self.schema = inspect_schema(conn, version)
        if self.schema.changed:
            raise ProjectError(f"{self.path}: the project file is damaged or was altered: "
                               f"{self.schema.describe()} is not defined as Collapse Lab defines it, so it "
                               "cannot be opened safely")
        if self.schema.foreign and (not self.readonly or version < 2):
            raise UnsafeProjectError(self.path, self.schema)
        self.has_sweeps = {"sweeps", "sweep_cells"} <= set(tables)
        if version < FORMAT_VERSION:
            if version >= 2 and (self.schema.foreign or not (os.access(self.path, os.W_OK)
                                                             and os.access(self.path.parent, os.W_OK))):
                self.has_sweeps = False  # format 3 only adds the sweep tables: a read-only file is read as it is
            else:
                self._migrate(version)
                self.has_sweeps = True
        if not self.readonly:
            self._mark_interrupted()

    @staticmethod
    def _init_schema(db: Database) -> None:
        with db.atomic():
            for stmt in statements(SCHEMA):
                db.execute(stmt)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            db.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                                [("created_at", _now()), ("created_by", f"Collapse Lab {__version__}")])

    def _migrate(self, version: int) -> None:
        """Upgrade an older file in place, in one transaction. A file opened read-only that could be written
        (`info` and `export` open files read-only) is upgraded through a connection of its own."""
        if version not in MIGRATIONS:
            raise ProjectError(f"{self.path}: uses project format {version}, which this version cannot upgrade")
        if not (os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)):
            raise ProjectError(f"{self.path}: uses the older project format {version} and is read-only, so it "
                               "cannot be upgraded; copy it to a writable folder first.")
        conn = sqlite3.connect(str(self.path), check_same_thread=False) if self.readonly else self.db.conn
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            # Renaming the old tables must not rewrite (and so break) views the user made on them.
            conn.execute("PRAGMA legacy_alter_table = ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._upgrade(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                conn.execute("PRAGMA legacy_alter_table = OFF")
        except sqlite3.Error as exc:
            if "full" in str(exc).lower():
                raise ProjectError(f"{self.path}: the disk is full while upgrading the project to format "
                                   f"{FORMAT_VERSION} (it needs about the file's size free); the file is unchanged.") from None
            raise _translate(self.path, exc, f"upgrading the project to format {FORMAT_VERSION}") from None
        finally:
            if conn is not self.db.conn:
                conn.close()

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """The migrations from the file's format to this one, inside the caller's write transaction."""
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # read again: another process may have upgraded
        if version >= FORMAT_VERSION:
            return
        writers = conn.execute("SELECT writer FROM runs WHERE status = 'running'").fetchall()
        if any(_writer_alive(w) for (w,) in writers):
            raise ProjectError(f"{self.path}: an older Collapse Lab is computing a run in this project; let it "
                               f"finish or stop it, then open the file again (it needs upgrading to format "
                               f"{FORMAT_VERSION}).")
        while version < FORMAT_VERSION:
            for stmt in statements(MIGRATIONS[version]):
                conn.execute(stmt)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")

    def _mark_interrupted(self) -> None:
        """Honest statuses for runs whose writer is gone: interrupted, or finished when every generation is in
        the file (a writer killed between its last commit and recording the status)."""
        # read as bytes: text that is not UTF-8 in one row must not stop the others being settled
        rows = self.db.execute(f"SELECT id, CAST(writer AS BLOB), CAST(status AS BLOB), generations, "
                               f"({_LAST_GENERATION_SQL}) FROM runs WHERE status != 'finished'").fetchall()
        changes = []
        for rid, writer, status, target, last in rows:
            writer = writer.decode("utf-8", "replace") if isinstance(writer, bytes) else None
            status = status.decode("utf-8", "replace") if isinstance(status, bytes) else None
            alive = status == "running" and _writer_alive(writer)
            if not alive and isinstance(target, int) and last >= target:
                changes.append(("finished", None, rid))
            elif status == "running" and not alive:
                changes.append(("interrupted", "the process writing it stopped; resume to continue", rid))
        if changes:
            now = _now()
            with self.db.atomic():
                self.db.conn.executemany("UPDATE runs SET status = ?, writer = NULL, message = COALESCE(?, message), "
                                         "updated_at = ? WHERE id = ?", [(s, m, now, rid) for s, m, rid in changes])

    def close(self) -> None:
        """Checkpoint the WAL back into the file and close."""
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        try:
            if not self.readonly:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                try:
                    self.db.execute("PRAGMA journal_mode = DELETE")
                except sqlite3.OperationalError:
                    pass  # another connection still has the file open in WAL mode
            self.db.conn.close()
        except sqlite3.Error:
            pass

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _guard(self, doing: str) -> _Guard:
        return _Guard(self, doing)

    @contextlib.contextmanager
    def atomic(self, doing: str) -> Iterator[None]:
        """One transaction around several changes (nested ones become savepoints); errors as ProjectError."""
        self._writable(doing)
        with self._guard(doing), self.db.atomic():
            yield

    def _writable(self, doing: str) -> None:
        if self.full_disk:
            raise ProjectError(f"{self.path}: the disk is full, so the project is open read-only and cannot be "
                               f"changed ({doing}); free some space and open it again.")
        if self.readonly:
            raise ProjectError(f"{self.path}: the project is read-only, so it cannot be changed ({doing}). "
                               "Copy it to a writable folder (in the app: File > Save As).")

    # ---- runs ---------------------------------------------------------------------------------------------
    def add_run(self, spec: RunSpec, name: str, group: str, unit_shape: tuple[int, ...], dtype: Any,
                samples_budget: int = DEFAULT_SAMPLES_BUDGET) -> int:
        """Create a run row (status interrupted until a writer starts it) and return its id."""
        self._writable("adding a run")
        if self.db.execute("SELECT 1 FROM runs WHERE name = ?", [name]).fetchone():
            raise ProjectError(f"{self.path}: a run named {name!r} already exists")
        now = _now()
        with self._guard("adding a run"), self.db.atomic():
            cur = self.db.execute(
                "INSERT INTO runs (name, group_name, replicate, scenario, policy, spec, seed, generations, samples, "
                "status, message, reference, sample_dtype, sample_shape, samples_budget, versions, writer, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'interrupted', 'not started yet', NULL, "
                "?, ?, ?, ?, NULL, ?, ?)",
                [name, group, spec.replicate, spec.scenario, spec.policy, json.dumps(spec.to_json()), spec.seed,
                 spec.generations, spec.samples, np.dtype(dtype).newbyteorder("<").str, json.dumps(list(unit_shape)),
                 int(samples_budget), json.dumps(library_versions()), now, now])
            return int(cur.lastrowid)

    @reading("reading the run names")
    def taken_names(self) -> set[str]:
        """Every run name and group name in the project (a new run or group must differ from all of them)."""
        rows = self.db.execute("SELECT name FROM runs UNION SELECT group_name FROM runs").fetchall()
        return {r[0] for r in rows}

    def unique_name(self, base: str, names: set[str] | None = None) -> str:
        """`base`, or `base (2)`, `base (3)` ... whichever is free (of `names`, default the project's)."""
        names = self.taken_names() if names is None else names
        if base not in names:
            return base
        k = 2
        while f"{base} ({k})" in names:
            k += 1
        return f"{base} ({k})"

    def _row_to_info(self, row: sqlite3.Row | tuple[Any, ...], cols: list[str]) -> RunInfo:
        d = dict(zip(cols, row))
        try:
            return self._decode_run(d)
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:  # ParamError, Damaged too
            name = d.get("name")
            label = repr(name[:MAX_NAME_LENGTH]) if isinstance(name, str) else f"id {d.get('id')}"
            raise ProjectError(f"{self.path}: the project file is damaged (run {label}: {exc})") from None

    def _decode_run(self, d: dict[str, Any]) -> RunInfo:
        """A run's row, every field checked: the settings as the command line checks them, the sample layout
        against what the scenario stores (Damaged or ParamError when anything is not what Collapse Lab wrote)."""
        try:
            spec = RunSpec.from_stored(load_json(d["spec"], "its settings", MAX_SPEC_CHARS))
        except ParamError as exc:
            raise Damaged(f"its settings are not valid: {exc}") from None
        status = text_value(d["status"], "its status")
        if status not in STATUSES:
            raise Damaged(f"its status {status[:40]!r} is not one of {', '.join(STATUSES)}")
        if status == "running" and not _writer_alive(d["writer"]):
            status = "finished" if d["last_generation"] >= spec.generations else "interrupted"
        for key in ("scenario", "policy"):
            if d[key] != getattr(spec, key):
                raise Damaged(f"its {key} column ({str(d[key])[:40]!r}) differs from its settings' "
                              f"({getattr(spec, key)!r})")
        dtype, unit_shape = sample_layout(spec)
        if d["sample_dtype"] != dtype.str:
            raise Damaged(f"its samples are said to be {str(d['sample_dtype'])[:20]!r}, but {spec.scenario} stores "
                          f"{dtype.str!r}")
        if load_json(d["sample_shape"], "its sample shape", MAX_SMALL_CHARS) != list(unit_shape):
            raise Damaged(f"its sample shape is not {spec.scenario}'s {list(unit_shape)}")
        reference = {} if d["reference"] is None else check_reference(
            load_object(d["reference"], "its reference", MAX_REFERENCE_CHARS))
        try:
            versions = load_object(d["versions"], "its versions", MAX_SMALL_CHARS)
            versions = {str(k): str(v)[:200] for k, v in versions.items()}
        except Damaged:
            versions = {}  # only shown: what made the run
        message = d["message"]
        return RunInfo(
            id=whole_number(d["id"], "its id", 1, 2**31 - 1), name=text_value(d["name"], "its name"),
            group=text_value(d["group_name"], "its group"), replicate=spec.replicate, scenario=spec.scenario,
            policy=spec.policy, spec=spec, status=status,
            message=None if message is None else _shortened(str(message), 2000), reference=reference,
            dtype=dtype, unit_shape=unit_shape,
            samples_budget=whole_number(d["samples_budget"], "its stored-samples budget", 1, MAX_SAMPLES),
            versions=versions, last_generation=int(d["last_generation"]),
            created_at=_shortened(str(d["created_at"]), 40), updated_at=_shortened(str(d["updated_at"]), 40),
        )

    _RUN_SQL = f"SELECT runs.*, ({_LAST_GENERATION_SQL}) AS last_generation FROM runs"

    def runs(self) -> list[RunInfo]:
        """All readable runs, in creation order (``read_runs`` also says which rows are damaged)."""
        return self.read_runs()[0]

    def read_runs(self) -> tuple[list[RunInfo], list[str]]:
        """The readable runs in creation order, and one message per run row that is damaged.

        One damaged row must not hide the others: when the whole listing cannot be read, rows are read one
        by one. A ProjectError only when not even the list of run ids can be read.
        """
        try:
            with self._guard("reading the runs"):
                cur = self.db.execute(self._RUN_SQL + " ORDER BY id")
                cols = [c[0] for c in cur.description]
                rows = cur.fetchall()
        except ProjectError:
            rows = None
        runs: list[RunInfo] = []
        damaged: list[str] = []
        if rows is not None:
            for r in rows:
                try:
                    runs.append(self._row_to_info(r, cols))
                except ProjectError as exc:
                    damaged.append(self.message_of(exc))
            return runs, damaged
        with self._guard("reading the list of runs"):
            ids = [int(r[0]) for r in self.db.execute("SELECT id FROM runs ORDER BY id").fetchall()]
        for run_id in ids:
            try:
                runs.append(self.run(run_id))
            except ProjectError as exc:
                damaged.append(f"run id {run_id}: {self.message_of(exc)}")
        return runs, damaged

    def message_of(self, exc: ProjectError) -> str:
        """A ProjectError's message without the leading path of this project."""
        text = str(exc)
        prefix = f"{self.path}: "
        return text[len(prefix):] if text.startswith(prefix) else text

    def run(self, run_id: int) -> RunInfo:
        with self._guard("reading a run"):
            cur = self.db.execute(self._RUN_SQL + " WHERE id = ?", [run_id])
            cols = [c[0] for c in cur.description]
            row = cur.fetchone()
        if row is None:
            raise ProjectError(f"{self.path}: no run with id {run_id}")
        return self._row_to_info(row, cols)

    def find_runs(self, name: str) -> list[RunInfo]:
        """Runs whose name or group equals `name`."""
        return [r for r in self.runs() if name in (r.name, r.group)]

    def rename_run(self, run_id: int, name: str) -> None:
        self._writable("renaming a run")
        name = clean_run_name(name)
        if self.db.execute("SELECT 1 FROM runs WHERE name = ? AND id != ?", [name, run_id]).fetchone():
            raise ProjectError(f"a run named {name!r} already exists")
        with self._guard("renaming a run"), self.db.atomic():
            self.db.execute("UPDATE runs SET name = ?, updated_at = ? WHERE id = ?", [name, _now(), run_id])

    def delete_run(self, run_id: int) -> None:
        self._writable("deleting a run")
        with self._guard("deleting a run"), self.db.atomic():
            for table in ("samples", "generations"):
                self.db.execute(f"DELETE FROM {table} WHERE id BETWEEN ? AND ?", run_keys(run_id))
            self.db.execute("DELETE FROM runs WHERE id = ?", [run_id])

    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        """Record a run's status; 'running' also records this process as its writer."""
        self.set_statuses([(run_id, status, message)])

    def set_statuses(self, changes: Iterable[tuple[int, str, str | None]]) -> None:
        """Record several runs' (run id, status, message) in one transaction."""
        rows = []
        now, tag = _now(), _writer_tag()
        for run_id, status, message in changes:
            assert status in STATUSES
            rows.append([status, message, tag if status == "running" else None, now, run_id])
        if not rows:
            return
        self._writable("updating a run's status")
        with self._guard("updating a run's status"), self.db.atomic():
            self.db.conn.executemany("UPDATE runs SET status = ?, message = ?, writer = ?, updated_at = ? WHERE id = ?",
                                     rows)

    def claim(self, run_ids: Iterable[int]) -> None:
        """Mark these runs running, written by this process, in one transaction that holds the write lock from
        its first read: RunHeldError (nothing claimed) when another live process is computing one of them."""
        ids = [int(r) for r in run_ids]
        if not ids:
            return
        self._writable("starting a run")
        now, tag = _now(), _writer_tag()
        with self._guard("starting a run"), self.db.atomic(immediate=True):
            held = []
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                rows = self.db.execute(f"SELECT name, writer, updated_at FROM runs WHERE status = 'running' AND id IN "
                                       f"({', '.join('?' * len(part))})", part).fetchall()
                held += [(n, w, u) for n, w, u in rows if w != tag and _writer_alive(w)]
            if held:
                name, writer, since = held[0]
                more = f" (and {len(held) - 1} more of these runs)" if len(held) > 1 else ""
                raise RunHeldError(f"{self.path}: run {str(name)[:MAX_NAME_LENGTH]!r} is being computed by "
                                   f"{writer_description(writer)} since {str(since)[:40]}{more}; wait for it to "
                                   "finish or stop it, then resume")
            self.db.conn.executemany("UPDATE runs SET status = 'running', message = NULL, writer = ?, updated_at = ? "
                                     "WHERE id = ?", [(tag, now, rid) for rid in ids])

    def release(self, run_ids: Iterable[int], message: str) -> None:
        """Mark those of these runs that this process still holds as running interrupted, with `message`."""
        tag, now = _writer_tag(), _now()
        with self._guard("updating a run's status"), self.db.atomic():
            self.db.conn.executemany("UPDATE runs SET status = 'interrupted', writer = NULL, message = ?, updated_at = ? "
                                     "WHERE id = ? AND status = 'running' AND writer = ?",
                                     [(message, now, int(rid), tag) for rid in run_ids])

    def holders(self, runs: Iterable[RunInfo]) -> list[str]:
        """'run 'x' is being computed by process P on H' for each of these runs another live process computes."""
        out = []
        with self._guard("reading the runs"):
            for r in runs:
                if r.status == "running" and not r.done:
                    row = self.db.execute("SELECT writer FROM runs WHERE id = ?", [r.id]).fetchone()
                    if row and row[0] != _writer_tag():
                        out.append(f"run {r.name!r} is being computed by {writer_description(row[0])}")
        return out

    def set_reference(self, run_id: int, reference: dict[str, Any]) -> None:
        with self._guard("saving the run's reference"), self.db.atomic():
            self.db.execute("UPDATE runs SET reference = ? WHERE id = ?", [json.dumps(reference), run_id])

    def extend_run(self, run_id: int, generations: int) -> None:
        """Raise a run's target generation count (to continue it further)."""
        info = self.run(run_id)
        if generations <= info.spec.generations:
            raise ProjectError(f"run {info.name!r} already targets {info.spec.generations} generations")
        spec = RunSpec.from_json({**info.spec.to_json(), "generations": generations})
        with self._guard("extending a run"), self.db.atomic():
            self.db.execute("UPDATE runs SET spec = ?, generations = ?, status = 'interrupted', message = ?, "
                            "updated_at = ? WHERE id = ?",
                            [json.dumps(spec.to_json()), generations, f"extended to {generations} generations; "
                             "resume to continue", _now(), run_id])

    # ---- sweeps -------------------------------------------------------------------------------------------
    def add_sweep(self, name: str, spec: dict[str, Any], cells: Iterable[tuple[int, dict[str, str], str]]) -> int:
        """Record a sweep (its spec as JSON) and its cells (index, swept values, replicate group); inside the
        caller's transaction when there is one, so a sweep and its runs are created together or not at all."""
        self._writable("adding a sweep")
        if not self.has_sweeps:
            raise ProjectError(f"{self.path}: this project's format has no sweeps; open it writable to upgrade it")
        now = _now()
        with self._guard("adding a sweep"), self.db.atomic():
            cur = self.db.execute("INSERT INTO sweeps (name, spec, status, created_at, updated_at) VALUES "
                                  "(?, ?, 'interrupted', ?, ?)", [name, json.dumps(spec), now, now])
            sweep_id = int(cur.lastrowid)
            self.db.conn.executemany("INSERT INTO sweep_cells (sweep_id, cell, params, group_name) VALUES (?, ?, ?, ?)",
                                     [(sweep_id, int(i), json.dumps(v), g) for i, v, g in cells])
        return sweep_id

    @reading("reading the sweeps")
    def sweep_names(self) -> set[str]:
        if not self.has_sweeps:
            return set()
        return {r[0] for r in self.db.execute("SELECT name FROM sweeps").fetchall()}

    def sweeps(self) -> tuple[list[SweepInfo], list[str]]:
        """The readable sweeps in creation order, and one message per damaged sweep (a damaged one hides no
        other: each is read on its own)."""
        from core.sweep import SweepSpec

        if not self.has_sweeps:
            return [], []
        with self._guard("reading the sweeps"):
            ids = [int(r[0]) for r in self.db.execute("SELECT id FROM sweeps ORDER BY id").fetchall()]
        out, damaged = [], []
        for sid in ids:
            label = f"id {sid}"
            try:
                with self._guard("reading a sweep"):
                    row = self.db.execute("SELECT name, spec, status, created_at, updated_at FROM sweeps WHERE id = ?",
                                          [sid]).fetchone()
                    cell_rows = self.db.execute("SELECT cell, params, group_name FROM sweep_cells WHERE sweep_id = ? "
                                                "ORDER BY cell", [sid]).fetchall()
                name, spec, status, created, updated = row
                label = repr(name[:MAX_NAME_LENGTH]) if isinstance(name, str) else f"id {sid}"
                d = load_object(spec, "its specification", MAX_SPEC_CHARS)
                SweepSpec.from_json(d)  # the shape the readers rely on
                cells = []
                for cell, params, group in cell_rows:
                    values = load_object(params, "a cell's values", MAX_SMALL_CHARS)
                    cells.append(SweepCell(whole_number(cell, "a cell's index", 0, 2**31 - 1),
                                           {str(k)[:200]: str(v)[:200] for k, v in values.items()},
                                           text_value(group, "a cell's group")))
                out.append(SweepInfo(sid, text_value(name, "its name"), d, text_value(status, "its status", 40),
                                     cells, str(created)[:40], str(updated)[:40]))
            except ProjectError as exc:
                damaged.append(f"sweep id {sid}: {self.message_of(exc)}")
            except (ValueError, TypeError) as exc:  # Damaged, ParamError
                damaged.append(f"sweep {label}: {exc}")
        return out, damaged

    def set_sweep_status(self, sweep_id: int, status: str) -> None:
        assert status in STATUSES
        with self._guard("updating a sweep's status"), self.db.atomic():
            self.db.execute("UPDATE sweeps SET status = ?, updated_at = ? WHERE id = ?", [status, _now(), sweep_id])

    # ---- generations ----------------------------------------------------------------------------------------
    def commit_generation(self, run: RunInfo, record: GenerationRecord, regenerable: bool = True) -> None:
        """Store one generation (model, histogram, curve, samples, metrics) in one transaction."""
        self.commit_generations(run, (record,), regenerable)

    def commit_generations(self, run: RunInfo, records: Iterable[GenerationRecord], regenerable: bool = True) -> None:
        """Store several consecutive generations of one run in one transaction (group commit): all or none."""
        records = list(records)
        if not records:
            return
        doing = (f"saving generation {records[0].generation}" if len(records) == 1 else
                 f"saving generations {records[0].generation}-{records[-1].generation}")
        now = _now()
        gens, samples, notes = [], [], []
        for record in records:
            g, smp = self._generation_rows(run, record, regenerable, now)
            gens.append(g)
            samples.append(smp)
            if record.note:
                notes.append([f"generation {record.generation}: {record.note}", now, run.id])
        with self._guard(doing), self.db.atomic():
            executemany = self.db.conn.executemany
            executemany("INSERT OR REPLACE INTO generations (id, run_id, generation, model, n_samples, n_stored, "
                        "histogram, curve, metrics, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gens)
            executemany("INSERT OR REPLACE INTO samples (id, run_id, generation, data) VALUES (?, ?, ?, ?)", samples)
            if notes:
                self.db.conn.execute("UPDATE runs SET message = ?, updated_at = ? WHERE id = ?", notes[-1])

    def _generation_rows(self, run: RunInfo, record: GenerationRecord, regenerable: bool,
                         now: str) -> tuple[list[Any], list[Any]]:
        """The `generations` and `samples` rows of one generation."""
        samples = record.samples
        n = len(samples)
        stored = samples
        # Generation 0 (the real data every metric refers to) is always stored whole.
        if regenerable and record.generation > 0 and n > run.samples_budget:
            rng = stream(run.spec.seed, run.spec.replicate, record.generation, Purpose.RESERVOIR)
            stored = samples[np.sort(rng.choice(n, size=run.samples_budget, replace=False))]
        model, metrics, hist, curve = record.encoded or encode_record(record)
        data = memoryview(np.ascontiguousarray(stored, dtype=run.dtype)).cast("B")  # bound as a BLOB, no copy
        key = row_key(run.id, record.generation)
        return ([key, run.id, record.generation, model, n, len(stored), hist, curve, metrics, record.note, now],
                [key, run.id, record.generation, data])

    @reading("reading a run's notes")
    def last_note(self, run_id: int) -> str | None:
        """The latest generation note of a run, as 'generation g: note', or None."""
        row = self.db.execute(f"SELECT {GENERATION_OF_ID}, note FROM generations WHERE id BETWEEN ? AND ? AND note IS NOT "
                              "NULL ORDER BY id DESC LIMIT 1", run_keys(run_id)).fetchone()
        return None if row is None else f"generation {row[0]}: {row[1]}"

    @reading("reading a run's generations")
    def last_generation(self, run_id: int) -> int:
        lo, hi = run_keys(run_id)
        row = self.db.execute("SELECT MAX(id) FROM generations WHERE id BETWEEN ? AND ?", [lo, hi]).fetchone()
        return -1 if row[0] is None else int(row[0]) - lo

    @reading("reading a generation")
    def generation_row(self, run_id: int, generation: int) -> dict[str, Any]:
        """Model parameters (decoded), counts and note of one generation."""
        row = self.db.execute(
            "SELECT model, n_samples, n_stored, histogram, curve, note FROM generations WHERE id = ?",
            [row_key(run_id, generation)]).fetchone()
        if row is None:
            raise ProjectError(f"{self.path}: run {run_id} has no generation {generation}")
        try:
            return {"model": load_object(row[0], "its model", MAX_MODEL_CHARS),
                    "n_samples": whole_number(row[1], "its sample count", 0, MAX_SAMPLES),
                    "n_stored": whole_number(row[2], "its stored-sample count", 0, MAX_SAMPLES),
                    "histogram": np.frombuffer(_blob(row[3], "its histogram"), dtype="<i4").astype(np.int64),
                    "curve": None if row[4] is None else np.frombuffer(_blob(row[4], "its curve"), dtype="<f4"),
                    "note": None if row[5] is None else _shortened(str(row[5]), 2000)}
        except (ValueError, TypeError) as exc:
            raise DamagedDataError(f"{self.path}: the project file is damaged (run {run_id} generation {generation}: "
                                   f"{exc})") from None

    @reading("reading a histogram")
    def histogram(self, run_id: int, generation: int) -> np.ndarray:
        row = self.db.execute("SELECT histogram FROM generations WHERE id = ?",
                              [row_key(run_id, generation)]).fetchone()
        if row is None:
            raise ProjectError(f"{self.path}: run {run_id} has no generation {generation}")
        if not isinstance(row[0], bytes) or len(row[0]) % 4:
            raise DamagedDataError(f"{self.path}: the histogram of run {run_id} generation {generation} is damaged")
        return np.frombuffer(row[0], dtype="<i4").astype(np.int64)

    @reading("reading histograms")
    def histograms(self, run_id: int, damaged: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(generations, counts matrix generations x bins) of a run. A generation whose counts are not a BLOB of
        the run's bin count (the most common length) is left out and named in `damaged`."""
        rows = self.db.execute(f"SELECT {GENERATION_OF_ID}, histogram FROM generations WHERE id BETWEEN ? AND ? ORDER BY "
                               "id", run_keys(run_id)).fetchall()
        blobs = [r for r in rows if isinstance(r[1], bytes) and len(r[1]) % 4 == 0]
        if blobs:
            width = collections.Counter(len(r[1]) for r in blobs).most_common(1)[0][0]
            blobs = [r for r in blobs if len(r[1]) == width]
        if damaged is not None and len(blobs) < len(rows):
            good = {r[0] for r in blobs}
            damaged.extend(f"run id {run_id} generation {r[0]}: its histogram is damaged" for r in rows
                           if r[0] not in good)
        if not blobs:
            return np.empty(0, dtype=np.int64), np.empty((0, 0), dtype=np.int64)
        gens = np.array([r[0] for r in blobs], dtype=np.int64)
        mat = np.frombuffer(b"".join(r[1] for r in blobs), dtype="<i4").reshape(len(blobs), -1).astype(np.int64)
        return gens, mat

    @reading("reading samples")
    def samples(self, run: RunInfo, generation: int) -> np.ndarray:
        """The stored samples of a generation (all, or the reservoir when over budget): exactly as many as the
        generation says it stored, finite, else a ProjectError saying they are damaged."""
        row = self.db.execute("SELECT s.data, g.n_stored FROM samples AS s LEFT JOIN generations AS g ON g.id = "
                              "s.id WHERE s.id = ?", [row_key(run.id, generation)]).fetchone()
        if row is None:
            raise ProjectError(f"{self.path}: run {run.name!r} has no generation {generation}")
        data, n_stored = row
        per = int(np.prod(run.unit_shape)) if run.unit_shape else 1
        try:
            if not isinstance(data, bytes):
                raise Damaged("they are not a BLOB")
            if isinstance(n_stored, bool) or not isinstance(n_stored, int) or n_stored < 1:
                raise Damaged("the generation does not say how many it stored")
            if len(data) != n_stored * per * run.dtype.itemsize:
                raise Damaged(f"{len(data):,} bytes where {n_stored:,} samples take "
                              f"{n_stored * per * run.dtype.itemsize:,}")
            flat = np.frombuffer(data, dtype=run.dtype)
            if run.dtype.kind == "f" and not np.isfinite(flat).all():
                raise Damaged("some are not finite numbers")
        except Damaged as exc:
            raise DamagedDataError(f"{self.path}: the samples of run {run.name!r} generation {generation} are "
                                   f"damaged ({exc})") from None
        return flat.reshape((-1, *run.unit_shape)) if run.unit_shape else flat

    @reading("reading metrics")
    def metric_names(self, run_id: int) -> list[str]:
        """Names of the metrics a run recorded, in first-seen order (damaged generations are left out)."""
        lo, hi = run_keys(run_id)
        rows = self.db.execute("SELECT metrics FROM generations WHERE id IN (?, ?, (SELECT MAX(id) FROM "
                               "generations WHERE id BETWEEN ? AND ?))", [lo, lo + 1, lo, hi]).fetchall()
        names: dict[str, None] = {}
        for (text,) in rows:
            try:
                names.update(dict.fromkeys(load_object(text, "metrics", MAX_METRICS_CHARS)))
            except Damaged:
                continue
        return list(names)

    @reading("reading metrics")
    def metric_series(self, run_id: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
        """(generations, values) of one metric of one run; generations without it (or damaged) are left out."""
        path = '$."' + metric.replace('"', "") + '"'
        rows = self.db.execute(f"SELECT {GENERATION_OF_ID}, json_extract(metrics, ?) AS v, json_type(metrics, ?) AS t "
                               f"FROM generations WHERE id BETWEEN ? AND ? AND {METRICS_READABLE} AND t IS NOT "
                               "NULL ORDER BY id", [path, path, *run_keys(run_id)]).fetchall()
        gens = np.array([r[0] for r in rows], dtype=np.int64)
        vals = np.array([_from_json_float(r[1]) for r in rows], dtype=np.float64)
        return gens, vals

    @reading("reading metrics")
    def metrics_rows(self, run_ids: Iterable[int], damaged: list[str] | None = None
                     ) -> Iterable[tuple[str, int, int, str, float | None]]:
        """Tidy rows (run name, replicate, generation, metric, value) for export. A generation whose metrics are
        damaged is left out and named in `damaged`; one holding NaN tokens gives NaN."""
        for run_id in run_ids:
            info = self.run(run_id)
            with self._guard(f"reading the metrics of run {info.name!r}"):
                cur = self.db.execute(f"SELECT {GENERATION_OF_ID}, metrics FROM generations WHERE id BETWEEN ? AND ? ORDER BY "
                                      "id", run_keys(run_id))
                for gen, text in cur:
                    try:
                        values = load_object(text, "metrics", MAX_METRICS_CHARS)
                    except Damaged as exc:
                        if damaged is not None:
                            damaged.append(f"run {info.name!r} generation {gen}: {exc}")
                        continue
                    for metric in sorted(values, key=lambda k: k.encode("utf-8", "surrogatepass")):
                        yield info.name, info.replicate, gen, metric, metric_value(values[metric])

    # ---- whole file -----------------------------------------------------------------------------------------
    def save_as(self, target: str | os.PathLike[str]) -> None:
        """Copy the whole project to `target` with SQLite's backup API (consistent even while a run writes)."""
        target = Path(target)
        if target.resolve() == self.path.resolve():
            return
        tmp = target.with_name(target.name + ".partial")
        try:
            dest = sqlite3.connect(str(tmp))
            try:
                self.db.conn.backup(dest)
                dest.execute("PRAGMA journal_mode = DELETE")
            finally:
                dest.close()
            for suffix in ("-wal", "-shm", "-journal"):  # a stale journal beside the target would corrupt the copy
                Path(str(target) + suffix).unlink(missing_ok=True)
            os.replace(tmp, target)
        except sqlite3.Error as exc:
            tmp.unlink(missing_ok=True)
            raise _translate(target, exc, "saving a copy") from None
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ProjectError(f"{target}: cannot save there ({exc.strerror})") from None

    def size_bytes(self) -> int:
        total = 0
        for suffix in ("", "-wal"):
            p = Path(str(self.path) + suffix)
            if p.exists():
                total += p.stat().st_size
        return total

    @reading("measuring the free space in the file")
    def free_bytes(self) -> int:
        """Bytes of the file that deleted runs freed: reused by the next generations written, returned to the
        disk only by a VACUUM."""
        pages = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        size = self.db.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(size)

    @reading("measuring the stored samples")
    def run_sizes(self) -> dict[int, int]:
        """Bytes of stored samples per run."""
        rows = self.db.execute("SELECT id >> 32, SUM(LENGTH(CAST(data AS BLOB))) FROM samples GROUP BY id >> 32"
                               ).fetchall()
        return {r[0]: int(r[1] or 0) for r in rows}

    def enable_wal(self) -> None:
        """WAL while a run writes: readers (the GUI) are not blocked by the writer, and checkpoints run on a
        background thread (core/checkpointer.py) so commits seldom wait for the disk."""
        if not self.readonly:
            with self._guard("switching to WAL"):
                self.db.execute("PRAGMA journal_mode = WAL")
                self.db.execute("PRAGMA synchronous = NORMAL")
                self.db.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
                if not self.background_checkpoints:  # SQLite's own checkpoints, inside this connection's commits
                    self.db.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT_PAGES}")
            if self.background_checkpoints and self._checkpointer is None:
                self._checkpointer = BackgroundCheckpointer(self.path)


def remove_foreign_objects(path: str | os.PathLike[str]) -> list[str]:
    """Remove the triggers, views, indexes and tables a project file holds beyond its format (``main.py
    repair``); returns what was removed. The format's own tables and every run are kept."""
    try:
        Project(path, readonly=True).close()  # a project at all, of a format this version reads
    except UnsafeProjectError:
        pass  # what is removed here
    if not os.access(path, os.W_OK):
        raise ProjectError(f"{path}: the project is read-only, so nothing can be removed from it; copy it to a "
                           "writable folder first")
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        _configure(conn)
        conn.execute("PRAGMA foreign_keys = OFF")  # dropping a table of the file's own deletes nothing else
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            report = inspect_schema(conn, version)  # again, inside the write lock
            if report.changed:
                raise ProjectError(f"{path}: {report.describe()} is not defined as Collapse Lab defines it; "
                                   "removing objects cannot make this file safe")
            remove_foreign(conn, report)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise _translate(Path(path), exc, "removing SQL objects") from None
    finally:
        conn.close()
    return [o.describe() for o in report.foreign]


def encode_record(record: GenerationRecord) -> tuple[str, str, bytes, bytes | None]:
    """A generation's model JSON, metrics JSON, histogram and curve BLOBs, as the store writes them."""
    hist = np.ascontiguousarray(record.histogram, dtype="<i4").tobytes()
    curve = None if record.curve is None else np.ascontiguousarray(record.curve, dtype="<f4").tobytes()
    return _params_json(record.model_params), _metrics_json(record.metrics), hist, curve


def _metrics_json(metrics: dict[str, float]) -> str:
    """Metrics as a JSON object, with non-finite values encoded by ``_json_float``."""
    values = tuple(map(float, metrics.values()))
    if math.isfinite(sum(values)):  # every value finite (an inf or a nan makes the sum inf or nan; so may overflow)
        template = _float_object_template(tuple(metrics))
        if template is not None:
            return template % values
    return json.dumps({k: _json_float(v) for k, v in zip(metrics, values)})


def _params_json(params: dict[str, Any]) -> str:
    """Model parameters as JSON; a flat object of finite floats (most fits) takes the quick path."""
    values = tuple(params.values())
    if all(type(v) is float for v in values) and math.isfinite(sum(values)):
        template = _float_object_template(tuple(params))
        if template is not None:
            return template % values
    return json.dumps(params)


@functools.lru_cache(maxsize=64)
def _float_object_template(keys: tuple[str, ...]) -> str | None:
    """A %-template giving exactly json.dumps' text for an object of these keys with finite float values (JSON
    writes a finite float as Python's repr does); a generation's metrics are stored 5x faster through it. None
    when a key is not text (json.dumps then decides)."""
    if not all(type(k) is str for k in keys):
        return None
    return "{" + ", ".join(json.dumps(k).replace("%", "%%") + ": %r" for k in keys) + "}"


def _json_float(v: float) -> float | str | None:
    """A metric value for JSON: NaN -> null, +-inf -> "inf"/"-inf" (JSON has no infinities)."""
    v = float(v)
    if math.isfinite(v):
        return v
    if math.isnan(v):
        return None
    return "inf" if v > 0 else "-inf"


def _from_json_float(v: float | str | None) -> float:
    if v is None:
        return float("nan")
    if isinstance(v, str):
        return {"inf": float("inf"), "-inf": float("-inf")}.get(v, float("nan"))
    return float(v)


class _Guard:
    """Turns sqlite3 errors inside a block into one clear ProjectError."""

    def __init__(self, project: Project, doing: str) -> None:
        self.project, self.doing = project, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if isinstance(exc, sqlite3.Error):
            raise _translate(self.project.path, exc, self.doing) from None
        return False
