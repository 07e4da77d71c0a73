"""`plangate audit` and `plangate approvals`: what the owner reads and decides.

Both need an existing database: a mistyped `--db` must not create an empty log that
then reads as "nothing happened". `--db postgresql://...` reads and decides on the database
`plangate serve` shares between its workers (with `--witness`, verify also checks every
head the witness holds). Every value from the log or an approval record is
printed through `plangate.safetext`: a stranger's display name or a plan's reference
path cannot rewrite the owner's screen.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from typing import Any

from plangate.cli.explain import approval_text
from plangate.cli.files import InputError, existing_db
from plangate.cli.output import Exit, print_json, say
from plangate.cli.parser import UsageError
from plangate.config import Settings, load_settings
from plangate.errors import UserError
from plangate.safetext import visible


def _is_postgres(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def _store(settings: Settings) -> Any:
    """The PostgreSQL storage `plangate serve` uses (never migrated from here: a database
    it has not set up is refused rather than created)."""
    from plangate.storage import StorageUnavailable, open_storage

    try:
        store = open_storage(settings.db, witness=settings.witness, migrate=False)
    except StorageUnavailable as exc:
        where = settings.db.split("@")[-1].split("?")[0]  # no password on the screen
        raise InputError(f"--db postgresql://{visible(where, 200)}: {exc}") from None
    try:
        store.sql.one("SELECT 1 FROM audit_head")
    except Exception:
        store.close()
        raise InputError("--db: no plangate audit log in that PostgreSQL database "
                         "(`plangate serve --db` creates one)") from None
    return store


def cmd_audit(args: argparse.Namespace) -> int:
    from plangate.audit import AuditLog

    settings = load_settings(vars(args), config=args.config)
    if not _is_postgres(settings.db):
        return _audit(args, AuditLog(existing_db(settings.db)))
    store = _store(settings)
    try:
        return _audit(args, store.audit)
    finally:
        store.close()


def _audit(args: argparse.Namespace, log: Any) -> int:
    if args.action == "head":
        seq, digest = log.head()
        say(f"{seq}:{digest}")
        return Exit.OK
    if args.action == "verify":
        anchor = None
        if args.anchor:
            seq_text, _, digest = args.anchor.partition(":")
            if not seq_text.isdigit() or len(digest) != 64:
                raise UserError("--anchor takes SEQ:HASH as printed by `plangate audit head`")
            anchor = (int(seq_text), digest)
        result = log.verify(anchor=anchor)
        if result.ok:
            say(f"ok: {result.events} events, hash chain intact"
                + (f", anchored event {anchor[0]} present" if anchor and anchor[0] else ""))
            return Exit.OK
        print(f"TAMPERED: event {result.first_bad}: {visible(result.problem, 600)}", file=sys.stderr)
        return Exit.FAILED
    events = log.tail(args.n)
    if args.json:
        print_json([e.to_json() for e in events])
        return Exit.OK
    for e in events:
        data = json.dumps(e.data, ensure_ascii=False, sort_keys=True)
        say(f"{e.seq:>6} {visible(e.ts, 40)} {visible(e.run_id, 40)} {visible(e.kind, 30):<18} "
            f"{visible(data, 160)}")
    return Exit.OK


def cmd_approvals(args: argparse.Namespace) -> int:
    from plangate.audit import AuditLog, OwnerConsole

    settings = load_settings(vars(args), config=args.config)
    if not _is_postgres(settings.db):
        return _approvals(args, settings, OwnerConsole(AuditLog(existing_db(settings.db))), postgres=False)
    store = _store(settings)
    try:
        return _approvals(args, settings, store.approvals, postgres=True)
    finally:
        store.close()


def _approvals(args: argparse.Namespace, settings: Settings, console: Any, *, postgres: bool) -> int:
    db_hint = f" --db {visible(shlex.quote(settings.db), 300)}" if settings.sources.get("db") != "default" else ""
    if args.action == "list":
        if args.id:
            raise UsageError("plangate approvals list: takes no ID (to decide one: approve ID or deny ID)")
        items = console.list(None if args.all else "pending")
        if args.json:
            print_json([a.to_json() for a in items])
            return Exit.OK
        if args.ids:
            say(*(visible(a.id, 40) for a in items))
            return Exit.OK
        for a in items:
            say(*approval_text(a.to_json(), a.review, db_hint), "")
        if not items:
            say("no pending approvals" if not args.all else "no approvals")
        return Exit.OK
    if not args.id:
        raise UsageError(f"plangate approvals {args.action}: needs the approval ID (see `plangate approvals list`)")
    decided = console.decide(args.id, "approved" if args.action == "approve" else "denied",
                             by=args.by, note=args.note or "")
    say(f"{visible(decided.id, 40)}: {decided.status}")
    if decided.status == "approved" and postgres:
        say(f"next: the agent asks the service for a grant: POST /v1/approvals/{visible(decided.id, 40)}/grant"
            "   # re-reviewed against the plan you saw, used once")
    elif decided.status == "approved":
        policy = "" if settings.policy else " --policy POLICY"  # else the setting names it
        say(f"next: plangate run --approval {visible(decided.id, 40)}{policy}{db_hint}"
            "   # runs it once, re-reviewed against the plan you saw")
    return Exit.OK
