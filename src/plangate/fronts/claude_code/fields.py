"""Fields of a parsed JSON or TOML object, each problem named in one line (`key: what is
wrong`). The hook's two inputs — Claude Code's event and the hook's settings — are read with
these instead of pydantic: the command hook is a process per tool call, and loading pydantic
was most of what was left of its start-up (docs/claude-code.md, "Cost per call")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


class FieldError(ValueError):
    """One field is missing or wrong; the message names it."""


def unknown(data: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse keys outside `known` (a typo in a settings file must not be silently ignored)."""
    extra = sorted(set(data) - set(known))
    if extra:
        raise FieldError(f"{str(extra[0])[:60]}: unknown setting")


def text(data: Mapping[str, Any], key: str, *, required: bool = True, min_len: int = 0,
         max_len: int = 4096, pattern: str | None = None) -> str | None:
    """The string at `key` (None when absent or null and not required)."""
    value = data.get(key)
    if value is None:
        if required:
            raise FieldError(f"{key}: Field required")
        return None
    if not isinstance(value, str):
        raise FieldError(f"{key}: Input should be a valid string")
    if len(value) < min_len:
        raise FieldError(f"{key}: String should have at least {min_len} character{'s' * (min_len != 1)}")
    if len(value) > max_len:
        raise FieldError(f"{key}: String should have at most {max_len} characters")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise FieldError(f"{key}: String should match pattern '{pattern}'")
    return value


def number(data: Mapping[str, Any], key: str, *, default: float | None, gt: float, le: float) -> float | None:
    """The number at `key` in (gt, le]; `default` when absent."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{key}: Input should be a valid number")
    if not gt < value <= le:
        raise FieldError(f"{key}: Input should be greater than {gt:g} and at most {le:g}")
    return float(value)


def strings(data: Mapping[str, Any], key: str) -> list[str]:
    """The list of strings at `key` (empty when absent)."""
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(f"{key}: Input should be a list of strings")
    return list(value)


def mapping(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The JSON object at `key`."""
    value = data.get(key)
    if value is None:
        raise FieldError(f"{key}: Field required")
    if not isinstance(value, dict):
        raise FieldError(f"{key}: Input should be a valid dictionary")
    return value


__all__ = ["FieldError", "mapping", "number", "strings", "text", "unknown"]
