"""The few database operations the project store needs, on a plain sqlite3 connection.

(sqlite-utils, which the store used before, costs 43 ms to import (click, dateutil, pluggy): more than half of
what `main.py info` may take in all; the store used only execute, nested transactions and the table list.)
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

_savepoints = itertools.count()


class Database:
    """A sqlite3 connection with ``execute`` and ``atomic`` (a transaction; nested ones are savepoints).

    The connection is in autocommit mode (``isolation_level=None``): a statement outside ``atomic`` is committed
    at once, and only ``atomic`` opens transactions.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    def table_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    @contextlib.contextmanager
    def atomic(self, immediate: bool = False) -> Iterator[Database]:
        """Commit the block's changes together, or roll them back when it raises (nested blocks: savepoints).
        ``immediate`` takes the write lock at once, so what the block reads cannot change before it writes."""
        if self.conn.in_transaction:
            name = f"sp_{next(_savepoints)}"
            self.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # an error may already have ended the whole transaction
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:  # e.g. the disk filled up while committing: leave no transaction open
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
