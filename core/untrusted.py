"""Reading values from a project file without believing them: bounded JSON and checked shapes.

Every text a project file holds may be damaged or crafted: nested 100,000 deep, megabytes long, holding NaN
tokens or the wrong types. These readers bound the size before parsing, turn every way parsing can fail into
one ``Damaged`` error naming what was read, and check the type of what comes out.
"""

from __future__ import annotations

import json
import math
from typing import Any

# Upper bounds of what Collapse Lab writes, with room to spare. A run's spec, reference (bins and grids) and
# versions are a few KB; a generation's metrics about 1 KB (a few dozen names); a model's parameters up to a
# few MB (a KDE or n-gram model lists its points or counts).
MAX_SPEC_CHARS = 1 << 20
MAX_REFERENCE_CHARS = 16 << 20
MAX_METRICS_CHARS = 64 << 10
MAX_MODEL_CHARS = 256 << 20
MAX_SMALL_CHARS = 64 << 10  # a sample shape, library versions, a sweep cell's values


class Damaged(ValueError):
    """A stored value that cannot be what Collapse Lab wrote; the message says which and why."""


def load_json(text: Any, what: str, limit: int) -> Any:
    """Parse stored JSON text of at most `limit` characters (NaN and Infinity tokens read as floats)."""
    if isinstance(text, bytes | bytearray | memoryview):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise Damaged(f"{what} is not text") from None
    if not isinstance(text, str):
        raise Damaged(f"{what} is not text (found {type(text).__name__})")
    if len(text) > limit:
        raise Damaged(f"{what} is {len(text):,} characters long, more than Collapse Lab writes ({limit:,})")
    try:
        return json.loads(text)
    except RecursionError:  # the C parser checks its depth: nested deeper than Python's recursion limit
        raise Damaged(f"{what} is nested too deep to be what Collapse Lab writes") from None
    except ValueError as exc:
        raise Damaged(f"{what} is not valid JSON ({str(exc)[:80]})") from None


def load_object(text: Any, what: str, limit: int) -> dict[str, Any]:
    """Stored JSON that must be an object with text keys."""
    value = load_json(text, what, limit)
    if not isinstance(value, dict):
        raise Damaged(f"{what} is not a JSON object")
    return value


def metric_value(v: Any) -> float | None:
    """A stored metric value as the store writes it (a number, null for NaN, "inf"/"-inf"), or None."""
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, int | float):
        return float(v)
    if v == "inf":
        return math.inf
    if v == "-inf":
        return -math.inf
    return None


def whole_number(v: Any, what: str, low: int, high: int) -> int:
    """A stored whole number within [low, high]."""
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
        raise Damaged(f"{what} must be a whole number in [{low:,}, {high:,}], found {str(v)[:40]!r}")
    return v


def text_value(v: Any, what: str, limit: int = 1000) -> str:
    """Stored text of at most `limit` characters."""
    if not isinstance(v, str):
        raise Damaged(f"{what} must be text, found {type(v).__name__}")
    if len(v) > limit:
        raise Damaged(f"{what} is {len(v):,} characters long (at most {limit:,})")
    return v
