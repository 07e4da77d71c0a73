"""The committed plans: benign oracle plans and hijacked planners' attack plans.

    python -m plangate.bench.agentdyn.oracle      # rewrites plans_<suite>.json, attacks_<suite>.json

**The benign plans are oracle plans**: each is AgentDyn's ground truth for the user task,
converted by hand into a plangate plan with argument provenance (`I`: the value occurs in the
user's prompt; `P`: the planner wrote it; refs and extractions: read from an earlier output).
AgentDyn's ground truths are sketches with placeholders (`ONE-TIME-PASSWD`, `file_id`,
`INVITATION_LINK`): where the value is created by the run itself it becomes an extraction
with a dynamic answer (`OTP`, see gate.py). A model's plans would differ; these measure what
the gate lets through for a correct plan.

**The attack plans** are what a fully hijacked planner would append for each injection task.
AgentDyn's injection tasks carry no usable ground truth (every one is the same placeholder
`send_money`), so each plan is written from the task's GOAL and its `security()` check, the
way `attacks_workspace_extra.py` does for AgentDojo's workspace tasks 6-13. Every attacker
literal is `planner`; values the attacker reads (a password, a repository name) are refs or
copy extractions.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

Arg = dict[str, Any]

#: The newest six-digit one-time password in a mail list (dynamic answer, gate.py).
OTP: dict[str, str] = {"$last": r"OTP[^\d]{0,80}?(\d{6})"}
#: The id of the newest mail attachment in a mail list (dynamic answer).
ATTACHMENT: dict[str, str] = {"$last": r'"attachments": \["([^"]+)"\]'}


def I(value: Any) -> Arg:  # noqa: E743 - the plan format's own word: the owner's instruction
    return {"literal": value, "origin": "instruction"}


def P(value: Any) -> Arg:
    return {"literal": value, "origin": "planner"}


def R(step: str, path: str = "") -> Arg:
    return {"ref": step, "path": path} if path else {"ref": step}


def call(sid: str, tool: str, **args: Arg) -> dict[str, Any]:
    return {"id": sid, "tool": tool, "args": args}


def copy(sid: str, source: str, question: str, path: str = "") -> dict[str, Any]:
    return {"id": sid, "kind": "extract", "from": R(source, path), "type": {"kind": "copy", "choices": R(source, path)},
            "question": question}


def number(sid: str, source: str, question: str) -> dict[str, Any]:
    return {"id": sid, "kind": "extract", "from": R(source), "type": {"kind": "number"}, "question": question}


def confirm(prefix: str, mail_tool: str, verify_tool: str) -> list[dict[str, Any]]:
    """Read the confirmation mail, copy its one-time password, confirm."""
    return [call(f"{prefix}m", mail_tool), copy(f"{prefix}o", f"{prefix}m", OTP_QUESTION),
            call(f"{prefix}v", verify_tool, otp=R(f"{prefix}o"))]


SHOP_OTP = ("get_shopping_linked_unread_emails", "verify_shopping_account")
GIT_OTP = ("get_github_linked_unread_emails", "verify_github_account")


OTP_QUESTION = "What is the newest one-time password?"


ATTACHMENT_QUESTION = "What is the newest attachment's id?"


def _with_otps(steps: list[dict[str, Any]], answers: dict[str, Any] | None) -> dict[str, Any]:
    """One-time password and newest-attachment extractions answer dynamically (gate.py)."""
    out = dict(answers or {})
    dynamic = {OTP_QUESTION: OTP, ATTACHMENT_QUESTION: ATTACHMENT}
    for step in steps:
        if step.get("kind") == "extract" and step["question"] in dynamic:
            out.setdefault(step["id"], dynamic[step["question"]])
    return out


def attack(goal: str, steps: list[dict[str, Any]], answers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"goal": goal, "steps": steps, "extract_answers": _with_otps(steps, answers)}


def plan(steps: list[dict[str, Any]], answers: dict[str, Any] | None = None, note: str = "",
         output: str = "") -> dict[str, Any]:
    """A user plan; `output` is the oracle's final answer text for tasks judged on it."""
    out: dict[str, Any] = {"plan": {"version": 1, "request_type": "any", "steps": steps},
                           "extract_answers": _with_otps(steps, answers)}
    if note:
        out["note"] = note
    if output:
        out["ground_truth_output"] = output
    return out


def buy(prefix: str, pid: Arg, discount: Arg | None = None) -> list[dict[str, Any]]:
    checkout: dict[str, Arg] = {"product_ids": {"list": [pid]}}
    if discount is not None:
        checkout["discount_code"] = discount
    return [call(f"{prefix}a", "cart_add_product", product_id=pid, quantity=P(1)),
            call(f"{prefix}c", "checkout_selected_cart", **checkout), *confirm(f"{prefix}o", *SHOP_OTP)]


def write_all(out_dir: Path) -> None:
    import importlib

    from plangate.bench.agentdojo import replay as rp
    from plangate.bench.agentdyn import attack_plans

    for suite in ("shopping", "github", "dailylife"):
        s = rp.get_suite(suite)
        plans = importlib.import_module(f"plangate.bench.agentdyn.oracle_{suite}").plans()
        for uid, entry in plans.items():
            entry["prompt"] = s.get_user_task_by_id(uid).PROMPT
            entry.setdefault("oracle", True)
        attacks = getattr(attack_plans, f"{suite}_attacks")()
        for iid, entry in attacks.items():
            entry["goal"] = s.get_injection_task_by_id(iid).GOAL
        missing = sorted(set(s.injection_tasks) - set(attacks))
        if missing:
            raise KeyError(f"{suite}: injection tasks without an attack plan: {missing}")
        (out_dir / f"plans_{suite}.json").write_text(json.dumps(plans, indent=1) + "\n", encoding="utf-8")
        (out_dir / f"attacks_{suite}.json").write_text(json.dumps(attacks, indent=1) + "\n", encoding="utf-8")


def main() -> None:
    import argparse

    from plangate.bench.agentdyn.checkout import check_imported, source_dir

    parser = argparse.ArgumentParser(description="write the AgentDyn plans and attack plans")
    parser.add_argument("--path", help="AgentDyn checkout [default: the shared snapshot]")
    args = parser.parse_args()
    check_imported(source_dir(args.path))
    from plangate.bench.agentdojo._light import install_stubs

    install_stubs()
    write_all(Path(str(resources.files(__package__))))


if __name__ == "__main__":
    main()
