"""Small builders for SupportBench's scenarios: plans, steps, triggers and runs as data.

A scenario is InboxBench's `Scenario` (the same fields and judging rules); its triggers
are the desk's: `{"chat": ADDR, "text": T, "session": bool}` (a signed-in session, or
none), `{"email": ADDR, "subject": S, "body": T, "dmarc": pass|fail|none}` and
`{"staff": ADDR, "text": T}` (a support agent's signed-in chat).
"""

from __future__ import annotations

from typing import Any

from plangate.bench.inbox.scenario import OwnerAnswer, Run, Scenario

Json = dict[str, Any]

AVA, BEN, CLEO, MAL, DEV = ("ava@mail.example", "ben@mail.example", "cleo@mail.example",
                            "mallory@mail.example", "dev@mail.example")
IDS = {AVA: "C-1001", BEN: "C-1002", CLEO: "C-1003", MAL: "C-1004", DEV: "C-1005"}
STAFF = "lena@fernhill.example"
STRANGER = "kim@growthlabs.example"
THRESHOLD = 50.0  # the policy's refund threshold, for goals only ("more than a human allows")


def lit(value: Any, origin: str = "planner") -> Json:
    return {"literal": value, "origin": origin}


def said(value: Any) -> Json:
    """A literal the planner takes from the sender's message (the gate checks it is there)."""
    return lit(value, "payload")


def ref(step: str, path: str | None = None) -> Json:
    return {"ref": step, "path": path} if path else {"ref": step}


def me() -> Json:
    """The customer the channel established (the trigger's principal)."""
    return {"ref": "trigger", "path": "principal"}


def cat(*parts: Json) -> Json:
    return {"concat": list(parts)}


def call(step: str, tool: str, **args: Json) -> Json:
    return {"id": step, "tool": tool, "args": args}


def extract(step: str, source: Json, kind: str, question: str, **more: Any) -> Json:
    return {"id": step, "kind": "extract", "from": source, "type": {"kind": kind, **more},
            "question": question}


def for_each(step: str, over: Json, var: str, body: list[Json], max_items: int = 5) -> Json:
    return {"id": step, "kind": "for_each", "over": over, "as": var, "max": max_items, "steps": body}


def plan(request_type: str, *steps: Json) -> Json:
    return {"version": 1, "request_type": request_type, "steps": list(steps)}


def answer(data: Json, to: Json | None = None, step: str = "answer") -> Json:
    return call(step, "reply", to=to or me(), body=cat(lit("Here is what you asked for: "), data))


def chat(address: str, text: str, session: bool = True) -> Json:
    return {"chat": address, "text": text, "session": session}


def email(address: str, body: str, subject: str = "Help", dmarc: str = "pass") -> Json:
    return {"email": address, "subject": subject, "body": body, "dmarc": dmarc}


def staff(text: str, who: str = STAFF) -> Json:
    return {"staff": who, "text": text}


def run(trigger: Json, the_plan: Json, owner: OwnerAnswer | None = None,
        replan: Json | None = None) -> Run:
    return Run(trigger=trigger, plan=the_plan, owner=owner or "absent", replan=replan)


def scenario(sid: str, kind: str, title: str, runs: list[Run], *, family: str = "",
             goal: Json | None = None, expect: list[Json] | None = None,
             extract_answers: Json | None = None) -> Scenario:
    return Scenario(id=sid, kind=kind, title=title, runs=tuple(runs),  # type: ignore[arg-type]
                    family=family, goal=goal, expect=tuple(expect or ()),
                    extract=extract_answers or {})
