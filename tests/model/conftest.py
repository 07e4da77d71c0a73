"""Fixtures for the model layer: a small policy, triggers, plans, and a scripted model
server on loopback that the real SDKs talk to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plangate.policy import CompiledPolicy, load_policy
from plangate.trigger import Trigger, parse_trigger

HERE = Path(__file__).resolve().parent
OWNER = "owner@home.example"
STRANGER = "carol@newclient.example"
_POLICY: CompiledPolicy | None = None


def model_policy() -> CompiledPolicy:
    global _POLICY
    if _POLICY is None:
        _POLICY = load_policy(HERE / "policy.yaml")
    return _POLICY


@pytest.fixture
def policy() -> CompiledPolicy:
    return model_policy()


def stranger_trigger(payload: str = "Could we meet on 2026-12-02? Thanks, Carol",
                     principal: str = f"Carol <{STRANGER}>") -> Trigger:
    return parse_trigger({"channel": "email", "principal": principal, "evidence": {"dmarc": "pass"},
                          "payload": payload, "meta": {"subject": "Meeting"}})


def owner_trigger(payload: str) -> Trigger:
    return parse_trigger({"channel": "email", "principal": OWNER, "evidence": {"dmarc": "pass"},
                          "payload": payload})


def meeting_plan(day: str = "2026-12-02") -> dict[str, Any]:
    return {"request_type": "meeting_request", "steps": [
        {"id": "hold", "tool": "create_hold",
         "args": {"day": {"literal": day, "origin": "payload"},
                  "title": {"literal": "Tentative meeting", "origin": "planner"}}},
        {"id": "reply", "tool": "reply_email",
         "args": {"to": {"ref": "trigger", "path": "principal"},
                  "body": {"literal": "Pencilled in.", "origin": "planner"}}}]}


class Sleeps:
    """A `sleep` that records instead of waiting (Retry-After is checked, not slept)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Iterator[Sleeps]:
    yield Sleeps()
