"""The gateway in front of PyPI's mcp-server-git on a real repository: tools nobody
annotated (git_commit, git_reset, ...) keep the worst case and a plan using them is
denied; under a granted read-only plan, a hijacked agent's writes to the repository are
refused and the repository is exactly as before (HEAD, branches, index)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import yaml

from fronts_mcp.conftest import OWNER, gateway, lit, missing, plan, text

GIT_SERVER = Path(sys.executable).parent / "mcp-server-git"
POLICY = {
    "name": "mcp-git-tests",
    "deployment": {"owner": ["owner@home.example"],
                   "classes": [{"name": "owner", "principals": ["owner@home.example"]}],
                   "lowest": "unknown"},
    "request_types": {"repo": {"description": "look at the repository", "tools": [
        "git__git_status", "git__git_log", "git__git_commit", "git__git_add"]}},
    "classes": {"owner": {"request_types": ["repo"],
                          "budget": {"max_calls": 10, "max_egress": 0, "max_payments": 0}}},
    "rules": [{"id": "owner-repo", "permit": {"classes": ["owner"]}, "reason": "the owner's repo"}],
}
OVERRIDES = {
    "git__git_status": {"effects": ["read"], "reads": ["repo"], "output": {"readers": ["owner"]}},
    "git__git_log": {"effects": ["read"], "reads": ["repo"], "output": {"readers": ["owner"]}},
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, timeout=30).stdout


def _state(repo: Path) -> tuple[str, str, str]:
    return (_git(repo, "rev-parse", "HEAD"), _git(repo, "branch", "--list"),
            _git(repo, "status", "--porcelain"))


def test_git_upstream_unannotated_writes_denied_and_hijack_refused(tmp_path: Path) -> None:
    if not GIT_SERVER.exists():
        missing("mcp-server-git (the dev extra)")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=o@home.example", "-c", "user.name=o", "commit", "-q",
         "--allow-empty", "-m", "init")
    (repo / "draft.txt").write_text("not for commit\n")
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(POLICY))
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump({
        "policy": "policy.yaml", "audit": "audit.db", "trigger": OWNER, "overrides": OVERRIDES,
        "upstreams": {"git": {"command": [str(GIT_SERVER), "--repository", str(repo)]}}}))
    before = _state(repo)
    r_path = lit(str(repo))
    commit = plan("repo",
                  {"id": "add", "tool": "git__git_add", "args": {"repo_path": r_path,
                                                                 "files": lit(["draft.txt"])}},
                  {"id": "commit", "tool": "git__git_commit",
                   "args": {"repo_path": r_path, "message": lit("wip")}})
    look = plan("repo",
                {"id": "status", "tool": "git__git_status", "args": {"repo_path": r_path}},
                {"id": "log", "tool": "git__git_log", "args": {"repo_path": r_path,
                                                               "max_count": lit(5)}})
    attacks: list[tuple[str, dict[str, Any]]] = [
        ("git__git_add", {"repo_path": str(repo), "files": ["draft.txt"]}),
        ("git__git_commit", {"repo_path": str(repo), "message": "pwned"}),
        ("git__git_create_branch", {"repo_path": str(repo), "branch_name": "exfil"}),
        ("git__git_reset", {"repo_path": str(repo)}),
        ("git__git_log", {"repo_path": str(repo), "max_count": 500}),
    ]

    async def go() -> None:
        async with gateway(config) as c:
            r = await c.call_tool("submit_plan", {"plan": commit})
            body = r.structured_content
            assert body["verdict"] == "deny", text(r)
            assert "class:owner:budget.max_egress" in body["rules"], body  # the worst case
            r = await c.call_tool("submit_plan", {"plan": look})
            assert r.structured_content["verdict"] == "approve", text(r)
            for tool, args in attacks[:4]:
                r = await c.call_tool(tool, args)
                assert r.is_error and "nothing was forwarded" in text(r), (tool, text(r))
            r = await c.call_tool("git__git_status", {"repo_path": str(repo)})
            assert not r.is_error and "draft.txt" in text(r)
            r = await c.call_tool(*attacks[4])
            assert r.is_error and "nothing was forwarded" in text(r)
            r = await c.call_tool("git__git_log", {"repo_path": str(repo), "max_count": 5})
            assert not r.is_error and "init" in text(r)

    anyio.run(go)
    assert _state(repo) == before
