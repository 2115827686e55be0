"""A background WAL checkpointer: a writing project's committed pages are copied into the file off the writer.

In WAL mode every commit appends pages to the ``-wal`` file; a *checkpoint* copies them back into the
project file and syncs both to disk. SQLite's own automatic checkpoint runs inside a commit every 1,000
pages (4 MB), so the run that commits waits for the copy and the disk flush: for quick generations that is
most of the time a generation takes. Here a second connection on its own thread checkpoints about every
``interval`` seconds instead (PASSIVE: it never blocks the writer or readers, and sqlite3 releases the GIL
while it works), so the disk flush overlaps the next generations' computing.

What a crash can cost is unchanged or bounded: a killed process loses nothing committed (the WAL is replayed
on the next open); a power cut may roll back what was committed since the last checkpoint, about
``interval`` seconds of generations. The writer keeps a large automatic checkpoint (``BACKSTOP_PAGES``) in
case this thread falls behind, so the WAL stays bounded whatever happens here.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

INTERVAL_S = 0.5
BACKSTOP_PAGES = 16384  # the writer checkpoints by itself past 64 MB of WAL (4 KiB pages)
JOURNAL_SIZE_LIMIT = 64 * 2**20  # a WAL file that grew larger is cut back to this when it restarts


class BackgroundCheckpointer:
    """Checkpoints one project file's WAL on a daemon thread until stopped."""

    def __init__(self, path: Path, interval: float = INTERVAL_S) -> None:
        self.path, self.interval = path, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"checkpoint {path.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            con = sqlite3.connect(self.path.resolve().as_uri() + "?mode=rw", uri=True)  # never creates a file
        except sqlite3.Error:
            return  # the writer's backstop checkpoints take over
        try:
            con.execute("PRAGMA busy_timeout = 0")  # never wait for a lock: the next round tries again
            while not self._stop.wait(self.interval):
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    pass  # busy, or the disk is full: the writer's own commit reports that clearly
        finally:
            con.close()

    def stop(self) -> None:
        """Stop after the checkpoint in progress, if any (it is safe to interrupt, but cheaper to finish)."""
        self._stop.set()
        self._thread.join(timeout=30)
