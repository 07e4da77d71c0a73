"""The command line's one error path: careless input through every subcommand gives one
line on stderr that names the file, field or option, exit 2, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from plangate.cli import main

from .conftest import EXAMPLES, POLICY_PATH, ROOT

MEETING = EXAMPLES / "meeting-reply"
TRIGGER, PLAN = str(MEETING / "trigger.yaml"), str(MEETING / "plan.json")
POLICY = str(POLICY_PATH)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Careless files, in a folder without a plangate.toml and with no PLANGATE_* set."""
    for name in ("PLANGATE_POLICY", "PLANGATE_CATALOG", "PLANGATE_DB", "PLANGATE_MODEL",
                 "PLANGATE_CONFIG", "PLANGATE_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    out = {"missing": str(tmp_path / "missing.json"), "folder": str(tmp_path),
           "nofolder": str(tmp_path / "no-such-folder" / "out.json")}
    contents: dict[str, bytes] = {
        "empty": b"", "blank": b"  \n# only a comment\n", "binary": b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe",
        "badjson": b'{"steps": [', "badyaml": b"steps: [\n  - id: a\n   tool: x\n",
        "list": b"[1, 2, 3]", "scalar": b"just words", "number": b"42",
        "nul": b"steps:\x00 []\n", "latin1": "caf\u00e9: 1\n".encode("latin-1"),
        "bomb": b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                b"g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n",
        "notdb": b"this is not a database, it is a text file\n" * 20,
        "badtoml": b"policy = [unclosed\n", "unknowntoml": b'colour = "blue"\n',
        "pgtoml": b'db = "postgresql://localhost/plangate"\n',
        "trigger_nochannel": b"principal: carol@new.example\npayload: hi\n",
        "policy_bad": f"catalog: {EXAMPLES / 'assistant-catalog.yaml'}\nrules:\n  - id: r\n"
                      "    forbid: {}\n    when: 'context.nope'\n".encode(),
        "policy_nocatalog": b"rules: []\n",
        "overrides_list": b"- a\n- b\n",
        "listing_bad": b'{"tools": [1, 2]}',
    }
    for name, data in contents.items():
        path = tmp_path / name
        path.write_bytes(data)
        out[name] = str(path)
    big = tmp_path / "big.json"
    big.write_text('{"steps": "' + "x" * (5 * 1024 * 1024) + '"}')
    out["big"] = str(big)
    return out


def review(plan: str = PLAN, trigger: str = TRIGGER, policy: str = POLICY) -> list[str]:
    return ["review", "--trigger", trigger, "--plan", plan, "--policy", policy]


F = dict[str, str]
# (id, argv from the careless files, text the one line must contain)
CORPUS: list[tuple[str, Callable[[F], list[str]], str]] = [
    ("no-command", lambda f: [], "COMMAND"),
    ("unknown-command", lambda f: ["reveiw"], "reveiw"),
    ("unknown-option", lambda f: [*review(), "--colour"], "--colour"),
    ("schema-unknown", lambda f: ["schema", "nope"], "nope"),
    ("policy-no-action", lambda f: ["policy"], "ACTION"),
    ("policy-check-nothing", lambda f: ["policy", "check"], "PLANGATE_POLICY"),
    ("policy-check-missing", lambda f: ["policy", "check", f["missing"]], "missing.json"),
    ("policy-check-folder", lambda f: ["policy", "check", f["folder"]], "Is a directory"),
    ("policy-check-empty", lambda f: ["policy", "check", f["empty"]], "empty"),
    ("policy-check-binary", lambda f: ["policy", "check", f["binary"]], "binary"),
    ("policy-check-badyaml", lambda f: ["policy", "check", f["badyaml"]], "badyaml"),
    ("policy-check-rule", lambda f: ["policy", "check", f["policy_bad"]], "rule 'r'"),
    ("policy-check-no-catalog", lambda f: ["policy", "check", f["policy_nocatalog"]], "catalog"),
    ("policy-check-catalog-missing", lambda f: ["policy", "check", POLICY, "--catalog", f["missing"]],
     "missing.json"),
    ("catalog-no-action", lambda f: ["catalog"], "ACTION"),
    ("catalog-nothing", lambda f: ["catalog", "from-mcp"], "no MCP server command"),
    ("catalog-listing-missing", lambda f: ["catalog", "from-mcp", "--listing", f["missing"]], "--listing"),
    ("catalog-listing-badjson", lambda f: ["catalog", "from-mcp", "--listing", f["badjson"]], "badjson"),
    ("catalog-listing-number", lambda f: ["catalog", "from-mcp", "--listing", f["number"]], "tools/list"),
    ("catalog-listing-items", lambda f: ["catalog", "from-mcp", "--listing", f["listing_bad"]], "tools/list"),
    ("catalog-overrides-list", lambda f: ["catalog", "from-mcp", "--listing", f["listing_bad"],
                                          "--overrides", f["overrides_list"]], "--overrides"),
    ("catalog-out-nofolder", lambda f: ["catalog", "from-mcp", "--out", f["nofolder"], "--",
                                        "no-such-mcp-server"], "no-such-folder"),
    ("catalog-out-folder", lambda f: ["catalog", "from-mcp", "--out", f["folder"], "--listing",
                                      f["listing_bad"]], "--out"),
    ("catalog-server-missing", lambda f: ["catalog", "from-mcp", "--", "no-such-mcp-server"],
     "no-such-mcp-server"),
    ("review-no-trigger", lambda f: ["review", "--plan", PLAN, "--policy", POLICY], "--trigger"),
    ("review-no-policy", lambda f: ["review", "--trigger", TRIGGER, "--plan", PLAN], "PLANGATE_POLICY"),
    ("review-trigger-missing", lambda f: review(trigger=f["missing"]), "missing.json"),
    ("review-trigger-badyaml", lambda f: review(trigger=f["badyaml"]), "badyaml"),
    ("review-trigger-field", lambda f: review(trigger=f["trigger_nochannel"]), "channel"),
    ("review-trigger-list", lambda f: review(trigger=f["list"]), "list"),
    ("review-plan-missing", lambda f: review(plan=f["missing"]), "missing.json"),
    ("review-plan-folder", lambda f: review(plan=f["folder"]), "--plan"),
    ("review-plan-empty", lambda f: review(plan=f["empty"]), "empty"),
    ("review-plan-blank", lambda f: review(plan=f["blank"]), "empty"),
    ("review-plan-binary", lambda f: review(plan=f["binary"]), "binary"),
    ("review-plan-badjson", lambda f: review(plan=f["badjson"]), "invalid JSON"),
    ("review-plan-badyaml", lambda f: review(plan=f["badyaml"]), "invalid YAML"),
    ("review-plan-list", lambda f: review(plan=f["list"]), "a plan"),
    ("review-plan-scalar", lambda f: review(plan=f["scalar"]), "a plan"),
    ("review-plan-nul", lambda f: review(plan=f["nul"]), "nul"),
    ("review-plan-latin1", lambda f: review(plan=f["latin1"]), "UTF-8"),
    ("review-plan-bomb", lambda f: review(plan=f["bomb"]), "alias"),
    ("review-plan-too-big", lambda f: review(plan=f["big"]), "larger than"),
    ("review-policy-missing", lambda f: review(policy=f["missing"]), "missing.json"),
    ("review-policy-rule", lambda f: review(policy=f["policy_bad"]), "rule 'r'"),
    ("run-nothing", lambda f: ["run", "--policy", POLICY], "--approval"),
    ("run-both", lambda f: ["run", "--policy", POLICY, "--approval", "ap_1", "--trigger", TRIGGER,
                            "--plan", PLAN], "not both"),
    ("run-fixtures-missing", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                        "--fixtures", f["missing"], "--db", "a.db"], "--fixtures"),
    ("run-fixtures-badjson", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                        "--fixtures", f["badjson"], "--db", "a.db"], "badjson"),
    ("run-fixtures-list", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                     "--fixtures", f["list"], "--db", "a.db"], "--fixtures"),
    ("run-db-nofolder", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                   "--db", f["nofolder"]], "--db"),
    ("run-db-folder", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                 "--db", f["folder"]], "folder"),
    ("run-db-not-sqlite", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", PLAN,
                                     "--db", f["notdb"]], "notdb"),
    ("run-approval-no-db", lambda f: ["run", "--policy", POLICY, "--approval", "ap_1", "--db", f["missing"]],
     "missing.json"),
    ("run-plan-empty", lambda f: ["run", "--policy", POLICY, "--trigger", TRIGGER, "--plan", f["empty"],
                                  "--db", "a.db"], "empty"),
    ("audit-no-action", lambda f: ["audit"], "action"),
    ("audit-no-db", lambda f: ["audit", "verify"], "plangate.db"),
    ("audit-db-missing", lambda f: ["audit", "tail", "--db", f["missing"]], "missing.json"),
    ("audit-db-folder", lambda f: ["audit", "tail", "--db", f["folder"]], "folder"),
    ("audit-db-not-sqlite", lambda f: ["audit", "verify", "--db", f["notdb"]], "notdb"),
    ("audit-n-negative", lambda f: ["audit", "tail", "-n", "-5"], "-n"),
    ("audit-n-word", lambda f: ["audit", "tail", "-n", "ten"], "ten"),
    ("audit-db-memory", lambda f: ["audit", "tail", "--db", ":memory:"], ":memory:"),
    ("approvals-db-missing", lambda f: ["approvals", "list", "--db", f["missing"]], "missing.json"),
    ("approvals-db-not-sqlite", lambda f: ["approvals", "list", "--db", f["notdb"]], "notdb"),
    ("approvals-bad-action", lambda f: ["approvals", "accept"], "accept"),
    ("bench-unknown", lambda f: ["bench", "speed"], "speed"),
    ("bench-perf-json-nofolder", lambda f: ["bench", "perf", "--json", f["nofolder"]], "no-such-folder"),
    ("bench-inbox-json-nofolder", lambda f: ["bench", "inbox", "--json", f["nofolder"]], "no-such-folder"),
    ("bench-inbox-md-folder", lambda f: ["bench", "inbox", "--markdown", f["folder"]], "--markdown"),
    ("bench-agentdojo-md-nofolder", lambda f: ["bench", "agentdojo", "--markdown", f["nofolder"]],
     "no-such-folder"),
    ("demo-html-nofolder", lambda f: ["demo", "--html", f["nofolder"]], "--html"),
    ("demo-json-folder", lambda f: ["demo", "--json", f["folder"]], "--json"),
    ("demo-db-nofolder", lambda f: ["demo", "--db", f["nofolder"]], "--db"),
    ("config-missing", lambda f: ["config", "--config", f["missing"]], "missing.json"),
    ("config-badtoml", lambda f: ["config", "--config", f["badtoml"]], "invalid TOML"),
    ("config-unknown-key", lambda f: ["config", "--config", f["unknowntoml"]], "colour"),
    ("config-postgres", lambda f: ["audit", "tail", "--config", f["pgtoml"]], "postgresql://"),
    ("db-url-slashes", lambda f: ["audit", "tail", "--db", "sqlite://plangate.db"], "three slashes"),
    ("agent-no-model", lambda f: ["agent", "--trigger", TRIGGER, "--policy", POLICY, "--db", "a.db"],
     "PROVIDER:MODEL"),
    ("agent-bad-model", lambda f: ["agent", "--trigger", TRIGGER, "--policy", POLICY, "--db", "a.db",
                                   "--model", "gpt-4o"], "expected PROVIDER:MODEL"),
    ("agent-models-missing", lambda f: ["agent", "--trigger", TRIGGER, "--policy", POLICY, "--db", "a.db",
                                        "--models", f["missing"]], "missing.json"),
    ("agent-models-field", lambda f: ["agent", "--trigger", TRIGGER, "--policy", POLICY, "--db", "a.db",
                                      "--models", f["unknowntoml"]], "unknowntoml"),
    ("agent-trigger-missing", lambda f: ["agent", "--trigger", f["missing"], "--policy", POLICY,
                                         "--model", "openai:gpt-4o-mini", "--db", "a.db"], "missing.json"),
    ("usage-db-missing", lambda f: ["usage", "--db", f["missing"]], "missing.json"),
    ("usage-db-not-sqlite", lambda f: ["usage", "--db", f["notdb"]], "notdb"),
    ("usage-bad-by", lambda f: ["usage", "--by", "colour"], "colour"),
    ("bench-budget-json-nofolder", lambda f: ["bench", "budget", "--json", f["nofolder"]], "no-such-folder"),
    ("serve-token-no-role", lambda f: ["serve", "--new-token", "boss"], "ROLE:NAME"),
    ("serve-port-zero", lambda f: ["serve", "--port", "0"], "not a positive number"),
    ("serve-no-credentials", lambda f: ["serve", "--policy", f["missing"]], "no credentials given"),
    ("mcp-gateway-no-config", lambda f: ["mcp-gateway"], "--config"),
    ("mcp-gateway-config-missing", lambda f: ["mcp-gateway", "--config", f["missing"]], "missing.json"),
    ("mcp-gateway-config-folder", lambda f: ["mcp-gateway", "--config", f["folder"]], "Is a directory"),
    ("hook-no-front", lambda f: ["hook"], "claude-code"),
    ("hook-submit-no-settings", lambda f: ["hook", "claude-code", "submit"], "--config"),
    ("bench-mcp-json-nofolder", lambda f: ["bench", "mcp", "--json", f["nofolder"]], "no-such-folder"),
    ("bench-support-json-nofolder", lambda f: ["bench", "support", "--json", f["nofolder"]], "no-such-folder"),
    ("bench-incident-json-nofolder", lambda f: ["bench", "incident", "--json", f["nofolder"]], "no-such-folder"),
    ("bench-agentdyn-path-missing", lambda f: ["bench", "agentdyn", "--path", f["missing"]], "AgentDyn checkout"),
    ("demo-support-json-nofolder", lambda f: ["demo", "--deployment", "support", "--json", f["nofolder"]],
     "no-such-folder"),
]


class _Names(dict[str, str]):
    """Any file name, as itself: to read a corpus entry's subcommand without files."""

    def __missing__(self, key: str) -> str:
        return key


def test_the_corpus_is_large_and_covers_every_subcommand() -> None:
    """At least 50 careless inputs, touching every subcommand of the parser."""
    from plangate.cli import parser

    assert len(CORPUS) >= 50
    assert len({name for name, _, _ in CORPUS}) == len(CORPUS)
    commands = set(parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    used = {argv[0] for _, build, _ in CORPUS if (argv := build(_Names()))}
    assert commands <= used, commands - used


@pytest.mark.parametrize(("build", "expected"), [(b, e) for _, b, e in CORPUS], ids=[n for n, _, _ in CORPUS])
def test_careless_input_is_one_line_and_exit_2(build: Callable[[F], list[str]], expected: str, files: F,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 2, nothing on stdout, exactly one line on stderr naming what is wrong, fast."""
    started = time.monotonic()
    code = main(build(files))
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and expected in err, err
    assert time.monotonic() - started < 20  # output paths are checked before long work


def test_an_unexpected_failure_is_one_line_too(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A bug (any unexpected exception) exits 70 with one line asking for a report;
    PLANGATE_DEBUG=1 re-raises it for the traceback."""
    import plangate.cli.deploy as deploy

    def broken(models: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(deploy, "print_json", broken)
    monkeypatch.delenv("PLANGATE_DEBUG", raising=False)
    assert main(["schema"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error: RuntimeError: boom" in err
    monkeypatch.setenv("PLANGATE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["schema"])


def test_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    """`plangate audit tail --json | head -1`: the reader goes away; no traceback, exit 141."""
    from plangate.audit import AuditLog

    db = tmp_path / "big.db"
    log = AuditLog(db)
    for i in range(3000):
        log.append("note", "run_x", {"i": i, "text": "x" * 40})
    log.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with subprocess.Popen([sys.executable, "-m", "plangate", "audit", "tail", "--json", "-n", "3000",
                           "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                          env=env) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == b"["
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141 and err == "", err


def test_a_server_that_is_not_mcp_is_one_line_naming_it(tmp_path: Path) -> None:
    """`catalog from-mcp -- python -c ...`: the MCP client's task-group wrapper and its
    logged traceback stay inside; one line names the command and the real cause. (In a
    subprocess: the MCP client binds the real stderr when first imported.)"""
    pytest.importorskip("mcp")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("PLANGATE_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "plangate", "catalog", "from-mcp", "--", sys.executable, "-c",
                           "print('not json-rpc')"], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "could not list tools from" in done.stderr, done.stderr
    assert "ExceptionGroup" not in done.stderr and "Traceback" not in done.stderr
