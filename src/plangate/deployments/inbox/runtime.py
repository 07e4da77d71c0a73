"""The assistant's tool runtime: every tool in `catalog.yaml`, on real protocols.

`AssistantRuntime(root)` is a `plangate.protocols.ToolRuntime`. Embedded defaults need
no service: a Maildir under `root/mail`, an outbox (the in-process SMTP sink) in
`root/outbox`, calendar, ledger, rules and records in `root/state.sqlite`, workspace
files under `root/workspace`, memory and skills under `root/memory` and `root/skills`.
Pass `mail=ImapBackend(...)` to use a real IMAP server and `smtp=SmtpRelay(...)` to also
submit outgoing mail over SMTP; web fetches go only to the loopback `web_base_url`.

    rt = AssistantRuntime(tmp, web_base_url="http://127.0.0.1:8080")
    rt.seed({"mail": [{"from": "carol@x.example", "subject": "Hi", "body": "..."}]})
    rt.call("mail_list", {"folder": "INBOX"}).value     # [{"id", "from", "subject", ...}]
    rt.snapshot()                                       # what InboxBench judges

Arguments are checked against the catalog before anything runs (the executor also
checks, but the runtime is usable on its own and must not trust its caller); every
refusal or failure is a `ToolCallError` naming the tool and, when known, the argument.

`snapshot()` returns the observable state, which InboxBench judges attacks on:

    {
      "sent":     [{"from": str, "to": [str], "cc": [str], "subject": str, "body": str,
                    "kind": "send" | "reply" | "forward" | "invite" | "share" | "notify"}],
      "files":    {relative_path: content},
      "shares":   [{"path": str, "with": [str]}],
      "calendar": [{"id": str, "title": str, "start": str, "end": str,
                    "attendees": [str], "description": str, "tentative": bool}],
      "ledger":   [{"to_account": str, "amount": float, "memo": str}],
      "memory":   {title: text},
      "skills":   {name: text},
      "rules":    [{"match": str, "forward_to": str}],
      "fetches":  [url],           # every URL the web tool requested
      "commands": [command],       # every shell command run
      "labels":   {message_id: [label]},
    }
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import smtplib
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from plangate.catalog import Catalog, ToolSpec, load_catalog
from plangate.deployments.inbox import messages
from plangate.deployments.inbox.errors import ToolCallError
from plangate.deployments.inbox.imapstore import ImapError
from plangate.deployments.inbox.mailstore import (
    INBOX,
    AmbiguousId,
    MailBackend,
    MaildirBackend,
    labels_of,
    valid_folder,
)
from plangate.deployments.inbox.outbox import Outbox, SentKind, SmtpRelay
from plangate.deployments.inbox.state import State
from plangate.deployments.inbox.web import LoopbackWeb, WebError
from plangate.deployments.inbox.workspace import ConfinementError, Workspace, parse_command, run_command
from plangate.protocols import ToolResult
from plangate.safetext import visible

CATALOG_PATH = Path(__file__).with_name("catalog.yaml")
MAX_RECIPIENTS = 50
MAX_TEXT = 100_000
MAX_LIST = 100

Args = Mapping[str, Any]


@cache
def assistant_catalog() -> Catalog:
    """The catalog the runtime implements (and the reviewer reasons from)."""
    return load_catalog(CATALOG_PATH)


class AssistantRuntime:
    """Every catalog tool over embedded or real backends; see the module docstring."""

    def __init__(self, root: Path, *, mail: MailBackend | None = None,
                 smtp: SmtpRelay | tuple[str, int] | None = None,
                 web_base_url: str | None = None, owner: str = "owner@home.example",
                 command_timeout: float = 10.0, test_timeout: float = 60.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.owner = owner
        self.mail: MailBackend = mail if mail is not None else MaildirBackend(self.root / "mail")
        relay = SmtpRelay(*smtp) if isinstance(smtp, tuple) else smtp
        self.outbox = Outbox(self.root / "outbox", relay)
        self.state = State(self.root / "state.sqlite")
        self.workspace = Workspace(self.root / "workspace")
        self.memory_dir = self.root / "memory"
        self.skills_dir = self.root / "skills"
        self.memory_dir.mkdir(exist_ok=True)
        self.skills_dir.mkdir(exist_ok=True)
        self.web = LoopbackWeb(web_base_url) if web_base_url else None
        self.command_timeout = command_timeout
        self.test_timeout = test_timeout
        self.catalog = assistant_catalog()
        self.tools: dict[str, Callable[[Args], Any]] = {
            name: getattr(self, f"_{name}") for name in self.catalog.tools
            if hasattr(self, f"_{name}")
        }

    # ---- the ToolRuntime protocol ---------------------------------------------------
    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        spec = self.catalog.get(tool)
        impl = self.tools.get(tool)
        if spec is None or impl is None:
            raise ToolCallError(tool, "no such tool in the assistant catalog")
        _check_args(spec, args)
        try:
            return ToolResult(impl(args))
        except ToolCallError:
            raise
        except (ValueError, OSError, ImapError, smtplib.SMTPException, sqlite3.Error) as exc:
            raise ToolCallError(tool, str(exc)) from exc

    def close(self) -> None:
        self.mail.close()
        self.state.close()

    # ---- setting up a scenario ------------------------------------------------------
    def deliver(self, message: bytes | str | EmailMessage, folder: str = INBOX) -> str:
        """Put a message into the owner's mailbox as if it had arrived; returns its id.
        A message without a Message-ID gets one (tools address mail by it). Mail
        delivered to INBOX runs the standing forward rules, as a mail server would."""
        if isinstance(message, EmailMessage):
            msg = message
        else:
            msg = messages.parse_bytes(message.encode("utf-8") if isinstance(message, str)
                                       else message)
        if not messages.header(msg, "Message-ID"):
            msg["Message-ID"] = _message_id(self._domain())
        self.mail.deliver(msg.as_bytes(), folder)
        view = messages.view(msg.as_bytes())
        if folder == INBOX:
            self._apply_rules(view)
        return view.id

    def seed(self, scenario: Mapping[str, Any]) -> None:
        """Load a scenario's starting state: `mail` (raw strings or dicts with from, to,
        subject, body and/or html, and optional date, message_id, folder, headers), `calendar`
        (event dicts), `files` {path: text}, `ledger` {balance, history: [{date,
        counterparty, amount, memo}]}, `memory` and `skills` {name: text}."""
        for item in scenario.get("mail", []):
            if isinstance(item, (str, bytes)):
                self.deliver(item)
                continue
            msg = EmailMessage()
            msg["From"] = item["from"]
            msg["To"] = ", ".join(_as_list(item.get("to", [self.owner])))
            if item.get("cc"):
                msg["Cc"] = ", ".join(_as_list(item["cc"]))
            msg["Subject"] = item.get("subject", "")
            msg["Date"] = item.get("date") or formatdate(usegmt=True)
            if item.get("message_id"):
                msg["Message-ID"] = f"<{messages.bare_id(item['message_id'])}>"
            for name, value in item.get("headers", {}).items():
                msg[name] = value
            if "body" in item or "html" not in item:
                msg.set_content(item.get("body", ""))
                if "html" in item:
                    msg.add_alternative(item["html"], subtype="html")
            else:
                msg.set_content(item["html"], subtype="html")
            self.deliver(msg, item.get("folder", INBOX))
        for ev in scenario.get("calendar", []):
            self.state.add_event(title=ev["title"], start=ev["start"], end=ev["end"],
                                 attendees=list(ev.get("attendees", [])),
                                 description=ev.get("description", ""),
                                 tentative=bool(ev.get("tentative", False)),
                                 event_id=ev.get("id"))
        for path, content in scenario.get("files", {}).items():
            self.workspace.write(path, content)
        ledger = scenario.get("ledger", {})
        if "balance" in ledger:
            self.state.set_opening_balance(float(ledger["balance"]))
        for tx in ledger.get("history", []):
            self.state.add_history(date=tx.get("date", ""), counterparty=tx["counterparty"],
                                   amount=float(tx["amount"]), memo=tx.get("memo", ""))
        for title, text in scenario.get("memory", {}).items():
            _save_named(self.memory_dir, title, text)
        for name, text in scenario.get("skills", {}).items():
            _save_named(self.skills_dir, name, text)

    def snapshot(self) -> dict[str, Any]:
        """The observable state, in the exact shape the module docstring gives."""
        return {
            "sent": self.outbox.records(),
            "files": self.workspace.files(),
            "shares": self.state.shares(),
            "calendar": self.state.events(),
            "ledger": self.state.payments(),
            "memory": _load_named(self.memory_dir),
            "skills": _load_named(self.skills_dir),
            "rules": self.state.rules(),
            "fetches": self.state.fetches(),
            "commands": self.state.commands(),
            "labels": labels_of(self.mail),
        }

    # ---- mail -----------------------------------------------------------------------
    def _mail_list(self, args: Args) -> list[dict[str, str]]:
        folder = args.get("folder", INBOX)
        limit = args.get("limit", 20)
        with _argument("mail_list", "folder"):
            if not valid_folder(folder):
                raise ValueError(f"{folder!r} is not a folder name")
        if not 1 <= limit <= MAX_LIST:
            raise ToolCallError("mail_list", f"must be between 1 and {MAX_LIST}", arg="limit")
        views = _newest_first(self.mail.messages(folder))
        return [v.summary() for v in views[:limit]]

    def _mail_search(self, args: Args) -> list[dict[str, str]]:
        query = args["query"].strip()
        if not query or len(query) > 200:
            raise ToolCallError("mail_search", "must be 1 to 200 characters", arg="query")
        return [v.summary() for v in _newest_first(self.mail.search(query))[:MAX_LIST]]

    def _mail_read(self, args: Args) -> dict[str, object]:
        return self._message("mail_read", args["message_id"]).full()

    def _message(self, tool: str, message_id: str, arg: str = "message_id") -> messages.MessageView:
        try:
            raw = self.mail.find(message_id) if message_id.strip() else None
        except AmbiguousId as exc:
            raise ToolCallError(tool, str(exc), arg=arg) from None
        if raw is None:
            raise ToolCallError(tool, f"no message with id {message_id!r}", arg=arg)
        return messages.view(raw)

    def _mail_send(self, args: Args) -> dict[str, object]:
        to = _recipients("mail_send", "to", args["to"])
        cc = _recipients("mail_send", "cc", args.get("cc", []), allow_empty=True)
        return self._send("send", to=to, cc=cc, subject=_text("mail_send", "subject", args["subject"], 500),
                          body=_text("mail_send", "body", args["body"]))

    def _mail_reply(self, args: Args) -> dict[str, object]:
        # The reply carries its arguments only: the subject is an argument, never copied from
        # the stored original (whose subject may be private to people the reply does not go
        # to); the headers thread it by the original's id, which is the argument itself.
        # Whether the mailbox holds that message is not looked up: a reply that went out or
        # failed with it would tell its recipients so (the catalog declares no such read).
        original = _message_id_arg("mail_reply", "in_reply_to", args["in_reply_to"])
        subject = _text("mail_reply", "subject", args.get("subject", "your message"), 500)
        subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
        headers = {"In-Reply-To": f"<{original}>", "References": f"<{original}>"}
        return self._send("reply", to=_recipients("mail_reply", "to", args["to"]), cc=[],
                          subject=subject, body=_text("mail_reply", "body", args["body"]),
                          headers=headers)

    def _mail_forward(self, args: Args) -> dict[str, object]:
        original = self._message("mail_forward", args["message_id"])
        return self._forward(original, _recipients("mail_forward", "to", args["to"]),
                             _text("mail_forward", "note", args.get("note", "")))

    def _forward(self, original: messages.MessageView, to: list[str], note: str) -> dict[str, object]:
        body = (f"{note}\n\n---------- Forwarded message ----------\n"
                f"From: {original.sender}\nDate: {original.date}\nSubject: {original.subject}\n"
                f"To: {', '.join(original.to)}\n\n{original.body}")
        return self._send("forward", to=to, cc=[], subject=f"Fwd: {original.subject}", body=body)

    def _mail_label(self, args: Args) -> dict[str, object]:
        label = args["label"]
        if not valid_folder(label) or label == INBOX:
            raise ToolCallError("mail_label", "a label is a plain word (letters, digits, _ and -)"
                                " other than INBOX", arg="label")
        try:
            labelled = self.mail.add_label(args["message_id"], label)
        except AmbiguousId as exc:
            raise ToolCallError("mail_label", str(exc), arg="message_id") from None
        if not labelled:
            raise ToolCallError("mail_label", f"no message with id {args['message_id']!r}",
                                arg="message_id")
        return {"message_id": messages.bare_id(args["message_id"]), "label": label}

    def _mail_forward_rule(self, args: Args) -> dict[str, object]:
        match = _text("mail_forward_rule", "match", args["match"], 200)
        if not match.strip():
            raise ToolCallError("mail_forward_rule", "must not be empty", arg="match")
        target = _recipients("mail_forward_rule", "forward_to", [args["forward_to"]])[0]
        self.state.add_rule(match, target)
        # A random id, not the rules table's row number (which counts the owner's rules).
        return {"rule": f"rule-{secrets.token_hex(6)}", "match": match, "forward_to": target}

    def _apply_rules(self, view: messages.MessageView) -> None:
        text = "\n".join([view.sender, view.subject, view.body]).casefold()
        for rule in self.state.rules():
            if rule["match"] == "*" or rule["match"].casefold() in text:
                self._forward(view, [rule["forward_to"]], f"Forwarded by rule {rule['match']!r}.")

    def _send(self, kind: SentKind, *, to: list[str], cc: list[str], subject: str, body: str,
              headers: Mapping[str, str] | None = None) -> dict[str, object]:
        msg = EmailMessage()
        msg["From"] = self.owner
        msg["To"] = ", ".join(to)
        if cc:
            msg["Cc"] = ", ".join(cc)
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = _message_id(self._domain())
        # RFC 3834: the assistant's mail is a program's, so it does not come back as the
        # owner's own request (`intake.automatic`), and auto-responders do not answer it.
        msg["Auto-Submitted"] = "auto-generated"
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(body)
        self.outbox.submit(msg, kind=kind, sender=self.owner, to=to, cc=cc, body=body)
        return {"sent": messages.bare_id(str(msg["Message-ID"])), "kind": kind, "to": to, "cc": cc}

    def _domain(self) -> str:
        return self.owner.rpartition("@")[2] or "localhost"

    # ---- calendar -------------------------------------------------------------------
    def _calendar_list(self, args: Args) -> list[dict[str, Any]]:
        day = args["day"]
        try:
            date.fromisoformat(day)
        except ValueError:
            raise ToolCallError("calendar_list", f"{day!r} is not a YYYY-MM-DD date", arg="day") from None
        return self.state.events(day)

    def _calendar_hold(self, args: Args) -> dict[str, Any]:
        start, end = _span("calendar_hold", args["start"], args["end"])
        eid = self.state.add_event(title=_text("calendar_hold", "title", args["title"], 500),
                                   start=start, end=end, attendees=[], description="", tentative=True)
        return self.state.event(eid) or {}

    def _calendar_create(self, args: Args) -> dict[str, Any]:
        tool = "calendar_create"
        start, end = _span(tool, args["start"], args["end"])
        attendees = _recipients(tool, "attendees", args["attendees"], allow_empty=True)
        title = _text(tool, "title", args["title"], 500)
        description = _text(tool, "description", args.get("description", ""))
        eid = self.state.add_event(title=title, start=start, end=end, attendees=attendees,
                                   description=description, tentative=False)
        if attendees:
            self._send("invite", to=attendees, cc=[], subject=f"Invitation: {title}",
                       body=f"{title}\n{start} - {end}\n\n{description}")
        return self.state.event(eid) or {}

    def _calendar_update(self, args: Args) -> dict[str, Any]:
        tool = "calendar_update"
        event = self.state.event(args["event_id"])
        if event is None:
            raise ToolCallError(tool, f"no event with id {args['event_id']!r}", arg="event_id")
        changes: dict[str, str] = {}
        if "title" in args:
            changes["title"] = _text(tool, "title", args["title"], 500)
        if "start" in args or "end" in args:
            changes["start"], changes["end"] = _span(tool, args.get("start", event["start"]),
                                                     args.get("end", event["end"]))
        self.state.update_event(event["id"], **changes)
        updated = self.state.event(event["id"]) or {}
        if updated.get("attendees"):
            self._send("invite", to=list(updated["attendees"]), cc=[],
                       subject=f"Updated invitation: {updated['title']}",
                       body=f"{updated['title']}\n{updated['start']} - {updated['end']}\n\n"
                            f"{updated['description']}")
        return updated

    # ---- workspace files ------------------------------------------------------------
    def _file_list(self, args: Args) -> list[dict[str, object]]:
        with _argument("file_list", "folder"):
            return self.workspace.list(args.get("folder", ""))

    def _file_read(self, args: Args) -> str:
        with _argument("file_read", "path"):
            return self.workspace.read(args["path"])

    def _file_write(self, args: Args) -> dict[str, object]:
        with _argument("file_write", "path"):
            size = self.workspace.write(args["path"], args["content"])
        return {"path": args["path"], "bytes": size}

    def _file_share(self, args: Args) -> dict[str, object]:
        with _argument("file_share", "path"):
            content = self.workspace.read(args["path"])
        people = _recipients("file_share", "with", args["with"])
        self.state.add_share(args["path"], people)
        # A token from this share alone, not the store's running count: the count would
        # tell each recipient how many shares the owner made in between.
        token = hashlib.sha256(json.dumps([self.owner, args["path"], sorted(people)]).encode()
                               ).hexdigest()[:16]
        link = f"https://files.{self._domain()}/s/{token}/{quote(args['path'])}"
        self._send("share", to=people, cc=[], subject=f"{self.owner} shared {args['path']} with you",
                   body=f"{link}\n\n{content}")
        return {"path": args["path"], "with": people, "link": link}

    # ---- memory and skills ----------------------------------------------------------
    def _note_save(self, args: Args) -> dict[str, object]:
        with _argument("note_save", "title"):
            _save_named(self.memory_dir, args["title"], _text("note_save", "text", args["text"]))
        return {"saved": args["title"]}

    def _skill_save(self, args: Args) -> dict[str, object]:
        with _argument("skill_save", "name"):
            _save_named(self.skills_dir, args["name"], _text("skill_save", "text", args["text"]))
        return {"saved": args["name"]}

    def _memory_load(self, args: Args) -> dict[str, dict[str, str]]:
        return {"memory": _load_named(self.memory_dir), "skills": _load_named(self.skills_dir)}

    # ---- shell ----------------------------------------------------------------------
    def _shell_run(self, args: Args) -> dict[str, object]:
        command = args["command"]
        with _argument("shell_run", "command"):
            argv = parse_command(self.workspace, command)
        self.state.record_command(command)
        return run_command(self.workspace, argv, shown=command, timeout=self.command_timeout).to_json()

    def _run_tests(self, args: Args) -> dict[str, object]:
        command = "python -m pytest -q"
        argv = parse_command(self.workspace, command)
        self.state.record_command(command)
        result = run_command(self.workspace, argv, shown=command, timeout=self.test_timeout)
        return {"exit_code": result.exit_code, "passed": result.exit_code == 0,
                "timed_out": result.timed_out, "output": result.stdout + result.stderr}

    # ---- web ------------------------------------------------------------------------
    def _web_fetch(self, args: Args) -> dict[str, object]:
        if self.web is None:
            raise ToolCallError("web_fetch", "no web_base_url is configured, and this runtime"
                                " never dials a real address", arg="url")
        requested: list[str] = []
        try:
            return self.web.fetch(args["url"], requested).to_json()
        except WebError as exc:
            raise ToolCallError("web_fetch", str(exc), arg="url") from None
        finally:
            for url in requested:
                self.state.record_fetch(url)

    # ---- payments -------------------------------------------------------------------
    def _pay(self, args: Args) -> dict[str, object]:
        account = args["to_account"].strip()
        if not account or len(account) > 64 or not all(c.isalnum() or c in " -_" for c in account):
            raise ToolCallError("pay", "an account is 1 to 64 letters, digits, spaces, - or _",
                                arg="to_account")
        amount = float(args["amount"])
        if not math.isfinite(amount) or amount <= 0 or amount > 1_000_000:
            raise ToolCallError("pay", "must be a positive amount up to 1,000,000", arg="amount")
        amount = round(amount, 2)
        if amount > self.state.balance():
            raise ToolCallError("pay", f"insufficient funds (balance {self.state.balance()})",
                                arg="amount")
        memo = _text("pay", "memo", args.get("memo", ""), 500)
        self.state.add_payment(to_account=account, amount=amount, memo=memo)
        return {"to_account": account, "amount": amount, "memo": memo,
                "balance": self.state.balance()}

    def _ledger_balance(self, args: Args) -> dict[str, object]:
        outgoing = [{"date": "", "counterparty": p["to_account"], "amount": -p["amount"],
                     "memo": p["memo"]} for p in self.state.payments()]
        return {"balance": self.state.balance(),
                "transactions": (self.state.history() + outgoing)[-MAX_LIST:]}

    # ---- the owner ------------------------------------------------------------------
    def _notify_owner(self, args: Args) -> dict[str, object]:
        # The owner reads this note; it may quote a stranger. Controls, bidi and zero-width
        # characters show escaped (plangate.safetext); the note keeps its lines.
        text = visible(_text("notify_owner", "text", args["text"], 4000), None, newlines=True)
        return self._send("notify", to=[self.owner], cc=[], subject="Note from your assistant",
                          body=text)


def _message_id_arg(tool: str, arg: str, value: Any) -> str:
    """A message id given as an argument, bare: printable ASCII without spaces or angle
    brackets (what a header can carry as it is), else the call fails whatever is stored."""
    bare = messages.bare_id(value) if isinstance(value, str) else ""
    if not 0 < len(bare) <= 250 or not all("!" <= c <= "~" and c not in "<>" for c in bare):
        raise ToolCallError(tool, "not a message id (printable ASCII without spaces or <>)", arg=arg)
    return bare


def _message_id(domain: str) -> str:
    """A random Message-ID: `make_msgid`'s holds the time to 1/100 s and the process id, so
    the ids of two replies would time the private work the run did between them."""
    return f"<{secrets.token_hex(12)}@{domain}>"


# ---- argument checks ------------------------------------------------------------------
_PY_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _check_args(spec: ToolSpec, args: Mapping[str, Any]) -> None:
    """Refuse unknown, missing and mistyped arguments, naming the first one."""
    for name in args:
        if name not in spec.args:
            raise ToolCallError(spec.name, "is not an argument of this tool", arg=name)
    for name in sorted(spec.required_args):
        if name not in args:
            raise ToolCallError(spec.name, "is required", arg=name)
    for name, value in args.items():
        arg = spec.args[name]
        if not _PY_TYPES[arg.type](value):
            raise ToolCallError(spec.name, f"must be of type {arg.type}", arg=name)
        if arg.type == "array" and arg.items and not all(_PY_TYPES[arg.items](v) for v in value):
            raise ToolCallError(spec.name, f"must be an array of {arg.items}", arg=name)


@contextmanager
def _argument(tool: str, arg: str) -> Iterator[None]:
    """Turn a confinement or file error into a ToolCallError naming `arg`."""
    try:
        yield
    except (ConfinementError, ValueError, OSError) as exc:
        raise ToolCallError(tool, str(exc), arg=arg) from None


def _text(tool: str, arg: str, value: str, limit: int = MAX_TEXT) -> str:
    if len(value) > limit:
        raise ToolCallError(tool, f"is longer than {limit} characters", arg=arg)
    if arg in ("subject", "title") and ("\n" in value or "\r" in value):
        raise ToolCallError(tool, "must be a single line", arg=arg)
    return value


def _recipients(tool: str, arg: str, values: list[str], *, allow_empty: bool = False) -> list[str]:
    """One address per item (`a@b.example` or `Name <a@b.example>`); the mail goes to the
    bare address, which is what plangate's identity check compared. A comma list or a
    second address hidden in an item is refused: the reviewer's view of the recipients
    must be exactly who gets the mail."""
    if not values and not allow_empty:
        raise ToolCallError(tool, "needs at least one recipient", arg=arg)
    if len(values) > MAX_RECIPIENTS:
        raise ToolCallError(tool, f"has more than {MAX_RECIPIENTS} recipients", arg=arg)
    out = []
    for value in values:
        parsed = getaddresses([value]) if "\r" not in value and "\n" not in value else []
        addr = parsed[0][1] if len(parsed) == 1 else ""
        local, at, domain = addr.rpartition("@")
        if not at or not local or "." not in domain or value.count("@") != 1:
            raise ToolCallError(tool, f"{value!r} is not one email address", arg=arg)
        out.append(addr)
    return out


def _span(tool: str, start: str, end: str) -> tuple[str, str]:
    parsed = []
    for arg, value in (("start", start), ("end", end)):
        try:
            parsed.append(datetime.fromisoformat(value))
        except ValueError:
            raise ToolCallError(tool, f"{value!r} is not an ISO date-time", arg=arg) from None
    try:
        ordered = parsed[1] > parsed[0]
    except TypeError:
        raise ToolCallError(tool, "start and end must both have, or both lack, a time zone",
                            arg="end") from None
    if not ordered:
        raise ToolCallError(tool, "must be after start", arg="end")
    return start, end


def _newest_first(raws: list[bytes]) -> list[messages.MessageView]:
    seen: set[str] = set()
    views = []
    for index, raw in enumerate(raws):
        view = messages.view(raw)
        if view.id in seen:
            continue  # a labelled message sits in two folders
        seen.add(view.id)
        views.append((view.timestamp, index, view))
    return [v for _, _, v in sorted(views, key=lambda t: (t[0], t[1]), reverse=True)]


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# ---- memory and skill files -------------------------------------------------------------
def _file_name(name: str) -> str:
    """A title maps to one file inside its folder: every `/` and `%` is escaped, so no
    title can name another folder; `.md` is appended so `.`/`..` become plain names."""
    if not name.strip() or "\x00" in name:
        raise ValueError("must be a non-empty name")
    encoded = quote(name, safe=" ") + ".md"
    if len(encoded.encode()) > 240:
        raise ValueError("is too long")
    return encoded


def _save_named(folder: Path, name: str, text: str) -> None:
    (folder / _file_name(name)).write_text(text, encoding="utf-8")


def _load_named(folder: Path) -> dict[str, str]:
    return {unquote(p.name[:-3]): p.read_text(encoding="utf-8")
            for p in sorted(folder.glob("*.md")) if p.is_file() and not p.is_symlink()}
