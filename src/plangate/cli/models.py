"""`plangate agent`, `plangate usage`, `plangate bench budget|tokens`: the model commands.

`agent` runs trigger -> planner -> review -> execute -> audit with a configured model
(`--model PROVIDER:MODEL [--base-url URL]`, or `--models FILE` for planner, extractor,
reviewer and budgets) on fixture tools, like `run`. `usage` reads the model usage rows
beside the audit log. Exit codes as for `run`; a model that failed (no valid plan, over
budget, endpoint down) exits 1 with the reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from plangate.cli.files import existing_db, new_or_existing_db, output_path, read_document
from plangate.cli.output import Exit, print_json, say
from plangate.config import load_settings
from plangate.safetext import visible


def models_from(args: argparse.Namespace, model: str | None) -> Any:
    """The models file (`--models`), or a planner from `--model PROVIDER:MODEL`."""
    from plangate.model.config import models_for

    if getattr(args, "models", None):
        read_document(args.models, "--models", what="a models file")
    return models_for(model=model, base_url=getattr(args, "base_url", None),
                      models_file=getattr(args, "models", None))


def cmd_agent(args: argparse.Namespace) -> int:
    from plangate.agent import build_agent
    from plangate.cli.plans import _trigger, exit_for_outcome, load_policy_from
    from plangate.testing import FixtureTools

    settings = load_settings(vars(args), config=args.config)
    db = new_or_existing_db(settings.db)
    policy = load_policy_from(settings)
    models = models_from(args, settings.model)
    trigger = _trigger(args.trigger)
    fixtures = (read_document(args.fixtures, "--fixtures", what="a mapping of tool name to output")
                if args.fixtures else {})
    result = build_agent(policy, FixtureTools(fixtures), models, audit=db).handle(trigger)
    data = result.to_json()
    if args.json:
        print_json(data)
    else:
        from plangate.cli.explain import review_text, run_text

        cost = "unknown (no price for this model)" if data["cost"] is None else f"${data['cost']:.6f}"
        say(f"model {visible(models.planner.label, 120)}: {data['model_calls']} call(s), "
            f"{data['tokens_in']} tokens in, {data['tokens_out']} out, cost {cost}")
        if result.outcome is None:
            say(f"no plan was reviewed: {visible(result.status, 40)}: {visible(result.error or '', 600)}")
        else:
            outcome = result.outcome.to_json()
            say(*review_text(outcome["review"]))
            rules = {r for c in outcome["run"]["calls"] for r in c["rules"]} if outcome["run"] else set()
            say(*run_text(outcome, {r: policy.reason(r) for r in rules}))
    if args.exit_zero:
        return Exit.OK
    if result.outcome is None:
        return Exit.FAILED
    return exit_for_outcome(result.outcome.to_json())


def cmd_usage(args: argparse.Namespace) -> int:
    from plangate.audit import AuditLog
    from plangate.audit.usage import UsageLog

    settings = load_settings(vars(args), config=args.config)
    rows = UsageLog(AuditLog(existing_db(settings.db))).summary(args.by)
    if args.json:
        print_json({"by": args.by or "all", "rows": rows})
        return Exit.OK
    if not rows:
        say("no model calls recorded")
        return Exit.OK
    head = args.by or "all"
    say(f"{head:<32} {'calls':>6} {'ok':>6} {'refused':>7} {'tokens in':>10} {'tokens out':>10} "
        f"{'cost USD':>12} {'avg ms':>8}")
    for r in rows:
        say(f"{visible(r['key'], 32):<32} {r['calls']:>6} {r['ok']:>6} {r['refused']:>7} {r['tokens_in']:>10} "
            f"{r['tokens_out']:>10} {r['cost_usd']:>12.6f} {r['latency_ms_avg']:>8.1f}"
            + (f"  ({r['unpriced']} unpriced)" if r["unpriced"] else ""))
    return Exit.OK


def cmd_bench_models(args: argparse.Namespace) -> int:
    from plangate.cli.progress import Progress

    output_path(args.json, "--json")
    if args.which == "budget":
        from plangate.bench.budget import main as budget_main

        stages = ["burst", "flood", "owner", "overhead"]
        budget = Progress("bench budget", len(stages), unit="stages")
        code = budget_main(json_path=args.json, say=budget.echo, progress=lambda s: budget.step(note=s))
        budget.finish()
        return code
    from plangate.bench.tokens import main as tokens_main

    tokens = Progress("bench tokens", unit="tasks")
    code = tokens_main(json_path=args.json, say=tokens.echo, progress=lambda s: tokens.step(note=s))
    tokens.finish()
    return code


__all__ = ["cmd_agent", "cmd_bench_models", "cmd_usage", "models_from"]
