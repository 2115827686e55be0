"""Typed parameter schemas: the single source the CLI options and the GUI form are generated from."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class ParamError(ValueError):
    """A parameter value that is unknown, of the wrong type or out of range; the message is user-facing.

    `param` names the setting to fix (a schema name, or generations / samples / seed) when the message is about
    one, so a form can mark that field.
    """

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


_KINDS = ("int", "float", "bool", "choice", "str", "path")


@dataclass(frozen=True)
class Param:
    """One named, typed parameter with its default, allowed range and help text.

    `name` is the schema name (the command line's ``--set name=value``, the stored run's key); `label` is the
    same setting in words for a form ("vocabulary size" for vocab_size), lower case but for proper names.
    """

    name: str
    kind: str
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    # Open bounds: a value equal to minimum/maximum is refused.
    exclusive_min: bool = False
    exclusive_max: bool = False
    # The setting in words for a form's label; empty = the name.
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        if self.kind == "choice" and self.default not in self.choices:
            raise ValueError(f"default of {self.name} is not among its choices")

    def range_text(self) -> str:
        """Human-readable allowed values, e.g. '[0, 1]' or 'one of: fresh, fixed'."""
        if self.kind == "choice":
            return "one of: " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.minimum is None and self.maximum is None:
            return "any value" if self.kind != "str" else "text"
        lo = "-inf" if self.minimum is None else _fmt(self.minimum)
        hi = "inf" if self.maximum is None else _fmt(self.maximum)
        left = "(" if self.exclusive_min or self.minimum is None else "["
        right = ")" if self.exclusive_max or self.maximum is None else "]"
        return f"{left}{lo}, {hi}{right}"

    def parse(self, text: str) -> Any:
        """Convert command-line text to a validated value."""
        text = text.strip()
        try:
            if self.kind == "int":
                value: Any = int(text)
            elif self.kind == "float":
                value = float(text)
            elif self.kind == "bool":
                low = text.lower()
                if low not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                    raise ValueError
                value = low in ("true", "1", "yes", "on")
            else:
                value = text
        except ValueError:
            raise ParamError(f"{self.name} must be {_article(self.kind)}, got {text!r}", param=self.name) from None
        return self.validate(value)

    def validate(self, value: Any) -> Any:
        """Check a Python value against type and range; return it normalised."""
        if self.kind == "int":
            if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                    or float(value) != int(value)):
                raise ParamError(f"{self.name} must be a whole number, got {value!r}", param=self.name)
            value = int(value)
        elif self.kind == "float":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ParamError(f"{self.name} must be a number, got {value!r}", param=self.name)
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"{self.name} must be a finite number, got {value!r}", param=self.name)
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(f"{self.name} must be true or false, got {value!r}", param=self.name)
        elif self.kind == "choice":
            if value not in self.choices:
                raise ParamError(f"{self.name} must be {self.range_text()}, got {value!r}", param=self.name)
        elif not isinstance(value, str):
            raise ParamError(f"{self.name} must be text, got {value!r}", param=self.name)
        elif self.kind == "path" and value.strip():
            # stored absolute, so a run resumes from any working directory
            value = os.path.abspath(os.path.expanduser(value.strip()))
        if self.kind in ("int", "float"):
            too_low = self.minimum is not None and (
                value < self.minimum or (self.exclusive_min and value == self.minimum)
            )
            too_high = self.maximum is not None and (
                value > self.maximum or (self.exclusive_max and value == self.maximum)
            )
            if too_low or too_high:
                raise ParamError(f"{self.name} must be in {self.range_text()}, got {_fmt(value)}", param=self.name)
        return value


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


def _article(kind: str) -> str:
    return {"int": "a whole number", "float": "a number", "bool": "true or false"}.get(kind, "text")


def resolve(schema: Iterable[Param], given: Mapping[str, Any], *, where: str = "") -> dict[str, Any]:
    """Defaults overlaid with validated given values; unknown names raise ParamError."""
    by_name = {p.name: p for p in schema}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        known = ", ".join(by_name) or "none"
        raise ParamError(f"unknown parameter {unknown[0]!r}{' for ' + where if where else ''} (known: {known})")
    out = {p.name: p.default for p in by_name.values()}
    for name, value in given.items():
        p = by_name[name]
        out[name] = p.parse(value) if isinstance(value, str) and p.kind not in ("str", "path") else p.validate(value)
    return out


def lookup(registry: Mapping[str, Any], kind: str, name: str) -> Any:
    """registry[name], or a ParamError naming the known entries of this kind."""
    try:
        return registry[name]
    except KeyError:
        raise ParamError(f"unknown {kind} {name!r} (known: {', '.join(registry)})") from None


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split 'key=value' strings; a missing '=' raises ParamError."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParamError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value
    return out
