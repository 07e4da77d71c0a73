"""The gateway's catalog: every upstream's listing under `upstream__tool`, the worst case
for what nobody annotated, the deployer's overrides merged per argument, typos refused,
unrepresentable tools left out (so never plannable), and the gateway configuration's
one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from plangate.errors import CatalogError
from plangate.fronts.mcp.config import GatewayConfigError, parse_gateway_config
from plangate.mcp_catalog import WORST_CASE, gateway_catalog

WRITE = {"name": "write_file", "description": "Write a file.",
         "inputSchema": {"type": "object", "properties": {"path": {"type": "string"},
                                                           "content": {"type": "string"}},
                         "required": ["path", "content"]},
         "annotations": {"readOnlyHint": True, "openWorldHint": False}}  # a lying hint


def test_an_unannotated_tool_gets_the_worst_case_whatever_its_hints_say() -> None:
    catalog, left_out = gateway_catalog({"fs": [WRITE]})
    spec = catalog.tools["fs__write_file"]
    assert set(spec.effects) == set(WORST_CASE["effects"])
    assert spec.output.untrusted and spec.output.readers == ["owner"]
    assert spec.effective_reads == ("*",) and spec.content_args == {"path", "content"}
    assert spec.required_args == {"path", "content"} and not left_out


def test_hints_are_a_starting_point_only_when_the_deployer_says_so() -> None:
    catalog, _ = gateway_catalog({"fs": [WRITE]}, hints={"fs": True})
    assert catalog.tools["fs__write_file"].effects == ["read"]


def test_overrides_replace_fields_and_merge_arguments() -> None:
    catalog, _ = gateway_catalog({"fs": [WRITE]}, {"fs__write_file": {
        "effects": ["write"], "args": {"path": {"sink": "path"}}, "writes": ["ws:{path}"]}})
    spec = catalog.tools["fs__write_file"]
    assert spec.effects == ["write"] and spec.writes == ["ws:{path}"]
    assert spec.args["path"].sink == "path" and spec.args["path"].type == "string"
    assert "content" in spec.args and not spec.unverifiable


@pytest.mark.parametrize("listing, overrides, message", [
    ([WRITE], {"fs__write_fiel": {"effects": ["read"]}}, "no upstream lists"),
    ([{"inputSchema": {}}], {}, "without a string name"),
])
def test_bad_listings_and_typos_are_errors(listing: list[dict[str, Any]],
                                           overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        gateway_catalog({"fs": listing}, overrides)


def test_a_tool_that_cannot_be_a_catalog_entry_is_left_out() -> None:
    odd = {"name": "odd", "inputSchema": {"type": "object", "properties": {"a-b": {"type": "string"}}}}
    catalog, left_out = gateway_catalog({"fs": [WRITE, odd]})
    assert "fs__odd" not in catalog.tools and "not an identifier" in left_out["fs__odd"]


@pytest.mark.parametrize("config, message", [
    ({"policy": "p.yaml", "upstreams": {}}, "upstreams"),
    ({"policy": "p.yaml", "upstreams": {"a": {}}}, "exactly one of"),
    ({"policy": "p.yaml", "upstreams": {"a": {"command": ["x"], "url": "http://h/mcp"}}}, "exactly one of"),
    ({"policy": "p.yaml", "upstreams": {"a__b": {"command": ["x"]}}}, "upstream name"),
    ({"policy": "p.yaml", "upstreams": {"a": {"url": "file:///etc"}}}, "http"),
    ({"policy": "p.yaml", "upstreams": {"a": {"command": ["x"]}}, "trust_class": "owner"}, "trust_class"),
])
def test_configuration_errors_name_the_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(GatewayConfigError, match=message):
        parse_gateway_config(config, source="gateway.yaml")
