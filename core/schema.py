"""The project file's schema, format by format, and the check that a file holds nothing else.

A project file is untrusted input (it may come by mail, with a paper or from a shared folder). SQLite runs SQL
a file carries in three ways: triggers (on the writes the app makes), views (when read through) and
expressions in table and index definitions (defaults, CHECK constraints, generated columns, expression and
partial indexes: on writes, some on reads). ``inspect_schema`` compares every object in ``sqlite_master`` with
what its format defines, word for word; a project is opened for writing only when nothing differs, and never
reads through a view. Objects the format does not define can be removed (``remove_foreign``): triggers, views,
indexes and tables of the user's own, never the format's tables.
"""

from __future__ import annotations

import functools
import sqlite3
from dataclasses import dataclass

from core.untrusted import MAX_METRICS_CHARS

APPLICATION_ID = 0x436C6162  # "Clab"
FORMAT_VERSION = 3

# One row per (run, generation) in `generations` and in `samples`, keyed by id = run_id * 2^32 + generation: the
# row id SQLite stores anyway, so a commit writes one B-tree per table and no separate index (format 1 keyed
# both tables by (run_id, generation), which added two index pages to every commit: 0.03-0.05 ms a generation
# of 10^4 samples, up to a tenth of its cost). A run's rows are the id range [run_id * 2^32, (run_id + 1) * 2^32).
GENERATION_KEY = 1 << 32

# The metrics view as every format-2 and format-3 file holds it (its text is compared word for word when a file
# is opened: it must never change).
_VIEW_VALUE_SQL = ("CASE j.type WHEN 'text' THEN (CASE j.value WHEN 'inf' THEN 9e999 WHEN '-inf' THEN -9e999 END) "
                   "ELSE j.value END")
# A metric's value as the readers take it: a number, the infinities written as text, anything else NULL.
METRICS_VALUE_SQL = ("CASE j.type WHEN 'real' THEN j.value WHEN 'integer' THEN j.value WHEN 'text' THEN (CASE j.value "
                     "WHEN 'inf' THEN 9e999 WHEN '-inf' THEN -9e999 END) END")
# Which generations' metrics the SQL readers take (json_each fails the whole query on one malformed object):
# JSON as Collapse Lab writes it (no NaN tokens, nested at most SQLite's 2000 deep) and of a size it writes.
METRICS_READABLE = (f"length(metrics) <= {MAX_METRICS_CHARS} AND json_valid(metrics) AND json_type(metrics) = "
                    "'object'")
# A generation row's generation, from its key (always an integer, whatever its generation column holds)
GENERATION_OF_ID = "(id & 4294967295)"
METRICS_VIEW = f"""CREATE VIEW metrics AS
    SELECT g.run_id AS run_id, g.generation AS generation, j.key AS metric, {_VIEW_VALUE_SQL} AS value
    FROM generations AS g, json_each(g.metrics) AS j"""

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    group_name TEXT NOT NULL,
    replicate INTEGER NOT NULL,
    scenario TEXT NOT NULL,
    policy TEXT NOT NULL,
    spec TEXT NOT NULL,
    seed INTEGER NOT NULL,
    generations INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    reference TEXT,
    sample_dtype TEXT NOT NULL,
    sample_shape TEXT NOT NULL,
    samples_budget INTEGER NOT NULL,
    versions TEXT NOT NULL,
    writer TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE generations (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    model TEXT NOT NULL,
    n_samples INTEGER NOT NULL,
    n_stored INTEGER NOT NULL,
    histogram BLOB NOT NULL,
    curve BLOB,
    metrics TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    CHECK (id = run_id * 4294967296 + generation AND generation BETWEEN 0 AND 4294967295)
);
CREATE TABLE samples (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    data BLOB NOT NULL,
    CHECK (id = run_id * 4294967296 + generation AND generation BETWEEN 0 AND 4294967295)
);
""" + METRICS_VIEW

# Format 3: sweeps (a grid of settings x replicates). A cell's runs are the runs of its replicate group.
SWEEPS_SCHEMA = """
CREATE TABLE sweeps (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE sweep_cells (
    sweep_id INTEGER NOT NULL REFERENCES sweeps (id),
    cell INTEGER NOT NULL,
    params TEXT NOT NULL,
    group_name TEXT NOT NULL,
    PRIMARY KEY (sweep_id, cell)
);
"""
FORMAT2_SCHEMA = SCHEMA
SCHEMA = FORMAT2_SCHEMA + ";" + SWEEPS_SCHEMA

# Migrations from format N to N+1, applied in order inside one transaction. Format 1 is the first.
MIGRATIONS: dict[int, str] = {
    1: """
DROP VIEW IF EXISTS metrics;
ALTER TABLE generations RENAME TO generations_format1;
ALTER TABLE samples RENAME TO samples_format1;
""" + FORMAT2_SCHEMA[FORMAT2_SCHEMA.index("CREATE TABLE generations ("):] + """;
INSERT INTO generations SELECT run_id * 4294967296 + generation, run_id, generation, model, n_samples, n_stored,
    histogram, curve, metrics, note, created_at FROM generations_format1 ORDER BY run_id, generation;
INSERT INTO samples SELECT run_id * 4294967296 + generation, run_id, generation, data FROM samples_format1
    ORDER BY run_id, generation;
DROP TABLE generations_format1;
DROP TABLE samples_format1;
""",
    2: SWEEPS_SCHEMA,
}


# Format 1 (Collapse Lab 0.1 and 0.2) keyed generations and samples by (run_id, generation); its runs and meta
# tables and its metrics view are those of format 2.
_FORMAT1_TABLES = """
CREATE TABLE generations (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    model TEXT NOT NULL,
    n_samples INTEGER NOT NULL,
    n_stored INTEGER NOT NULL,
    histogram BLOB NOT NULL,
    curve BLOB,
    metrics TEXT NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (run_id, generation)
);
CREATE TABLE samples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, generation)
);
"""
FORMAT1_SCHEMA = (FORMAT2_SCHEMA[:FORMAT2_SCHEMA.index("CREATE TABLE generations (")] + _FORMAT1_TABLES
                  + METRICS_VIEW)
SCHEMAS = {1: FORMAT1_SCHEMA, 2: FORMAT2_SCHEMA, 3: SCHEMA}

# SQLite's own tables, which hold no SQL: statistics that ANALYZE (say, in the sqlite3 shell) writes
INTERNAL_TABLES = frozenset({"sqlite_stat1", "sqlite_stat2", "sqlite_stat3", "sqlite_stat4", "sqlite_sequence"})


def statements(schema: str) -> list[str]:
    """A schema's statements, one by one."""
    return [s for s in schema.split(";") if s.strip()]


def _words(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.split())


@dataclass(frozen=True)
class SchemaObject:
    """One entry of ``sqlite_master``."""

    kind: str  # table, index, view, trigger
    name: str
    table: str

    def describe(self) -> str:
        on = f" on {self.table!r}" if self.kind in ("trigger", "index") and self.table != self.name else ""
        return f"{self.kind} {self.name!r}{on}"


@dataclass
class SchemaReport:
    """What a file's schema holds beyond its format's: objects of its own (``foreign``, removable) and the
    format's own objects defined differently (``changed``, which make the file unsafe to open at all)."""

    foreign: list[SchemaObject]
    changed: list[SchemaObject]

    def describe(self, limit: int = 5) -> str:
        items = [o.describe() for o in self.foreign + self.changed]
        more = f" and {len(items) - limit} more" if len(items) > limit else ""
        return ", ".join(items[:limit]) + more


@functools.cache
def expected_objects(version: int) -> dict[tuple[str, str], tuple[str, str | None]]:
    """(kind, name) -> (table, SQL with its whitespace folded) of every object format `version` defines."""
    conn = sqlite3.connect(":memory:")
    try:
        for stmt in statements(SCHEMAS[version]):
            conn.execute(stmt)
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
    finally:
        conn.close()
    return {(kind, name): (table, _words(sql)) for kind, name, table, sql in rows}


def inspect_schema(conn: sqlite3.Connection, version: int) -> SchemaReport:
    """Compare the schema of an open file of format `version` with what that format defines."""
    expected = expected_objects(version)
    foreign: list[SchemaObject] = []
    changed: list[SchemaObject] = []
    for kind, name, table, sql in conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"):
        obj = SchemaObject(str(kind), str(name), str(table))
        want = expected.get((obj.kind, obj.name))
        if want is None:
            if not (obj.kind == "table" and obj.name in INTERNAL_TABLES):
                foreign.append(obj)
        elif want != (obj.table, _words(sql if sql is None else str(sql))):
            # the format's metrics view (a convenience for the sqlite3 shell; the app never reads it) defined
            # otherwise is the file's own view: removable, and made again as the format defines it
            (foreign if obj.kind == "view" else changed).append(obj)
    return SchemaReport(foreign, changed)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def remove_foreign(conn: sqlite3.Connection, report: SchemaReport) -> None:
    """Drop the file's own triggers, views, indexes and tables, inside the caller's transaction, and make the
    format's metrics view again. Nothing of the format's is touched; nothing the file holds is run (dropping a
    trigger or view does not run it; foreign keys are off on the connection)."""
    order = {"trigger": 0, "view": 1, "index": 2, "table": 3}
    for obj in sorted(report.foreign, key=lambda o: order.get(o.kind, 4)):
        if obj.kind not in order:
            raise ValueError(f"cannot remove {obj.describe()}")
        conn.execute(f"DROP {obj.kind.upper()} IF EXISTS {_quoted(obj.name)}")
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'view' AND name = 'metrics'").fetchone():
        conn.execute(METRICS_VIEW)
