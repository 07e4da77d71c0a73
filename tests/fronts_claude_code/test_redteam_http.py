"""Red team, the http hook: another local process posting crafted hook JSON, and answers that
come later than Claude Code waits."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import httpx
import pytest

from plangate.fronts.claude_code.config import ConfigError, load_hook_config
from plangate.fronts.claude_code.server import PATH, create_hook_app
from plangate.fronts.claude_code.verdict import Verdict

from .conftest import event, write_config


def test_the_http_hook_does_not_serve_without_a_secret(tmp_path: Path) -> None:
    """Without `hook_token_env` any local process (another user's, a granted command's) could
    post PreToolUse events that use up a session's grant and PostToolUse events whose made-up
    results later steps then consume; session ids are in `ps` (`claude --session-id`). So
    the http hook refuses to start without a shared secret."""
    cfg = load_hook_config(write_config(tmp_path, "http://127.0.0.1:9", deadline=2.0))
    with pytest.raises(ConfigError, match="hook_token_env"):
        create_hook_app(cfg)


class HangingGate:
    """A decision that never comes (a lock never released, a disk that stalls)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def handle(self, _event: object) -> Verdict:
        self.release.wait(30)
        return Verdict("allow", "too late")


def test_every_answer_comes_by_the_deadline_under_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty calls at once whose decisions hang: each answer is a deny by the deadline,
    counted from the request's arrival. (A thread pool shared by requests made the later
    ones wait for a free worker first — past Claude Code's timeout, which fails open without
    onFailure: block.)"""
    monkeypatch.setenv("PLANGATE_HOOK_TOKEN", "hook-secret-0123456789")
    cfg = load_hook_config(write_config(tmp_path, "http://127.0.0.1:9", deadline=1.0,
                                        hook_token_env="PLANGATE_HOOK_TOKEN"))
    gate = HangingGate()
    app = create_hook_app(cfg, gate=gate)  # type: ignore[arg-type]

    async def one(client: httpx.AsyncClient, i: int) -> tuple[float, dict[str, object]]:
        start = time.monotonic()
        r = await client.post(PATH, json=event(f"s{i}", "Bash", {"command": "ls"}, use_id=f"toolu_{i}"),
                              headers={"Authorization": "Bearer hook-secret-0123456789"})
        return time.monotonic() - start, r.json()

    async def burst() -> list[tuple[float, dict[str, object]]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hook") as client:
            return await asyncio.gather(*(one(client, i) for i in range(20)))

    try:
        answers = asyncio.run(burst())
    finally:
        gate.release.set()
    for took, body in answers:
        assert body["hookSpecificOutput"]["permissionDecision"] == "deny"  # type: ignore[index]
        assert took < 1.8, took


def test_a_body_that_trickles_in_counts_against_the_same_deadline(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The body read and the decision share one deadline from the request's arrival (not
    half a deadline for the body and a whole one more for the decision)."""
    monkeypatch.setenv("PLANGATE_HOOK_TOKEN", "hook-secret-0123456789")
    cfg = load_hook_config(write_config(tmp_path, "http://127.0.0.1:9", deadline=2.0,
                                        hook_token_env="PLANGATE_HOOK_TOKEN"))
    gate = HangingGate()
    app = create_hook_app(cfg, gate=gate)  # type: ignore[arg-type]

    async def slow_body():  # type: ignore[no-untyped-def]
        yield b'{"hook_event_name": "PreToolUse", "session_id": "s1", "tool_name": "Bash", '
        await asyncio.sleep(0.95)
        yield b'"tool_input": {"command": "ls"}, "tool_use_id": "toolu_1"}'

    async def go() -> tuple[float, dict[str, object]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hook") as client:
            start = time.monotonic()
            r = await client.post(PATH, content=slow_body(),
                                  headers={"Authorization": "Bearer hook-secret-0123456789"})
            return time.monotonic() - start, r.json()

    try:
        took, answer = asyncio.run(go())
    finally:
        gate.release.set()
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"  # type: ignore[index]
    assert took < 2.5, took   # before: 0.95 s for the body, then 2 s more
