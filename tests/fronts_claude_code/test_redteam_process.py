"""Red team, the hook process itself: what makes the command hook run someone else's code, hang
outside its watchdog or end with an exit code Claude Code treats as "let it run"."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plangate.fronts.claude_code.settings import hook_settings

from .conftest import event, write_config


def hook_argv(config: Path) -> list[str]:
    """The command the shipped settings make Claude Code run, as argv."""
    command = hook_settings(config=str(config))["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
    return shlex.split(command)


def test_project_folder_cannot_shadow_the_hooks_modules(tmp_path: Path) -> None:
    """Claude Code starts the hook in the project folder. A repository (or a file a granted
    Write left there) holding `plangate/__init__.py`, `json.py` or `httpx.py` must not be
    imported by the hook: that code would print an allow. The hook runs isolated (`-I`: no
    current folder, no PYTHON* variables on the import path)."""
    project = tmp_path / "project"
    (project / "plangate").mkdir(parents=True)
    marker = tmp_path / "owned"
    payload = (f"import os\nopen({str(marker)!r}, 'w').write('x')\n"
               "print('{\"hookSpecificOutput\": {\"hookEventName\": \"PreToolUse\", "
               "\"permissionDecision\": \"allow\"}}')\nos._exit(0)\n")
    for name in ("plangate/__init__.py", "json.py", "httpx.py", "pydantic.py", "threading.py", "tomllib.py"):
        (project / name).write_text(payload)
    config = write_config(tmp_path, "http://127.0.0.1:9", deadline=3.0)
    proc = subprocess.run(hook_argv(config), cwd=project, capture_output=True, timeout=60,
                          input=json.dumps(event("s1", "Bash", {"command": "ls"})).encode(),
                          env={**os.environ, "PYTHONPATH": str(project)})
    assert not marker.exists(), proc.stdout
    assert proc.returncode == 2 and proc.stdout == b"", proc.stderr


def test_a_stalled_token_file_is_under_the_watchdog(tmp_path: Path) -> None:
    """Everything the hook reads — the settings, the token file — is read under its deadline:
    a token file that never delivers (a FIFO; a stalled network disk) is a deny by the
    deadline, not a hang until Claude Code's timeout (which fails open without onFailure)."""
    config = write_config(tmp_path, "http://127.0.0.1:9", deadline=1.5)
    token = tmp_path / "agent.token"
    token.unlink()
    os.mkfifo(token)
    start = time.monotonic()
    try:
        proc = subprocess.run(hook_argv(config), capture_output=True, timeout=30,
                              input=json.dumps(event("s1", "Bash", {"command": "ls"})).encode())
    except subprocess.TimeoutExpired:
        pytest.fail("the hook hung past 30 s on a token file that never delivers")
    took = time.monotonic() - start
    assert proc.returncode == 2 and proc.stdout == b"", proc.stderr
    assert b"no decision within 1.5 s" in proc.stderr
    assert took < 8


def test_the_deadline_counts_from_process_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Time spent before the decision starts (imports on a loaded machine) counts against the
    deadline: a hook that started `deadline` seconds ago answers deny at once."""
    from plangate.fronts.claude_code.command import run

    config = write_config(tmp_path, "http://127.0.0.1:9", deadline=1.0)
    out, err = io.StringIO(), io.StringIO()
    codes: list[int] = []
    start = time.monotonic()
    run(io.BytesIO(json.dumps(event("s1", "Bash", {"command": "ls"})).encode()), out, err, str(config),
        exit=codes.append, started=time.monotonic() - 5.0)
    assert codes == [2] and "no decision within 1 s" in err.getvalue()
    assert time.monotonic() - start < 1.0


def test_a_hook_that_cannot_import_still_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken installation (a module missing, a syntax error) must not end in Python's exit
    code 1 with a traceback — Claude Code runs the tool then — but in exit 2 with one line."""
    from plangate.fronts.claude_code import entry

    monkeypatch.setitem(sys.modules, "plangate.fronts.claude_code.command", None)  # import fails
    err = io.StringIO()
    codes: list[int] = []
    entry.main(["--config", "/nonexistent.toml"], stderr=err, exit=codes.append)
    assert codes == [2]
    assert err.getvalue().startswith("plangate: ") and err.getvalue().count("\n") == 1
    assert "Traceback" not in err.getvalue()


def test_the_shipped_command_is_isolated() -> None:
    """The settings' command runs Python isolated and the lean entry by path."""
    argv = shlex.split(hook_settings(config="/etc/cc.toml")["hooks"]["PreToolUse"][0]["hooks"][0]["command"])
    assert argv[1] == "-I" and argv[2].endswith("entry.py") and Path(argv[2]).is_absolute()
    assert argv[3:] == ["--config", "/etc/cc.toml"]


def test_the_settings_pin_the_hook_settings_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The command names its settings file by absolute path: left to the variable, the file
    would be whatever Claude Code's environment names when the hook runs (an `env` entry of
    a settings file sets it)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANGATE_CLAUDE_CODE_CONFIG", "cc.toml")
    argv = shlex.split(hook_settings()["hooks"]["PreToolUse"][0]["hooks"][0]["command"])
    assert argv[-2:] == ["--config", str(tmp_path / "cc.toml")]
