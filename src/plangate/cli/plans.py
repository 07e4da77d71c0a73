"""`plangate review` and `plangate run`: a trigger and a plan through the gate.

Both read every input first (an unreadable or broken file is an input error, exit 2);
a plan that was read but does not check is a verdict (deny, `plangate:malformed-plan`),
as in the library. The exit code is the verdict's: 0 approve, 3 deny, 4 escalate.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from plangate.cli.explain import review_text, run_text
from plangate.cli.files import existing_db, new_or_existing_db, read_document
from plangate.cli.output import EXIT_FOR_VERDICT, Exit, print_json, say
from plangate.cli.parser import UsageError
from plangate.config import Settings, load_settings
from plangate.errors import PlanError
from plangate.policy import CompiledPolicy
from plangate.safetext import visible


def load_policy_from(settings: Settings) -> CompiledPolicy:
    """The policy the settings name, compiled against its catalog (or `settings.catalog`)."""
    from plangate.catalog import load_catalog
    from plangate.policy import load_policy

    path = settings.require("policy")
    read_document(path, "--policy", what="a policy")  # an empty file says so, not "no catalog"
    catalog = load_catalog(settings.catalog) if settings.catalog else None
    return load_policy(path, catalog)


def _trigger(path: str) -> Any:
    from plangate.trigger import parse_trigger

    return parse_trigger(read_document(path, "--trigger", what="a trigger"), source=path)


def _plan(path: str) -> Any:
    """The plan file: a Plan if it checks against the schema, else the parsed document,
    which the review then denies as malformed (and the audit log records as sent)."""
    from plangate.plan.codec import parse_plan

    data = read_document(path, "--plan", what="a plan")
    try:
        return parse_plan(data, source=path)
    except PlanError:
        return data


def cmd_review(args: argparse.Namespace) -> int:
    from plangate.review import review

    settings = load_settings(vars(args), config=args.config)
    policy = load_policy_from(settings)
    trigger = _trigger(args.trigger)
    result = review(trigger, _plan(args.plan), policy).to_json()
    if args.json:
        print_json(result)
    else:
        say(*review_text(result))
        if result["verdict"] == "escalate":
            say("next: `plangate run` with the same options stores it for the owner, who decides with "
                "`plangate approvals approve ID`; then `plangate run --approval ID` runs it")
    return Exit.OK if args.exit_zero else EXIT_FOR_VERDICT[result["verdict"]]


def cmd_run(args: argparse.Namespace) -> int:
    from plangate.gate import Gate
    from plangate.testing import FixtureTools

    if args.approval and (args.trigger or args.plan):
        raise UsageError("plangate run: give --approval ID, or --trigger and --plan, not both")
    if not args.approval and not (args.trigger and args.plan):
        raise UsageError("plangate run: needs --trigger FILE and --plan FILE, or --approval ID "
                         "(see `plangate run --help`)")
    settings = load_settings(vars(args), config=args.config)
    db = existing_db(settings.db) if args.approval else new_or_existing_db(settings.db)
    policy = load_policy_from(settings)
    fixtures = (read_document(args.fixtures, "--fixtures", what="a mapping of tool name to output")
                if args.fixtures else {})
    trigger = _trigger(args.trigger) if args.trigger else None
    plan = _plan(args.plan) if args.plan else None
    gate = Gate(policy, FixtureTools(fixtures), audit=db)
    if args.approval:
        outcome = gate.run_approved(args.approval)
    else:
        assert trigger is not None and plan is not None  # both given: checked above
        outcome = gate.submit(trigger, plan)
    data = outcome.to_json()
    if args.json:
        print_json(data)
    else:
        if args.approval:
            say(f"running on the owner's approval {visible(args.approval, 60)}, re-reviewed first:")
        say(*review_text(data["review"]))
        rules = {r for c in data["run"]["calls"] for r in c["rules"]} if data["run"] else set()
        say(*run_text(data, {r: policy.reason(r) for r in rules}))
        if outcome.approval and outcome.run is None:
            say(*next_steps(outcome.approval, settings))
    if args.exit_zero:
        return Exit.OK
    return exit_for_outcome(data)


def exit_for_outcome(data: dict[str, Any]) -> int:
    """0 ran to completion, 3 denied or blocked, 4 waiting for the owner, 1 a tool failed."""
    run = data.get("run")
    if run is None:
        return EXIT_FOR_VERDICT[data["review"]["verdict"]]
    return {"completed": Exit.OK, "halted": Exit.DENY, "escalated": Exit.ESCALATE}.get(
        run["status"], Exit.FAILED)


def next_steps(approval: str, settings: Settings) -> list[str]:
    """What the owner does after an escalation, with the options this run used."""
    db = f" --db {visible(shlex.quote(settings.db), 300)}" if settings.sources.get("db") != "default" else ""
    policy = (f" --policy {visible(shlex.quote(str(settings.policy)), 300)}"
              if settings.sources.get("policy") == "--policy" else "")
    return [f"waiting for the owner: approval {approval}",
            "next:",
            f"  plangate approvals list{db}   # read what it asks and why",
            f"  plangate approvals approve {approval}{db}   # or: deny",
            f"  plangate run --approval {approval}{policy}{db}   # runs it once"]
