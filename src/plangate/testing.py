"""Test doubles shipped with plangate: fixture tools and a scripted extractor.

They stand in for what cannot exist in a test: real side effects you do not want, and a
model. Everything else in tests should be real.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plangate.plan.model import ExtractType
from plangate.protocols import OwnerQuestion, ToolResult


class FixtureTools:
    """A `ToolRuntime` that returns canned outputs per tool and records every call."""

    def __init__(self, outputs: Mapping[str, Any] | None = None, *,
                 fail: frozenset[str] = frozenset()) -> None:
        self.outputs = dict(outputs or {})
        self.fail = fail
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        self.calls.append((tool, dict(args)))
        if tool in self.fail:
            raise RuntimeError(f"{tool} failed (fixture)")
        return ToolResult(self.outputs.get(tool, "ok"))


class ScriptedExtractor:
    """An `Extractor` that answers from a script keyed by question (or a default per
    kind), the way a quarantined model would: it sees the source text, returns a value."""

    DEFAULTS: Mapping[str, Any] = {"bool": False, "number": 0, "date": "2026-01-01"}

    def __init__(self, answers: Mapping[str, Any] | None = None) -> None:
        self.answers = dict(answers or {})
        self.seen: list[Any] = []

    def extract(self, source: Any, type: ExtractType, question: str) -> Any:
        self.seen.append(source)
        if question in self.answers:
            return self.answers[question]
        if type.kind == "enum":
            return type.values[0] if type.values else None
        if type.kind == "copy":
            return source[0] if isinstance(source, list) and source else source
        return self.DEFAULTS[type.kind]


class ScriptedOwner:
    """An `OwnerApprover` that answers every question the same way and remembers them.
    `answer` may be an exception to raise, to show that a failing channel means no."""

    def __init__(self, answer: bool | Exception | Any) -> None:
        self.answer = answer
        self.questions: list[OwnerQuestion] = []

    def approve(self, question: OwnerQuestion) -> bool:
        self.questions.append(question)
        if isinstance(self.answer, Exception):
            raise self.answer
        # A non-bool answer is how tests check that only an explicit True counts as a yes.
        return self.answer
