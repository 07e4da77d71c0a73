"""Red team, the wrappers: an argument the framework takes from the model must reach the gate.

`gated` leaves out a first parameter that is the framework's run context (the framework
passes it, the model does not). Which parameter that is must be decided the way the
framework decides it — by the resolved type — not by a name: a model argument whose type
merely has "RunContext" in its name would otherwise go to the tool unchecked."""

from __future__ import annotations

import asyncio
from typing import Any, NewType

import pytest

pytest.importorskip("pydantic_ai", reason="the adapters extra is not installed")

from pydantic_ai import Agent, RunContext

from plangate.fronts.adapters import gated

from .test_pydantic_ai import scripted

RunContextRecipient = NewType("RunContextRecipient", str)  # a str for pydantic-ai, a model argument


class Recorder:
    """A grant that allows everything and records what it was asked."""

    def __init__(self) -> None:
        self.checked: list[tuple[str, dict[str, Any]]] = []

    def check(self, tool: str, args: dict[str, Any]) -> int:
        self.checked.append((tool, args))
        return len(self.checked) - 1

    def report(self, call: int, *, ok: bool, value: Any = None, error: str | None = None) -> None:
        pass


def test_a_model_argument_named_like_a_context_is_checked() -> None:
    """The first parameter is the recipient, typed `RunContextRecipient` (a str): pydantic-ai
    asks the model for it, so the gate must see it."""
    sent: list[str] = []

    def send_email(to: RunContextRecipient, body: str) -> str:
        """Send an email."""
        sent.append(to)
        return "sent"

    grant = Recorder()
    model = scripted([("send_email", {"to": "mallory@evil.example", "body": "hi"})])
    asyncio.run(Agent(model, tools=[gated(send_email, grant)]).run("mail"))
    assert sent == ["mallory@evil.example"]
    assert grant.checked == [("send_email", {"to": "mallory@evil.example", "body": "hi"})]


def test_the_real_run_context_is_left_out() -> None:
    """pydantic-ai's own RunContext (however it is written) is passed through, not checked."""
    def note(ctx: RunContext[None], text: str) -> str:
        """Take a note."""
        return text

    grant = Recorder()
    asyncio.run(Agent(scripted([("note", {"text": "x"})]), tools=[gated(note, grant)]).run("note"))
    assert grant.checked == [("note", {"text": "x"})]
