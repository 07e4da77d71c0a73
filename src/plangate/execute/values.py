"""Values at the executor's edges: what an extraction may answer, and how a call's
arguments are written to the audit log (bounded, and digested whole)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from plangate.plan.model import ExtractType

MAX_AUDIT_VALUE = 2000


def extraction_problem(value: Any, type_: ExtractType, choices: Any) -> str | None:
    """Why an extracted value is not of the declared low-capacity type, or None."""
    kind = type_.kind
    if kind == "bool":
        return None if isinstance(value, bool) else "a non-bool"
    if kind == "enum":
        return None if value in (type_.values or []) else "a value outside the enum"
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "a non-number"
        if (type_.min is not None and value < type_.min) or (
                type_.max is not None and value > type_.max):
            return "a number out of range"
        return None
    if kind == "date":
        if not isinstance(value, str):
            return "a non-date"
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return "a string that is not an ISO date"
        return None
    return None if copied_from(value, choices) else "a value not copied from the allowed choices"


_TOKEN_LEFT = r"(?:^|(?<=[\s\"'<>()\[\]{},;:]))"
_TOKEN_RIGHT = r"(?=$|[\s\"'<>()\[\]{},;:!?]|\.(?:\s|$))"


def copied_from(value: Any, choices: Any) -> bool:
    """Whether `value` is copied exactly out of `choices`: equal to it, to an item, key or
    leaf of it, or (for text) a whole piece of it taken verbatim, bounded by whitespace,
    quotes, brackets or punctuation on both sides. A piece cut from inside a word does not
    count: `b@partner.example` is not in `bob@partner.example`."""
    if type(value) is type(choices) and value == choices:
        return True
    if isinstance(value, str) and isinstance(choices, str):
        return bool(value.strip()) and re.search(
            _TOKEN_LEFT + re.escape(value) + _TOKEN_RIGHT, choices) is not None
    if isinstance(choices, Mapping):
        return any(copied_from(value, k) or copied_from(value, v) for k, v in choices.items())
    if isinstance(choices, list | tuple):
        return any(copied_from(value, c) for c in choices)
    return False


def args_digest(values: Mapping[str, Any]) -> str:
    """SHA-256 of the call's exact arguments (canonical JSON; non-JSON values by repr)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def audit_value(value: Any) -> Any:
    """A bounded rendering of a value for the audit log."""
    if isinstance(value, str):
        return value if len(value) <= MAX_AUDIT_VALUE else value[:MAX_AUDIT_VALUE] + "…"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, list):
        return [audit_value(v) for v in value[:50]]
    if isinstance(value, dict):
        return {str(k): audit_value(v) for k, v in list(value.items())[:50]}
    return audit_value(repr(value))
