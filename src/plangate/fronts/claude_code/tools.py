"""Claude Code's tool calls as catalog calls: which input keys the gate sees.

Every key of a tool's input is either *kept* (it becomes a catalog argument, so the grant
binds it exactly), *dropped* with a reason (it only shapes how much of an answer comes
back, never what is touched or sent), or *refused* in a value that changes what the call
does in a way the gate cannot follow. A key the map does not know is refused too: a new
Claude Code release that adds one gets a clear deny until someone decides what it means.
A tool the map does not know (MCP tools, subagents, background shells) is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Refused(ValueError):
    """This call cannot be put to the gate; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class ToolMap:
    keep: tuple[str, ...]
    #: key -> why dropping it cannot widen what the call does
    drop: Mapping[str, str] = field(default_factory=dict)
    #: key -> values it may take (anything else is refused), e.g. run_in_background: false
    only: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    #: the call touches nothing outside the conversation: no grant needed
    conversation_only: bool = False
    #: kept keys that name files (checked by `paths.PathGuard`)
    paths: tuple[str, ...] = ()
    #: kept keys that are glob patterns relative to the call's folder (must stay inside it)
    patterns: tuple[str, ...] = ()
    #: kept keys that are URLs (must be http or https)
    urls: tuple[str, ...] = ()
    #: keys the call must carry (a search names its folder: the default, the session's
    #: current folder, is something the grant does not bind)
    required: tuple[str, ...] = ()
    #: the call writes the files it names; it searches under the folders it names
    writes: bool = False
    searches: bool = False


_SHAPE = "only shapes how much of the answer comes back"

TOOLS: dict[str, ToolMap] = {
    "Bash": ToolMap(keep=("command",),
                    drop={"description": "a label shown to the user", "timeout": "a time limit only"},
                    only={"run_in_background": (False,), "dangerouslyDisableSandbox": (False,)}),
    "Read": ToolMap(keep=("file_path",), drop={"offset": _SHAPE, "limit": _SHAPE, "pages": _SHAPE},
                    paths=("file_path",)),
    "Write": ToolMap(keep=("file_path", "content"), paths=("file_path",), writes=True),
    "Edit": ToolMap(keep=("file_path", "old_string", "new_string", "replace_all"), paths=("file_path",),
                    writes=True),
    "MultiEdit": ToolMap(keep=("file_path", "edits"), paths=("file_path",), writes=True),
    "NotebookEdit": ToolMap(keep=("notebook_path", "new_source", "cell_id", "cell_type", "edit_mode"),
                            paths=("notebook_path",), writes=True),
    "Glob": ToolMap(keep=("pattern", "path"), paths=("path",), patterns=("pattern",), required=("path",),
                    searches=True),
    "Grep": ToolMap(keep=("pattern", "path", "glob", "type"),
                    drop={k: _SHAPE for k in ("output_mode", "-i", "-n", "-A", "-B", "-C", "context",
                                               "multiline", "head_limit", "offset")},
                    paths=("path",), patterns=("glob",), required=("path",), searches=True),
    "WebFetch": ToolMap(keep=("url", "prompt"), urls=("url",), required=("url",)),
    "WebSearch": ToolMap(keep=("query", "allowed_domains", "blocked_domains")),
    "TodoWrite": ToolMap(keep=("todos",), conversation_only=True),
}


@dataclass(frozen=True, slots=True)
class CatalogCall:
    tool: str
    args: dict[str, Any]
    conversation_only: bool
    paths: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    writes: bool = False
    searches: bool = False


def to_catalog_call(tool_name: str, tool_input: Mapping[str, Any]) -> CatalogCall:
    """The catalog call a Claude Code tool call stands for, or `Refused`."""
    spec = TOOLS.get(tool_name)
    if spec is None:
        what = "an MCP tool" if tool_name.startswith("mcp__") else "a tool"
        raise Refused(f"{what} plangate has no catalog entry for: {tool_name[:80]!r} (unknown tools are denied)")
    args: dict[str, Any] = {}
    for key, value in tool_input.items():
        if key in spec.keep:
            if value is not None:
                args[key] = value
        elif key in spec.only:
            if value not in spec.only[key] or type(value) is not type(spec.only[key][0]):
                raise Refused(f"{tool_name}: {key}={str(value)[:40]!r} is not gated (allowed: "
                              f"{', '.join(repr(v) for v in spec.only[key])})")
        elif key not in spec.drop:
            raise Refused(f"{tool_name}: input field {key[:60]!r} is unknown to plangate's map; denied "
                          "until its meaning is reviewed")
    for key in spec.required:
        if key not in args:
            raise Refused(f"{tool_name} names no {'folder' if spec.searches else 'target'} ({key})"
                          + ("; a search names the absolute folder it runs in" if spec.searches else ""))
    for key in spec.paths + spec.patterns + spec.urls:
        if key in args and not isinstance(args[key], str):
            raise Refused(f"{tool_name}: {key} must be a string")
    return CatalogCall(tool=tool_name, args=args, conversation_only=spec.conversation_only,
                       paths=tuple(args[k] for k in spec.paths if k in args),
                       patterns=tuple(args[k] for k in spec.patterns if k in args),
                       urls=tuple(args[k] for k in spec.urls if k in args),
                       writes=spec.writes, searches=spec.searches)


__all__ = ["TOOLS", "CatalogCall", "Refused", "ToolMap", "to_catalog_call"]
