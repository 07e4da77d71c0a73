"""Red team of the gateway's argument check: a granted `fs__read_text_file` of the owner's
notes with `head: 1`, and a hijacked agent that sends the same call spelled otherwise,
hoping the gateway and the upstream read it differently: coerced types, an explicit null
for an optional key, the same file by another name (relative, `./`, `//`, `~`-free alias,
Unicode-decomposed), a trailing slash, a key in another case. Each is refused before the
upstream; only the exact call runs, and the audit log holds one call."""

from __future__ import annotations

import unicodedata
from typing import Any

import anyio

from fronts_mcp.conftest import World, gateway, lit, plan, text


def _variants(path: str) -> list[dict[str, Any]]:
    folder, _, name = path.rpartition("/")
    return [
        {"path": path, "head": "1"},
        {"path": path, "head": 1.0},
        {"path": path, "head": True},
        {"path": path, "head": 1, "tail": None},
        {"path": name, "head": 1},
        {"path": f"{folder}/./{name}", "head": 1},
        {"path": f"{folder}//{name}", "head": 1},
        {"path": unicodedata.normalize("NFD", path.replace("notes", "nötes")), "head": 1},
        {"path": path + "/", "head": 1},
        {"Path": path, "head": 1},
        {"path": [path], "head": 1},
        {"path": {"path": path}, "head": 1},
    ]


def test_the_granted_call_spelled_otherwise_is_refused(world: World) -> None:
    notes = f"{world.ws}/notes.txt"
    granted = plan("notes", {"id": "read", "tool": "fs__read_text_file",
                             "args": {"path": lit(notes), "head": lit(1)}})

    async def go() -> list[str]:
        refused: list[str] = []
        async with gateway(world.config) as c:
            r = await c.call_tool("submit_plan", {"plan": granted})
            assert r.structured_content["verdict"] == "approve", text(r)
            for args in _variants(notes):
                r = await c.call_tool("fs__read_text_file", args)
                assert r.is_error and "nothing was forwarded" in text(r), (args, text(r))
                refused.append(text(r))
            r = await c.call_tool("fs__read_text_file", {"head": 1, "path": notes})  # key order
            assert not r.is_error and "Meeting with Bob" in text(r), text(r)
        return refused

    refused = anyio.run(go)
    assert len(refused) == len(_variants(notes))
    assert [c["tool"] for c in world.events("call")] == ["fs__read_text_file"]
    assert len(world.events("mcp_refused")) == len(refused)
