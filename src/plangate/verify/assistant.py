"""Scratch environments for the inbox assistant's tools (`plangate.deployments.inbox`).

Each scratch is a fresh `AssistantRuntime` in a temp directory (Maildir, workspace,
SQLite state), seeded with canaries in every kind of stored item the tools can read:
mail (subject, body, sender; one message also labelled), workspace files, memory notes,
skills, calendar events, the ledger and a standing mail rule. Web fetches go to the
loopback server InboxBench uses (`local_web`); nothing leaves the machine.

Resource names follow the catalog: `mail:<message-id>` (a message, its labels
included), `workspace:<path>`, `memory:<title>`, `skills:<name>`, `calendar:<event-id>`,
`config:mail-rules`, `ledger:transactions` (history, payments and the balance).
Outbound: mail in the outbox (sends, replies, forwards, invitations, shares, notes to the
owner), payments, and every URL the web tool requested.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from plangate.bench.inbox.runner import local_web
from plangate.catalog import Catalog, ToolSpec
from plangate.deployments.inbox import messages
from plangate.deployments.inbox.runtime import AssistantRuntime, assistant_catalog
from plangate.verify.canary import Canaries, Origin, as_text
from plangate.verify.engine import Case, CaseBuilder, Observation, Sent, resource

OWNER = "owner@home.example"
SEED_MAIL = ("seed-1@verify.example", "seed-2@verify.example")
SEED_EVENT = "evt-seed"
SEED_DAY = "2030-05-06"
LEDGER = "ledger:transactions"
RULES = "config:mail-rules"


#: Scratch state is thrown away after one call: keep it in memory where the OS offers it
#: (SQLite commits and Maildir writes then cost no disk flushes).
_SCRATCH_ROOT = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None


class AssistantScratch:
    def __init__(self, web_url: str, canaries: Canaries) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="plangate-verify-", dir=_SCRATCH_ROOT))
        self.rt = AssistantRuntime(self.dir, web_base_url=web_url, owner=OWNER,
                                   command_timeout=10, test_timeout=60)
        self.canaries = canaries
        self._seed()

    # ---- seeding ----------------------------------------------------------------------
    def mail(self, message_id: str, folder: str = "INBOX") -> None:
        """Deliver a message whose sender, subject and body are canaries of `mail:<id>`."""
        name = resource("mail", message_id)
        c = self.canaries
        self.rt.seed({"mail": [{
            "message_id": message_id, "folder": folder,
            "from": f"Seed Sender <{c.email(Origin('resource', name, 'from'))}>",
            "subject": f"Subject {c.text(Origin('resource', name, 'subject'))}",
            "body": f"Body {c.text(Origin('resource', name, 'body'))} of the message.",
        }]})

    def file(self, path: str) -> None:
        token = self.canaries.text(Origin("resource", resource("workspace", path), "content"))
        self.rt.seed({"files": {path: f"Content {token}\n"}})

    def event(self, event_id: str, day: str) -> None:
        name = resource("calendar", event_id)
        c = self.canaries
        self.rt.seed({"calendar": [{
            "id": event_id, "title": f"Title {c.text(Origin('resource', name, 'title'))}",
            "start": f"{day}T09:00", "end": f"{day}T10:00",
            "attendees": [c.email(Origin("resource", name, "attendees"))],
            "description": f"Description {c.text(Origin('resource', name, 'description'))}",
        }]})

    def _seed(self) -> None:
        c = self.canaries
        self.mail(SEED_MAIL[0])
        self.mail(SEED_MAIL[1])
        self.rt.mail.add_label(SEED_MAIL[1], "Archive")
        self.file("notes/seed.txt")
        self.event(SEED_EVENT, SEED_DAY)
        self.rt.seed({
            "ledger": {"balance": 50_000.0, "history": [{
                "date": "2030-01-02", "counterparty": c.text(Origin("resource", LEDGER, "counterparty")),
                "amount": -c.amount(Origin("resource", LEDGER, "amount")),
                "memo": c.text(Origin("resource", LEDGER, "memo"))}]},
            "memory": {"seed-note": f"Note {c.text(Origin('resource', resource('memory', 'seed-note'), 'text'))}"},
            "skills": {"seed-skill": f"Skill {c.text(Origin('resource', resource('skills', 'seed-skill'), 'text'))}"},
        })
        self.rt.state.add_rule(c.text(Origin("resource", RULES, "match")),
                               c.email(Origin("resource", RULES, "forward_to")))

    # ---- the Scratch protocol ---------------------------------------------------------
    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        return self.rt.call(tool, args).value

    def observe(self) -> Observation:
        snap = self.rt.snapshot()
        stored: dict[str, dict[str, Any]] = {}
        for folder in self.rt.mail.folders():
            for raw in self.rt.mail.messages(folder):
                view = messages.view(raw)
                entry = stored.setdefault(resource("mail", view.id), {**view.full(), "labels": []})
                if folder != "INBOX":
                    entry["labels"].append(folder)
        for path, content in snap["files"].items():
            stored[resource("workspace", path)] = {"content": content}
        for title, text in snap["memory"].items():
            stored[resource("memory", title)] = {"text": text}
        for name, text in snap["skills"].items():
            stored[resource("skills", name)] = {"text": text}
        for event in snap["calendar"]:
            stored[resource("calendar", event["id"])] = event
        stored[RULES] = {"rules": snap["rules"]}
        stored[LEDGER] = {"balance": self.rt.state.balance(), "history": self.rt.state.history(),
                          "payments": snap["ledger"]}
        outbound = [Sent(f"mail ({m['kind']})", tuple([*m["to"], *m["cc"]]),
                         as_text([m["subject"], m["body"]])) for m in snap["sent"]]
        outbound += [Sent("payment", (p["to_account"],), as_text(p)) for p in snap["ledger"]]
        outbound += [Sent("web request", (urlsplit(u).hostname or u,), u) for u in snap["fetches"]]
        return Observation({k: as_text(v) for k, v in stored.items()}, outbound)

    def close(self) -> None:
        self.rt.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- cases ------------------------------------------------------------------------------
def _arg(c: Canaries, name: str) -> str:
    return c.text(Origin("arg", name))


def _email(c: Canaries, name: str) -> str:
    return c.email(Origin("arg", name))


def _span(c: Canaries) -> tuple[str, str]:
    """A start and an end (a day later), each a canary of its own argument."""
    start = c.day(Origin("arg", "start"))
    end = (date.fromisoformat(start) + timedelta(days=1)).isoformat()
    c.register(end, Origin("arg", "end"))
    return f"{start}T10:00", f"{end}T11:00"


def _message_arg(s: AssistantScratch, c: Canaries, arg: str, folder: str = "INBOX") -> str:
    """A message id that is the argument's canary, naming a seeded message."""
    message_id = f"{_arg(c, arg)}@verify.example"
    s.mail(message_id, folder)
    return message_id


def _event_arg(s: AssistantScratch, c: Canaries, arg: str = "event_id") -> str:
    event_id = _arg(c, arg)
    s.event(event_id, SEED_DAY)
    return event_id


def _file_arg(s: AssistantScratch, c: Canaries, arg: str = "path") -> str:
    path = f"docs/{_arg(c, arg)}.txt"
    s.file(path)
    return path


def _mail_list(s: AssistantScratch, c: Canaries) -> Case:
    folder = _arg(c, "folder")
    s.mail(f"listed-{folder}@verify.example", folder)
    return Case({"folder": folder, "limit": 20},
                {"limit": "a count from 1 to 100 (a unique canary number would be refused)"})


def _mail_search(s: AssistantScratch, c: Canaries) -> Case:
    query = _arg(c, "query")
    found = "found@verify.example"
    body = c.text(Origin("resource", resource("mail", found), "body"))
    s.rt.seed({"mail": [{"message_id": found, "from": "someone@elsewhere.example",
                         "subject": f"About {query}", "body": f"Body {body}"}]})
    return Case({"query": query})


def _mail_read(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"message_id": _message_arg(s, c, "message_id")})


def _mail_send(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"to": [_email(c, "to")], "cc": [_email(c, "cc")], "subject": _arg(c, "subject"),
                 "body": _arg(c, "body")})


def _mail_reply(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"in_reply_to": _message_arg(s, c, "in_reply_to"), "to": [_email(c, "to")],
                 "body": _arg(c, "body"), "subject": _arg(c, "subject")})


def _mail_forward(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"message_id": _message_arg(s, c, "message_id"), "to": [_email(c, "to")],
                 "note": _arg(c, "note")})


def _mail_label(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"message_id": _message_arg(s, c, "message_id"), "label": _arg(c, "label")})


def _mail_forward_rule(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"match": _arg(c, "match"), "forward_to": _email(c, "forward_to")})


def _calendar_list(s: AssistantScratch, c: Canaries) -> Case:
    day = c.day(Origin("arg", "day"))
    s.event("evt-listed", day)
    return Case({"day": day})


def _calendar_hold(s: AssistantScratch, c: Canaries) -> Case:
    start, end = _span(c)
    return Case({"title": _arg(c, "title"), "start": start, "end": end})


def _calendar_create(s: AssistantScratch, c: Canaries) -> Case:
    start, end = _span(c)
    return Case({"title": _arg(c, "title"), "start": start, "end": end,
                 "attendees": [_email(c, "attendees")], "description": _arg(c, "description")})


def _calendar_update(s: AssistantScratch, c: Canaries) -> Case:
    start, end = _span(c)
    return Case({"event_id": _event_arg(s, c), "title": _arg(c, "title"), "start": start, "end": end})


def _file_list(s: AssistantScratch, c: Canaries) -> Case:
    folder = _arg(c, "folder")
    s.file(f"{folder}/listed.txt")
    return Case({"folder": folder})


def _file_read(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"path": _file_arg(s, c)})


def _file_write(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"path": f"out/{_arg(c, 'path')}.txt", "content": _arg(c, "content")})


def _file_share(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"path": _file_arg(s, c), "with": [_email(c, "with")]})


def _named_save(name_arg: str, s: AssistantScratch, c: Canaries) -> Case:
    return Case({name_arg: _arg(c, name_arg), "text": _arg(c, "text")})


def _memory_load(s: AssistantScratch, c: Canaries) -> Case:
    return Case({})


def _shell_echo(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"command": f"echo {_arg(c, 'command')}"}, name="echo")


def _shell_cat(s: AssistantScratch, c: Canaries) -> Case:
    # The command names a seeded file; its text is the argument's canary.
    path = _file_arg(s, c, "command")
    return Case({"command": f"cat {path}"}, name="cat a file")


def _run_tests(s: AssistantScratch, c: Canaries) -> Case:
    path = "test_seed.py"
    token = c.text(Origin("resource", resource("workspace", path), "content"))
    s.rt.seed({"files": {path: f"def test_seed():\n    assert '{token}' == 'x'\n"}})
    return Case({})


def _web_fetch(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"url": f"http://{_arg(c, 'url')}.example/page"})


def _pay(s: AssistantScratch, c: Canaries) -> Case:
    amount = c.amount(Origin("arg", "amount"))
    # The balance after the payment is a canary of the ledger: whoever shows it read it.
    after = c.amount(Origin("resource", LEDGER, "balance"), 10_000, 99_999)
    s.rt.state.set_opening_balance(round(after + amount, 2))
    return Case({"to_account": _arg(c, "to_account"), "amount": amount, "memo": _arg(c, "memo")})


def _ledger_balance(s: AssistantScratch, c: Canaries) -> Case:
    return Case({})


def _notify_owner(s: AssistantScratch, c: Canaries) -> Case:
    return Case({"text": _arg(c, "text")})


CASES: dict[str, list[CaseBuilder]] = {
    "mail_list": [_mail_list], "mail_search": [_mail_search], "mail_read": [_mail_read],
    "mail_send": [_mail_send], "mail_reply": [_mail_reply], "mail_forward": [_mail_forward],
    "mail_label": [_mail_label], "mail_forward_rule": [_mail_forward_rule],
    "calendar_list": [_calendar_list], "calendar_hold": [_calendar_hold],
    "calendar_create": [_calendar_create], "calendar_update": [_calendar_update],
    "file_list": [_file_list], "file_read": [_file_read], "file_write": [_file_write],
    "file_share": [_file_share], "note_save": [partial(_named_save, "title")],
    "skill_save": [partial(_named_save, "name")], "memory_load": [_memory_load],
    "shell_run": [_shell_echo, _shell_cat], "run_tests": [_run_tests], "web_fetch": [_web_fetch],
    "pay": [_pay], "ledger_balance": [_ledger_balance], "notify_owner": [_notify_owner],
}


class AssistantAdapter:
    """Scratch environments for `plangate/deployments/inbox/catalog.yaml` (or a variant of it:
    the same tools with other annotations, as the tests use)."""

    name = "assistant"

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or assistant_catalog()
        self._web = ExitStack()
        self.web_url = self._web.enter_context(local_web())

    def scratch(self, canaries: Canaries) -> AssistantScratch:
        return AssistantScratch(self.web_url, canaries)

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        return CASES.get(tool) or f"the assistant runtime has no scratch case for {tool!r}"

    def probes(self, scratch: AssistantScratch) -> list[tuple[str, dict[str, Any]]]:
        rt = scratch.rt
        out: list[tuple[str, dict[str, Any]]] = [("mail_list", {"folder": f, "limit": 100})
                                                 for f in rt.mail.folders()]
        for folder in rt.mail.folders():
            out += [("mail_read", {"message_id": messages.view(raw).id})
                    for raw in rt.mail.messages(folder)]
        days = sorted({str(e["start"])[:10] for e in rt.state.events()})
        out += [("calendar_list", {"day": d}) for d in days]
        out += [("file_read", {"path": p}) for p in rt.workspace.files()]
        out += [("memory_load", {}), ("ledger_balance", {})]
        return [(tool, args) for tool, args in out if tool in self.catalog.tools]

    def close(self) -> None:
        self._web.close()
