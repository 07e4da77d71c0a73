"""A hook decision as a value. No imports: the watchdog and the entry point need it before
anything heavy is loaded (`entry.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Literal["allow", "deny", "none"]   # "none": a post event, nothing to decide
    reason: str


def deny(reason: str) -> Verdict:
    """A deny whose reason is one line of at most ~500 characters."""
    return Verdict("deny", "plangate: " + " ".join(reason.split())[:500])


__all__ = ["Verdict", "deny"]
