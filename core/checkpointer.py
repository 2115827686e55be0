"""A background WAL checkpointer: a writing project's committed pages are copied into the file off the writer.

In WAL mode every commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into the
project file and syncs both to disk. SQLite's own automatic checkpoint runs inside a commit every 1,000
pages (4 MB), so the run that commits waits for the copy and the disk flush: for quick generations that is
a large part of the time a generation takes. Here a second connection on its own thread checkpoints every
``interval`` seconds (PASSIVE: it never blocks the writer or readers, and sqlite3 releases the GIL while it
works), so the copying and flushing overlap the next generations' computing.

A PASSIVE checkpoint copies what was committed when it started, and the WAL can only start over when
everything in it has been copied; a writer that never pauses keeps adding pages, so the writer still runs a
checkpoint of its own every ``BACKSTOP_PAGES`` (16 MB), which restarts the WAL. Because the thread has copied
almost everything by then, that commit waits for little (about 20 ms at most measured here, against 100 ms
and more with a slower background thread). Every writable connection of a project uses the same backstop, so
a small edit from the GUI during a run never does the copying on the GUI thread.

What a crash can cost: a killed process loses nothing committed (the WAL is replayed on the next open); a
power cut may roll back what was committed since the last background round began (its first step syncs the
whole WAL to disk), about ``interval`` plus one round: a fraction of a second on a local disk.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

INTERVAL_S = 0.05
BACKSTOP_PAGES = 4096  # the writer checkpoints by itself past 16 MB of WAL (4 KiB pages)
JOURNAL_SIZE_LIMIT = 16 * 2**20  # a WAL file that grew larger is cut back to this when it restarts
SQLITE_AUTOCHECKPOINT_PAGES = 1000  # SQLite's default, for a writer without this thread

log = logging.getLogger("collapse_lab.checkpointer")


class BackgroundCheckpointer:
    """Checkpoints one project file's WAL on a daemon thread until stopped."""

    def __init__(self, path: Path, interval: float = INTERVAL_S) -> None:
        self.path, self.interval = Path(path), interval
        self._stop = threading.Event()
        self._con: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # guards _con between the thread closing it and stop() interrupting it
        self._thread = threading.Thread(target=self._loop, name=f"checkpoint {self.path.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            # mode=rw: never creates a file. absolute(), not resolve(): a mapped network drive stays a drive.
            con = sqlite3.connect(self.path.absolute().as_uri() + "?mode=rw", uri=True, check_same_thread=False)
        except Exception as exc:  # the writer's own backstop checkpoints take over
            log.warning("background checkpoints are off for %s: %s", self.path, exc)
            return
        with self._lock:
            self._con = con
        try:
            con.execute("PRAGMA busy_timeout = 0")  # never wait for a lock: the next round tries again
            while not self._stop.wait(self.interval):
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy, interrupted, or the disk is full: the writer's own commit reports that clearly
        except Exception as exc:  # never into the application's excepthook: the backstop takes over
            log.warning("background checkpoints stopped for %s: %s", self.path, exc)
        finally:
            with self._lock:
                self._con = None
                con.close()

    def stop(self) -> None:
        """Stop the thread; a round still copying after a few seconds (a slow disk) is interrupted, which is
        safe: the pages not yet copied stay in the WAL for the next checkpoint."""
        self._stop.set()
        self._thread.join(timeout=5)
        if self._thread.is_alive():
            with self._lock:
                if self._con is not None:
                    self._con.interrupt()
            self._thread.join()
