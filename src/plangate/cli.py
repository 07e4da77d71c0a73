"""The `plangate` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plangate import __version__
from plangate.errors import PlangateError


def _db(args: argparse.Namespace) -> str:
    return str(args.db or os.environ.get("PLANGATE_DB") or "plangate.db")


def _print_json(value: Any, file: Any = None) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str), file=file or sys.stdout)


def cmd_schema(args: argparse.Namespace) -> int:
    from plangate.plan.model import Plan

    if args.what != "plan":
        raise PlangateError(f"no schema named {args.what!r}")
    schema = Plan.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "plangate plan"
    _print_json(schema)
    return 0


def _load_policy(path: str, catalog: str | None) -> Any:
    from plangate.catalog import load_catalog
    from plangate.policy import load_policy

    return load_policy(path, load_catalog(catalog) if catalog else None)


def cmd_policy_check(args: argparse.Namespace) -> int:
    from plangate.policy.lint import lint, notes

    policy = _load_policy(args.file, args.catalog)
    warnings = lint(policy)
    for w in warnings:
        print(f"warning: {w}")
    for n in notes(policy):
        print(f"note: {n}")
    counts: dict[str, int] = {}
    for rule in policy.rules:
        counts[rule.kind] = counts.get(rule.kind, 0) + 1
    print(f"ok: {args.file}: {len(policy.rules)} rules "
          f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}) against "
          f"{len(policy.catalog.tools)} tools; {len(warnings)} warnings")
    return 1 if warnings and args.strict else 0


def cmd_catalog(args: argparse.Namespace) -> int:
    import yaml

    from plangate.catalog import catalog_from_mcp
    from plangate.documents import load_document

    try:
        overrides = load_document(args.overrides) if args.overrides else {}
        listing = load_document(args.listing) if args.listing else None
    except ValueError as exc:
        raise PlangateError(str(exc)) from None
    if not isinstance(overrides, dict):
        raise PlangateError("--overrides must map tool names to catalog fields")
    if args.listing:
        tools = listing.get("tools", listing) if isinstance(listing, dict) else listing
        if not isinstance(tools, list):
            raise PlangateError(f"{args.listing}: expected a tools/list result")
        catalog = catalog_from_mcp(tools, overrides)
    else:
        from plangate.mcp_catalog import catalog_from_server

        command = [c for c in args.server if c != "--"]
        catalog = catalog_from_server(command, overrides=overrides)
    body: dict[str, Any] = {"tools": {}}
    for name, spec in catalog.tools.items():
        entry = spec.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
        entry["args"] = {a: {"type": arg.type, **arg.model_dump(mode="json", exclude_defaults=True)}
                         for a, arg in spec.args.items()}
        body["tools"][name] = entry
    text = ("# Generated from an MCP tool listing: conservative defaults from the MCP hints.\n"
            "# Review each tool: mark sink arguments and who may read its output.\n"
            + yaml.safe_dump(body, sort_keys=True, allow_unicode=True))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}: {len(catalog.tools)} tools")
    else:
        print(text, end="")
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from plangate.plan.codec import load_plan
    from plangate.review import review
    from plangate.trigger import load_trigger

    policy = _load_policy(args.policy, args.catalog)
    trigger = load_trigger(args.trigger)
    try:
        plan: Any = load_plan(args.plan)
    except PlangateError as exc:
        plan = None
        error = str(exc)
    if plan is None:
        from plangate.review.reviewer import MALFORMED

        result: dict[str, Any] = {"verdict": "deny", "rules": [MALFORMED],
                                  "summary": f"Plan refused: {error}", "error": error}
    else:
        result = review(trigger, plan, policy).to_json()
    if args.json:
        _print_json(result)
    else:
        print(f"verdict: {result['verdict']}  rules: {', '.join(result['rules'])}")
        for rule, reason in (result.get("reasons") or {}).items():
            print(f"  {rule}: {reason}")
        print(result["summary"])
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from plangate.documents import load_document
    from plangate.gate import Gate
    from plangate.plan.codec import load_plan
    from plangate.testing import FixtureTools
    from plangate.trigger import load_trigger

    policy = _load_policy(args.policy, args.catalog)
    outputs = load_document(args.fixtures) if args.fixtures else {}
    gate = Gate(policy, FixtureTools(outputs), audit=_db(args))
    if args.approval:
        outcome = gate.run_approved(args.approval)
    elif args.trigger and args.plan:
        outcome = gate.submit(load_trigger(args.trigger), load_plan(args.plan))
    else:
        raise PlangateError("run needs --trigger and --plan, or --approval ID")
    if args.json:
        _print_json(outcome.to_json())
    else:
        print(f"verdict: {outcome.review.verdict} ({', '.join(outcome.review.rules)})")
        print(outcome.review.summary)
        if outcome.approval and outcome.run is None:
            print(f"waiting for the owner: plangate approvals approve {outcome.approval}")
        if outcome.run:
            print(f"run {outcome.run_id}: {outcome.run.status} {outcome.run.message}")
            for call in outcome.run.calls:
                print(f"  {call.step}: {call.tool} {'ran' if call.ok else 'blocked: ' + str(call.error)}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from plangate.audit import AuditLog

    db = _db(args)
    if not Path(db).exists():
        raise PlangateError(f"no audit log at {db}")
    log = AuditLog(db)
    if args.action == "head":
        seq, digest = log.head()
        print(f"{seq}:{digest}")
        return 0
    if args.action == "verify":
        anchor = None
        if args.anchor:
            seq_text, _, digest = args.anchor.partition(":")
            if not seq_text.isdigit() or len(digest) != 64:
                raise PlangateError("--anchor takes SEQ:HASH as printed by `plangate audit head`")
            anchor = (int(seq_text), digest)
        result = log.verify(anchor=anchor)
        if result.ok:
            print(f"ok: {result.events} events, hash chain intact"
                  + (f", anchored event {anchor[0]} present" if anchor and anchor[0] else ""))
            return 0
        print(f"TAMPERED: event {result.first_bad}: {result.problem}", file=sys.stderr)
        return 1
    events = log.tail(args.n)
    if args.json:
        _print_json([e.to_json() for e in events])
    else:
        for e in events:
            print(f"{e.seq:>6} {e.ts} {e.run_id} {e.kind:<18} "
                  f"{json.dumps(e.data, ensure_ascii=False)[:160]}")
    return 0


def cmd_approvals(args: argparse.Namespace) -> int:
    from plangate.audit import AuditLog, OwnerConsole

    console = OwnerConsole(AuditLog(_db(args)))
    if args.action == "list":
        items = console.list(None if args.all else "pending")
        if args.json:
            _print_json([a.to_json() for a in items])
        for a in items if not args.json else []:
            print(f"{a.id} [{a.status}] {a.trust_class} run {a.run_id}\n{a.summary}\n")
        if not items and not args.json:
            print("no pending approvals")
        return 0
    if not args.id:
        raise PlangateError(f"approvals {args.action} needs an approval id")
    decided = console.decide(args.id, "approved" if args.action == "approve" else "denied",
                             by=args.by, note=args.note or "")
    print(f"{decided.id}: {decided.status}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    if args.which == "perf":
        from plangate.bench.perf import main as perf_main

        return perf_main(json_path=args.json, quick=args.quick)
    if args.which == "agentdojo":
        from plangate.bench.agentdojo.cli import main as ad_main  # type: ignore[import-not-found,unused-ignore]

        return int(ad_main(args))
    if args.which == "inbox":
        from plangate.bench.inbox import main as inbox_main  # type: ignore[import-not-found,unused-ignore]

        return int(inbox_main(args))
    raise PlangateError(f"unknown benchmark {args.which!r}")


def cmd_demo(args: argparse.Namespace) -> int:
    from plangate.demo import main as demo_main

    return demo_main(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="plangate", description="Plan-gated security runtime for LLM agents.")
    p.add_argument("--version", action="version", version=f"plangate {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("schema", help="print a JSON Schema")
    s.add_argument("what", choices=["plan"])
    s.set_defaults(func=cmd_schema)

    pol = sub.add_parser("policy", help="policy tools")
    pol_sub = pol.add_subparsers(dest="action", required=True)
    chk = pol_sub.add_parser("check", help="lint a policy against its tool catalog")
    chk.add_argument("file")
    chk.add_argument("--catalog")
    chk.add_argument("--strict", action="store_true", help="exit 1 on warnings")
    chk.set_defaults(func=cmd_policy_check)

    cat = sub.add_parser("catalog", help="tool catalogs")
    cat_sub = cat.add_subparsers(dest="action", required=True)
    mcp = cat_sub.add_parser("from-mcp", help="a catalog from an MCP server or its tools/list")
    mcp.add_argument("--listing", help="a saved tools/list result (JSON/YAML) instead of a server")
    mcp.add_argument("--overrides", help="YAML: tool name -> catalog fields to set")
    mcp.add_argument("--out", help="write the catalog here instead of stdout")
    mcp.add_argument("server", nargs="*", help="-- COMMAND ARGS... of a stdio MCP server")
    mcp.set_defaults(func=cmd_catalog)

    r = sub.add_parser("review", help="review a plan (prints the verdict)")
    r.add_argument("--trigger", required=True)
    r.add_argument("--plan", required=True)
    r.add_argument("--policy", required=True)
    r.add_argument("--catalog")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=cmd_review)

    run = sub.add_parser("run", help="review and, if approved, run a plan on fixture tools")
    run.add_argument("--trigger")
    run.add_argument("--plan")
    run.add_argument("--approval", help="run a plan the owner approved (plangate approvals)")
    run.add_argument("--policy", required=True)
    run.add_argument("--catalog")
    run.add_argument("--fixtures", help="JSON/YAML: tool name -> canned output")
    run.add_argument("--db")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=cmd_run)

    a = sub.add_parser("audit", help="read or verify the audit log")
    a.add_argument("action", choices=["tail", "verify", "head"])
    a.add_argument("--anchor", help="(verify) SEQ:HASH from an earlier `plangate audit head`")
    a.add_argument("-n", type=int, default=20)
    a.add_argument("--db")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=cmd_audit)

    ap = sub.add_parser("approvals", help="the owner's approval queue")
    ap.add_argument("action", choices=["list", "approve", "deny"])
    ap.add_argument("id", nargs="?")
    ap.add_argument("--db")
    ap.add_argument("--by", default="owner")
    ap.add_argument("--note")
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.set_defaults(func=cmd_approvals)

    b = sub.add_parser("bench", help="benchmarks")
    b.add_argument("which", choices=["perf", "agentdojo", "inbox"])
    b.add_argument("--json", help="write figures to this file")
    b.add_argument("--markdown", help="write a report to this file")
    b.add_argument("--suite", action="append", help="(agentdojo) suite; repeatable")
    b.add_argument("--benchmark-version", default="v1.2.2")
    b.add_argument("--quick", action="store_true", help="fewer iterations")
    b.set_defaults(func=cmd_bench)

    d = sub.add_parser("demo", help="the main job: the gate over a bundled scenario")
    d.add_argument("--json", help="write totals to this file")
    d.add_argument("--html", help="write an HTML report to this file")
    d.add_argument("--db", help="audit database (default: a temporary one)")
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PlangateError as exc:
        print(f"plangate: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
