"""Tool catalog: loading, validation, and building one from an MCP tool listing."""

from __future__ import annotations

import pytest

from plangate.catalog import catalog_from_mcp, load_catalog, parse_catalog
from plangate.errors import CatalogError
from plangate.labels import PUBLIC

from .conftest import CATALOG_PATH


def test_example_catalog_loads_with_annotations() -> None:
    """The example catalog loads; sinks, labels and resources are read from annotations."""
    cat = load_catalog(CATALOG_PATH)
    send = cat.tools["send_email"]
    assert send.name == "send_email"
    assert send.sink_args == {"to": "recipient"}
    assert send.output_label.is_public
    inbox = cat.tools["read_inbox"]
    assert inbox.output_label.readers == frozenset({"owner"}) and inbox.output_label.untrusted
    assert inbox.required_args == frozenset()
    assert cat.tools["run_tests"].executes == ["workspace:*"]
    assert cat.tools["pay"].sink_args == {"account": "account", "amount": "amount"}


def test_required_defaults_to_every_argument() -> None:
    """Without `required`, every declared argument is required."""
    cat = parse_catalog({"tools": {"t": {"args": {"a": {}, "b": {"type": "integer"}}}}})
    assert cat.tools["t"].required_args == frozenset({"a", "b"})
    assert cat.tools["t"].output_label.readers == frozenset({PUBLIC})


@pytest.mark.parametrize(("tools", "message"), [
    ({"bad name!": {}}, "bad name!"),
    ({"9starts_with_digit": {}}, "9starts_with_digit"),
    ({"t": {"name": "other"}}, "different name"),
    ({"t": {"args": {"a-b": {}}}}, "not an identifier"),
    ({"t": {"args": {"a": {}}, "required": ["b"]}}, "undeclared args"),
    ({"t": {"args": {"a": {}}, "writes": ["ws:{path}"]}}, "unknown argument 'path'"),
    ({"t": {"args": {}, "discloses": ["mail:{id}"]}}, "unknown argument 'id'"),
    ({"t": {"effects": ["teleport"]}}, "effects"),
    ({"t": {"args": {"a": {"type": "blob"}}}}, "type"),
    ({"t": {"args": {"a": {"sink": "nowhere"}}}}, "sink"),
    ({"t": {"surprise": True}}, "surprise"),
])
def test_bad_catalogs_are_refused_by_name(tools: dict[str, object], message: str) -> None:
    """A malformed catalog raises CatalogError naming the tool, argument or field."""
    with pytest.raises(CatalogError, match="catalog") as info:
        parse_catalog({"tools": tools})
    assert message in str(info.value)


def test_catalog_file_errors_name_file_and_line(tmp_path) -> None:
    """A bad catalog file names the file and line of the bad field."""
    path = tmp_path / "cat.yaml"
    path.write_text("tools:\n  t:\n    effects: [read]\n    args:\n      a: {type: blob}\n")
    with pytest.raises(CatalogError, match=r"cat\.yaml:5: tools\.t\.args\.a\.type"):
        load_catalog(path)


def test_merged_refuses_duplicate_tools() -> None:
    """Two catalogs defining the same tool do not silently merge."""
    a = parse_catalog({"tools": {"t": {}}})
    with pytest.raises(CatalogError, match="defined twice"):
        a.merged(parse_catalog({"tools": {"t": {}}}))
    assert set(a.merged(parse_catalog({"tools": {"u": {}}})).tools) == {"t", "u"}


def test_catalog_from_mcp_maps_annotations() -> None:
    """MCP hints are a starting point for effects: read-only stays read; anything else
    writes, deletes unless told otherwise, and open-world tools egress. They say nothing of
    data: every output is untrusted and owner-only, and a tool the deployer did not
    annotate is unverifiable (it reads and writes everything, round 20)."""
    listing = [
        {"name": "search", "inputSchema": {"type": "object", "properties": {
            "q": {"type": "string"}, "limit": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["q", "ghost"]},
         "annotations": {"readOnlyHint": True, "openWorldHint": False}},
        {"name": "fetch_url", "inputSchema": {"properties": {"url": {"type": "string"}}},
         "annotations": {"readOnlyHint": True, "openWorldHint": True}},
        {"name": "rm", "inputSchema": {"properties": {"path": {"type": "string"}}},
         "annotations": {"destructiveHint": True, "openWorldHint": False}},
        {"name": "unannotated", "inputSchema": {}},
    ]
    cat = catalog_from_mcp(listing, overrides={
        "fetch_url": {"args": {"url": {"type": "string", "sink": "url"}}, "unverifiable": ""},
        "rm": {"args": {"path": {"type": "string", "sink": "path"}}}})
    search = cat.tools["search"]
    assert search.effects == ["read"]
    assert search.args["limit"].type == "integer"
    assert search.args["tags"].type == "array" and search.args["tags"].items == "string"
    assert search.required_args == frozenset({"q"})  # unknown required names are dropped
    assert search.output_label.untrusted and search.output_label.readers == frozenset({"owner"})
    assert search.effective_reads == ("*",) and search.effective_writes == ("*",)
    fetch = cat.tools["fetch_url"]
    assert fetch.effects == ["read", "egress"] and fetch.output_label.untrusted
    assert not fetch.unverifiable  # the deployer's override says it is annotated
    # An override that only marks a sink keeps the worst case: it writes everything.
    assert cat.tools["rm"].unverifiable and cat.tools["rm"].effective_writes == ("*",)
    assert fetch.sink_args == {"url": "url"}
    assert cat.tools["rm"].effects == ["write", "delete"]
    # No hints at all: the worst case (write, delete, egress; untrusted output).
    assert cat.tools["unannotated"].effects == ["write", "delete", "egress"]
    assert cat.tools["unannotated"].output_label.readers == frozenset({"owner"})


def test_catalog_from_mcp_bad_listing() -> None:
    """An MCP tool without a string name, or with an unusable name, is a CatalogError."""
    with pytest.raises(CatalogError, match="string name"):
        catalog_from_mcp([{"inputSchema": {}}])
    with pytest.raises(CatalogError, match="not allowed"):
        catalog_from_mcp([{"name": "rm -rf /"}])
