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


def _numbers(v: Any, what: str, minimum: int = 0, increasing: bool = False) -> None:
    if not isinstance(v, list) or len(v) < minimum or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in v):
        raise Damaged(f"{what} is not a list of {f'at least {minimum} ' if minimum else ''}finite numbers")
    if increasing and any(b <= a for a, b in zip(v, v[1:])):
        raise Damaged(f"{what} is not increasing")


def _texts(v: Any, what: str) -> None:
    if not isinstance(v, list) or not all(isinstance(x, str) and len(x) <= 1000 for x in v):
        raise Damaged(f"{what} is not a list of names")


def check_reference(ref: dict[str, Any]) -> dict[str, Any]:
    """A run's stored reference (bins, grids, vocabulary...) with the shape the views and exports read."""
    bins = ref.get("bins")
    if bins is not None:
        if not isinstance(bins, dict):
            raise Damaged("its bins are not an object")
        kind = bins.get("kind")
        if kind == "1d":
            _numbers(bins.get("edges"), "its bin edges", 2, increasing=True)
        elif kind == "2d":
            _numbers(bins.get("x_edges"), "its x bin edges", 2, increasing=True)
            _numbers(bins.get("y_edges"), "its y bin edges", 2, increasing=True)
        elif kind == "categories":
            _texts(bins.get("labels"), "its category labels")
        else:
            raise Damaged(f"its bins are of an unknown kind {str(kind)[:20]!r}")
    for key in ("grid", "real_probs", "true_w", "real_class_shares"):
        if key in ref:
            _numbers(ref[key], f"its {key}")
    if "grid2d" in ref:
        g = ref["grid2d"]
        if not isinstance(g, dict):
            raise Damaged("its grid2d is not an object")
        _numbers(g.get("x"), "its grid2d x", 2)
        _numbers(g.get("y"), "its grid2d y", 2)
    if "vocab" in ref:
        _texts(ref["vocab"], "its vocabulary")
    if "image_shape" in ref:
        s = ref["image_shape"]
        if not (isinstance(s, list) and len(s) == 2 and all(type(n) is int and 1 <= n <= 4096 for n in s)):
            raise Damaged("its image shape is not two positive whole numbers")
    for key in ("pixel_max", "real_std", "p1", "p99", "noise"):
        if key in ref and (isinstance(ref[key], bool) or not isinstance(ref[key], int | float)
                           or not math.isfinite(ref[key])):
            raise Damaged(f"its {key} is not a finite number")
    if "real_mean" in ref:
        m = ref["real_mean"]
        if isinstance(m, list):
            _numbers(m, "its real_mean")
        elif isinstance(m, bool) or not isinstance(m, int | float) or not math.isfinite(m):
            raise Damaged("its real_mean is not a finite number")
    return ref
