"""The canary verifier's AgentDyn adapter (`plangate.verify.agentdyn`): the
committed catalogs pass it, it catches annotations narrower than the tools, and the tools it
cannot observe keep the worst case. Runs in the AgentDyn child, as the bench does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plangate.bench.agentdyn.checkout import child_environment, default_path, source_dir

if not (default_path() / "src" / "agentdojo").is_dir():
    pytest.skip(f"no AgentDyn checkout at {default_path()} (set PLANGATE_AGENTDYN)", allow_module_level=True)

SRC = source_dir(None)
SUITES = ("shopping", "github", "dailylife")

#: Verify one suite's catalog with some tools' annotations replaced (JSON on argv).
_NARROWED = """
import json, sys
from plangate.bench.agentdyn.checkout import check_imported
check_imported(__import__("pathlib").Path(sys.argv[1]))
from plangate.bench.agentdojo._light import install_stubs
install_stubs()
from plangate.verify import agentdyn as va
from plangate.catalog import Catalog
suite, changes = sys.argv[2], json.loads(sys.argv[3])
body = va.suite_catalog(suite).model_dump(exclude_defaults=True)
for tool, fields in changes.items():
    body["tools"][tool].update(fields)
report = va.verify_suite(suite, Catalog.model_validate(body))
print(json.dumps({t.tool: [t.status, sorted({p.kind for p in t.flows if p.failing})] for t in report.tools}))
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=child_environment(SRC), capture_output=True, text=True,
                          timeout=300, check=False)


def _narrowed(suite: str, changes: dict[str, Any]) -> dict[str, Any]:
    done = _run("-c", _NARROWED, str(SRC), suite, json.dumps(changes))
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_committed_catalogs_pass_the_canary_verifier(tmp_path: Path) -> None:
    out = tmp_path / "verify.json"
    done = _run("-m", "plangate.verify.agentdyn", "--path", str(SRC.parent), "--json", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    reports = json.loads(out.read_text())
    for suite in SUITES:
        statuses = [t["status"] for t in reports[suite]["tools"]]
        assert statuses.count("verified") >= 9, (suite, statuses)
        assert set(statuses) <= {"verified", "unverifiable"}, (suite, statuses)


def test_a_read_narrower_than_the_tool_fails() -> None:
    """`reads: []` on read_file and on the mail list: both read stored items, so both fail."""
    got = _narrowed("dailylife", {"read_file": {"reads": []}, "get_received_emails": {"reads": ["fs:*"]}})
    assert got["read_file"] == ["failed", ["undeclared-read"]]
    assert got["get_received_emails"] == ["failed", ["undeclared-read"]]
    assert got["list_directory"][0] == "verified"


def test_a_hidden_write_is_found() -> None:
    """Reading the linked SSH keys mails a one-time password and leaves a pending request:
    declared as a plain read it fails (the verifier found this in AgentDyn)."""
    got = _narrowed("github", {"git_get_linked_ssh_keys": {"effects": ["read"], "writes": []}})
    assert got["git_get_linked_ssh_keys"][0] == "failed"
    assert "undeclared-change" in got["git_get_linked_ssh_keys"][1]


def test_tools_whose_sends_it_cannot_see_are_not_verified() -> None:
    """Without `unverifiable`, a tool that sends (mail, pages, payments) is not run: the
    adapter sees only stored state, so it reports the tool unverified instead."""
    got = _narrowed("dailylife", {"send_email": {"unverifiable": ""}, "browse_webpage": {"unverifiable": ""}})
    assert got["send_email"] == ["unverified", []]
    assert got["browse_webpage"] == ["unverified", []]
