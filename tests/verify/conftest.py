"""Shared helpers: a shipped catalog with some annotations taken away."""

from __future__ import annotations

from typing import Any

from plangate.catalog import Catalog, parse_catalog


def without(catalog: Catalog, tool: str, **changes: Any) -> Catalog:
    """`catalog` with fields of `tool` replaced (e.g. `discloses=[]`)."""
    data = catalog.model_dump(mode="json")
    for entry in data["tools"].values():
        entry.pop("name", None)
    data["tools"][tool].update(changes)
    return parse_catalog(data, source=f"{tool} without {', '.join(changes)}")
