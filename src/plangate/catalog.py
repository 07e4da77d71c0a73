"""The tool catalog: every tool's argument schema and what it does, security-wise.

The reviewer never trusts a tool's name or description; it reasons from these
annotations. `effects` say what kind of change a call makes; `sink` arguments are the
ones that decide where data or money goes (recipients, URLs, paths, commands, amounts);
`output` says who may read what the tool returns and whether an attacker can reach it;
`reads`/`writes`/`executes`/`loads` name the stored resources it touches, including what
it runs implicitly (a test runner executes the workspace, a scheduler loads skill files).
Resource patterns may name arguments: `workspace:{path}`.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from plangate.documents import load_document, validation_message
from plangate.errors import CatalogError
from plangate.labels import PUBLIC, Label, declared_reader

Effect = Literal["read", "write", "egress", "execute", "payment", "delete", "persist"]
EFFECTS: tuple[Effect, ...] = ("read", "write", "egress", "execute", "payment", "delete", "persist")
SinkKind = Literal["recipient", "url", "command", "path", "amount", "account", "target"]
ArgType = Literal["string", "integer", "number", "boolean", "array", "object"]

_NAME = r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$"


class ArgSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ArgType = "string"
    items: ArgType | None = None
    description: str = ""
    sink: SinkKind | None = None
    enum: list[str | int] | None = None
    max_length: int | None = Field(default=None, ge=0)


class OutputSpec(BaseModel):
    """Label of the tool's output. `readers` is a list of principals or `public`;
    `owner` stands for the deployment's owner. `readers_from_data` tells the executor that
    the tool reports exact readers per result (e.g. a file's share list).

    `stored`: the readers are those stored for what the tool reads (its `reads`), e.g. the
    per-row readers a deployment records for its database, met with those who may know
    whether it is there (`resources.call_state`: a store that holds that state, as the
    desk's rows do, or what the deployment publishes); a name it reads that has no stored
    label, or that is a pattern (an argument not known yet), counts as readable by the owner
    only (`resources.call_output_label`). Sound without the deployment's help: a store that
    knows nothing makes the output the owner's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    readers: Literal["public", "stored"] | list[str] = "public"
    untrusted: bool = False
    #: The arguments whose content may reappear in the output. None (the default, sound
    #: when nobody has checked): every argument. A narrower list is a claim that needs a
    #: `reason` and that `plangate catalog verify` confirms with canaries. Either way the
    #: output's *readers* still meet those of every argument: whether the call succeeded,
    #: and so whether there is an output at all, may depend on any of them.
    from_args: list[str] | None = None
    reason: str = ""

    def label(self, tool: str) -> Label:
        # `stored`: public here; what the tool reads narrows it (call_output_label).
        # A name that is not an address is a role, which no destination reads as (`ROLE`).
        readers = (frozenset({PUBLIC}) if self.readers in ("public", "stored")
                   else frozenset(declared_reader(r) for r in self.readers))
        return Label(readers=readers, sources=frozenset({f"tool:{tool}"}),
                     taint="high" if self.untrusted else "none")


#: The label of stored content nobody vouched for: the default of what a tool discloses, and
#: of the output of a tool that reads stored state and says nothing of its output.
UNKNOWN_CONTENT = OutputSpec(readers=["owner"], untrusted=True)


class ToolSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="", pattern=r"^$|" + _NAME)
    description: str = ""
    effects: list[Effect] = Field(default_factory=list)
    args: dict[str, ArgSpec] = Field(default_factory=dict)
    required: list[str] | None = None
    output: OutputSpec = OutputSpec()
    reads: list[str] = Field(default_factory=list)
    writes: list[str] = Field(default_factory=list)
    executes: list[str] = Field(default_factory=list)
    loads: list[str] = Field(default_factory=list)
    #: Stored resources whose content the call sends to its destinations (a forward sends
    #: the message, a share sends the file); their labels join the data-flow check.
    discloses: list[str] = Field(default_factory=list)
    #: Label of disclosed content the store knows nothing about (default: owner-only).
    disclosed: OutputSpec = UNKNOWN_CONTENT
    #: Fixed destinations of an egress tool that has no destination argument
    #: (`owner` for a note to the owner's own chat).
    sends_to: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    #: Why this tool cannot run against a scratch environment for `catalog verify`. Such a
    #: tool is treated as reading every stored resource and echoing every argument.
    unverifiable: str = ""

    @field_validator("args")
    @classmethod
    def _arg_names(cls, value: dict[str, ArgSpec]) -> dict[str, ArgSpec]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$", name):
                raise ValueError(f"argument name {name!r} is not an identifier")
        return value

    @cached_property
    def required_args(self) -> frozenset[str]:
        return frozenset(self.args if self.required is None else self.required)

    @cached_property
    def sink_args(self) -> dict[str, SinkKind]:
        """Arguments that say where something goes or what it acts on: the declared sinks,
        and every other argument that names what the tool writes, runs, loads or discloses
        of what is stored (`target`: the `title` of `memory:{title}`, the `message_id` of
        `mail:{message_id}`), so a policy can ask who chose it (red team round 35: a web
        page named which memory note, skill or message a scheduled run changed)."""
        out: dict[str, SinkKind] = {n: a.sink for n, a in self.args.items() if a.sink is not None}
        for pattern in (*self.writes, *self.executes, *self.loads, *self.discloses):
            for name in re.findall(r"\{([^}]*)\}", pattern):
                if name in self.args and name not in out:
                    out[name] = "target"
        return out

    @cached_property
    def effective_reads(self) -> tuple[str, ...]:
        """What the label rules take the tool to read: its declared `reads`, or every
        stored resource when its annotations cannot be verified."""
        return ("*",) if self.unverifiable else tuple(self.reads)

    @cached_property
    def effective_writes(self) -> tuple[str, ...]:
        """What the label rules take the tool to write: its declared `writes` and what it
        `executes` (code that runs may write whatever it runs over: a test suite, `sort
        --output=`), or every stored resource when its annotations cannot be verified."""
        if self.unverifiable:
            return ("*",)
        return tuple(dict.fromkeys([*self.writes, *self.executes]))

    @cached_property
    def state_patterns(self) -> tuple[str, ...]:
        """The stored resources whose state (what is there) the call's success may depend
        on: what it writes, runs, loads or sends, and what it reads when its output's readers
        are those stored there (`resources.call_state`; any other output of a tool that reads
        is the owner's unless the catalog says whose it is, success and failure alike)."""
        if self.unverifiable:
            return ("*",)
        reads = self.reads if self.output.readers == "stored" else []
        return tuple(dict.fromkeys([*self.effective_writes, *self.loads, *self.discloses, *reads]))

    @cached_property
    def content_args(self) -> frozenset[str]:
        """Arguments whose content may reappear in the output (all unless narrowed)."""
        if self.output.from_args is None or self.unverifiable:
            return frozenset(self.args)
        return frozenset(self.output.from_args)

    @cached_property
    def output_label(self) -> Label:
        """The catalog's label of the output. A tool that reads stored state and says
        nothing of its output returns some of that state: owner-only and untrusted (what it
        reads may have arrived from outside), until its `output` says otherwise."""
        if self.reads and "output" not in self.model_fields_set:
            return UNKNOWN_CONTENT.label(self.name)
        return self.output.label(self.name)

    @cached_property
    def disclosed_label(self) -> Label:
        return self.disclosed.label(self.name)


class Catalog(BaseModel):
    """All tools the agent may name. A plan naming anything else is refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tools: dict[str, ToolSpec]

    def model_post_init(self, __context: Any) -> None:
        for name, spec in self.tools.items():
            if not re.match(_NAME, name):
                raise ValueError(f"tool name {name!r} is not allowed")
            if spec.name and spec.name != name:
                raise ValueError(f"tool {name!r} declares a different name {spec.name!r}")
            object.__setattr__(spec, "name", name)
            if spec.required is not None:
                unknown = set(spec.required) - set(spec.args)
                if unknown:
                    raise ValueError(f"tool {name!r} requires undeclared args {sorted(unknown)}")
            if spec.output.from_args is not None:
                unknown = set(spec.output.from_args) - set(spec.args)
                if unknown:
                    raise ValueError(f"tool {name!r}: output.from_args names undeclared args "
                                     f"{sorted(unknown)}")
                if not spec.output.reason.strip():
                    raise ValueError(f"tool {name!r}: output.from_args narrows what the output "
                                     "depends on and needs a reason")
            if spec.output.readers == "stored" and not spec.reads:
                raise ValueError(f"tool {name!r}: output readers `stored` come from what it reads; "
                                 "it declares no `reads`")
            for pattern in (*spec.reads, *spec.writes, *spec.executes, *spec.loads, *spec.discloses):
                for ref in re.findall(r"\{([^}]*)\}", pattern):
                    if ref not in spec.args:
                        raise ValueError(
                            f"tool {name!r}: resource {pattern!r} names unknown argument {ref!r}"
                        )

    def get(self, name: str) -> ToolSpec | None:
        return self.tools.get(name)

    def merged(self, other: Catalog) -> Catalog:
        clash = set(self.tools) & set(other.tools)
        if clash:
            raise CatalogError(f"tools defined twice: {sorted(clash)}")
        return Catalog(tools={**self.tools, **other.tools})


def parse_catalog(data: Any, *, source: str = "catalog") -> Catalog:
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(validation_message(exc, source=source, data=data)) from None


def load_catalog(path: str | Path) -> Catalog:
    try:
        data = load_document(path)
    except ValueError as exc:
        raise CatalogError(str(exc)) from None
    return parse_catalog(data, source=str(path))


_JSON_TYPES: dict[str, ArgType] = {
    "string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
    "array": "array", "object": "object",
}


def catalog_from_mcp(tools: list[dict[str, Any]],
                     overrides: dict[str, dict[str, Any]] | None = None) -> Catalog:
    """Build a catalog from an MCP `tools/list` result (dicts with `name`, `inputSchema`,
    `annotations`). MCP hints are a starting point only, and only for effects: a tool
    without `readOnlyHint` counts as write+egress, `openWorldHint` adds egress. They are the
    server's word on its effects, never on its data: every tool's output is owner-only and
    untrusted, and it is `unverifiable` (so taken to read and write every stored resource
    and echo every argument) until an override says `unverifiable: ""`. `overrides` (from
    the deployer's catalog file, which `plangate catalog verify` then checks) replace any
    field per tool.
    """
    out: dict[str, Any] = {}
    for tool in tools:
        name = tool.get("name")
        if not isinstance(name, str):
            raise CatalogError("MCP tool without a string name")
        schema = tool.get("inputSchema") or tool.get("input_schema") or {}
        hints = tool.get("annotations") or {}
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        args: dict[str, Any] = {}
        for arg, prop in props.items():
            jtype = prop.get("type", "string") if isinstance(prop, dict) else "string"
            if isinstance(jtype, list):
                jtype = next((t for t in jtype if t != "null"), "string")
            spec: dict[str, Any] = {"type": _JSON_TYPES.get(jtype, "object")}
            if spec["type"] == "array" and isinstance(prop.get("items"), dict):
                spec["items"] = _JSON_TYPES.get(prop["items"].get("type", "string"), "object")
            args[arg] = spec
        read_only = bool(hints.get("readOnlyHint", hints.get("read_only_hint", False)))
        open_world = bool(hints.get("openWorldHint", hints.get("open_world_hint", True)))
        destructive = bool(hints.get("destructiveHint", hints.get("destructive_hint", True)))
        effects: list[str] = ["read"] if read_only else ["write"]
        if destructive and not read_only:
            effects.append("delete")
        if open_world:
            effects.append("egress")
        entry: dict[str, Any] = {
            "description": str(tool.get("description") or "")[:2000],
            "effects": effects,
            "args": args,
            "required": [r for r in schema.get("required", []) if r in args]
            if isinstance(schema, dict) else [],
            "output": {"readers": ["owner"], "untrusted": True},
            "unverifiable": "built from an MCP tool listing: nobody has annotated or verified "
                            "what it reads, writes and returns",
        }
        # An override replaces the fields it names; the tool stays unverifiable until it
        # says `unverifiable: ""` (the deployer annotated it, and `catalog verify` checks).
        entry.update((overrides or {}).get(name, {}))
        out[name] = entry
    return parse_catalog({"tools": out}, source="MCP tool listing")
