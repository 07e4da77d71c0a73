"""The hook's two inputs read field by field (no pydantic, for start-up time): every wrong
field is refused with its name, and a right file still loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plangate.fronts.claude_code.config import ConfigError, load_hook_config
from plangate.fronts.claude_code.hook_input import HookInputError, parse_hook_input

GOOD = 'service = "http://127.0.0.1:8750"\ntoken = "pgt_0123456789"\n'

SETTINGS: list[tuple[str, str]] = [
    ('service = "ftp://x"\ntoken = "pgt_0123456789"\n', "service"),
    ('service = "http://a b"\ntoken = "pgt_0123456789"\n', "service"),
    ('token = "pgt_0123456789"\n', "service: Field required"),
    (GOOD + "deadline = 0\n", "deadline"),
    (GOOD + "deadline = 601\n", "deadline"),
    (GOOD + "deadline = true\n", "deadline"),
    (GOOD + 'deadline = "8"\n', "deadline"),
    (GOOD + 'on_allow = "always"\n', "on_allow"),
    (GOOD + 'protect = "/etc"\n', "protect"),
    (GOOD + "protect = [1]\n", "protect"),
    (GOOD + 'dedline = 3\n', "dedline: unknown setting"),
    (GOOD + 'hook_token_env = "A-B"\n', "hook_token_env"),
    ('service = "http://x"\ntoken = "short"\n', "token"),
    (GOOD + 'token_env = "X"\n', "exactly one of"),
]


@pytest.mark.parametrize(("text", "why"), SETTINGS, ids=[w for _t, w in SETTINGS])
def test_wrong_settings_are_named(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "cc.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=why):
        load_hook_config(path, env={})


def test_good_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "cc.toml"
    path.write_text(GOOD + 'deadline = 3\non_allow = "allow"\nprotect = ["/srv/x"]\n')
    cfg = load_hook_config(path, env={})
    assert (cfg.deadline, cfg.on_allow, cfg.token) == (3.0, "allow", "pgt_0123456789")
    assert Path("/srv/x") in cfg.protect and cfg.request_timeout == pytest.approx(1.8)


BASE = {"hook_event_name": "PreToolUse", "session_id": "s1", "tool_name": "Bash", "tool_input": {"command": "ls"},
        "tool_use_id": "toolu_1"}
EVENTS: list[tuple[str, object, str]] = [
    ("session_id", "a\n", "session_id"),
    ("session_id", "../x", "session_id"),
    ("session_id", 7, "session_id"),
    ("tool_name", "", "tool_name"),
    ("tool_name", ["Bash"], "tool_name"),
    ("tool_input", "ls", "tool_input"),
    ("tool_input", None, "tool_input"),
    ("tool_use_id", "", "tool_use_id"),
    ("hook_event_name", "Stop", "hook_event_name"),
    ("cwd", 5, "cwd"),
]


@pytest.mark.parametrize(("key", "value", "why"), EVENTS, ids=[f"{k}={v!r}" for k, v, _w in EVENTS])
def test_wrong_event_fields_are_named(key: str, value: object, why: str) -> None:
    with pytest.raises(HookInputError, match=why):
        parse_hook_input(json.dumps({**BASE, key: value}))


def test_unknown_event_fields_are_ignored() -> None:
    """Claude Code adds fields over time; the hook reads only its own."""
    event = parse_hook_input(json.dumps({**BASE, "permission_mode": "default", "agent_id": "x"}))
    assert (event.tool_name, event.tool_input, event.tool_use_id) == ("Bash", {"command": "ls"}, "toolu_1")
