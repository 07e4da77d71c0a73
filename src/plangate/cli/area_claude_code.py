"""Command line of the claude_code area (being built)."""

from __future__ import annotations

from typing import Any


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    """Add this area's commands (none yet)."""
