"""The approvals page (filled in below)."""

from __future__ import annotations

from typing import Any


def add_page(app: Any) -> None:
    return None
