"""The seams: small protocols for what lives outside the core (tools, models, audit).

The executor calls tools through `ToolRuntime` (in process, another process, an MCP
server), asks a quarantined model through `Extractor`, and records through `AuditSink`.
Keeping these small lets storage, clock, model client and tool invocation change
without touching review or execution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from plangate.labels import Label
from plangate.plan.model import ExtractType


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's output; `label` refines the catalog's output label when the tool knows
    more (e.g. the exact readers of a file). It can only add readers the data has."""

    value: Any
    label: Label | None = None


class ToolRuntime(Protocol):
    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        """Run one tool call. Raise any exception to report failure."""


class Extractor(Protocol):
    def extract(self, source: Any, type: ExtractType, question: str) -> Any:
        """Turn untrusted `source` into a value of `type`. Has no tools."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnerQuestion:
    """What the owner is asked when a decision escalates: the exact call (or plan), the
    rules that asked, and a plain account of what will happen."""

    run_id: str
    step: str | None
    tool: str | None
    args: Mapping[str, Any]
    rules: tuple[str, ...]
    reasons: Mapping[str, str]
    summary: str


class OwnerApprover(Protocol):
    """A synchronous channel to the owner (chat, push, a test's script). Only the
    deployment configures one; nothing the agent sends can reach it."""

    def approve(self, question: OwnerQuestion) -> bool:
        """True only for an explicit yes; anything else (no, timeout, error) is a no."""


class AuditSink(Protocol):
    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int:
        """Durably record one event; raise `AuditError` if it cannot."""


class FunctionTools:
    """A `ToolRuntime` over plain Python callables, keyed by tool name."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]]) -> None:
        self._functions = dict(functions)

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        fn = self._functions.get(tool)
        if fn is None:
            raise LookupError(f"no implementation for tool {tool!r}")
        out = fn(**args)
        return out if isinstance(out, ToolResult) else ToolResult(out)


class NullAudit:
    """An `AuditSink` that records in memory (tests and dry runs)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int:
        self.events.append((kind, run_id, dict(data)))
        return len(self.events)
