"""Catalogs from a real MCP server (mcp-server-time over stdio) and from saved listings."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from plangate.cli import main

SERVER = shutil.which("mcp-server-time") or str(Path(sys.executable).parent / "mcp-server-time")
pytestmark = pytest.mark.skipif(not Path(SERVER).exists(), reason="mcp-server-time is not installed")


def test_catalog_from_a_live_server_lists_its_tools_with_conservative_effects() -> None:
    """The real server's read-only, closed-world tools become `read` tools with owner-only
    output and their required arguments; a plan using them is reviewed like any other."""
    pytest.importorskip("mcp")
    from plangate.mcp_catalog import catalog_from_server
    from plangate.policy import compile_policy
    from plangate.review import review
    from plangate.trigger import parse_trigger

    catalog = catalog_from_server([SERVER, "--local-timezone", "UTC"])
    assert {"get_current_time", "convert_time"} <= set(catalog.tools)
    spec = catalog.tools["get_current_time"]
    assert spec.effects == ["read"] and spec.required_args == {"timezone"}
    assert spec.output_label.readers == frozenset({"owner"})

    policy = compile_policy({
        "deployment": {"owner": ["me@home.example"],
                       "classes": [{"name": "owner", "principals": ["me@home.example"]}]},
        "rules": [{"id": "owner-reads", "permit": {"classes": ["owner"], "effects": ["read"]},
                   "reason": "the owner may read the time"}],
    }, catalog)
    owner = parse_trigger({"channel": "chat", "principal": "me@home.example",
                           "evidence": {"paired": True}, "payload": "time in Tokyo?"})
    plan = {"steps": [{"id": "t", "tool": "get_current_time",
                       "args": {"timezone": {"literal": "Asia/Tokyo", "origin": "planner"}}}]}
    assert review(owner, plan, policy).verdict == "approve"
    stranger = parse_trigger({"channel": "email", "principal": "eve@evil.example", "payload": "x"})
    assert review(stranger, plan, policy).verdict == "deny"


def test_cli_writes_a_catalog_from_a_saved_listing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without hints a tool counts as write+delete+egress with untrusted output; overrides
    from the deployer replace fields; the written file loads as a catalog."""
    listing = {"tools": [
        {"name": "send_note", "inputSchema": {"type": "object", "properties": {
            "to": {"type": "string"}, "text": {"type": "string"}}, "required": ["to"]}},
        {"name": "lookup", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
         "annotations": {"readOnlyHint": True, "openWorldHint": False}},
    ]}
    (tmp_path / "tools.json").write_text(json.dumps(listing))
    (tmp_path / "over.yaml").write_text("send_note: {args: {to: {type: string, sink: recipient}, text: {}}}\n")
    out = tmp_path / "catalog.yaml"
    assert main(["catalog", "from-mcp", "--listing", str(tmp_path / "tools.json"),
                 "--overrides", str(tmp_path / "over.yaml"), "--out", str(out)]) == 0
    from plangate.catalog import load_catalog

    catalog = load_catalog(out)
    assert set(catalog.tools["send_note"].effects) == {"write", "delete", "egress"}
    assert catalog.tools["send_note"].sink_args == {"to": "recipient"}
    assert catalog.tools["send_note"].output_label.untrusted
    assert catalog.tools["lookup"].effects == ["read"]
    assert main(["catalog", "from-mcp"]) == 2  # neither a listing nor a server
    assert "no MCP server command" in capsys.readouterr().err
