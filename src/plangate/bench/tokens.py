"""`plangate bench tokens`: what plan-then-execute costs in tokens beside a ReAct loop.

The tasks are the inbox demo's benign messages (the shipped assistant policy and catalog).
Each runs twice through the same scripted model server, over the real OpenAI SDK, with
token counts the server derives from what it is sent (a quarter of the characters):

- plan-then-execute: one planner call (the plan schema and the tools open to the sender's
  class in the prompt) answered with the bundled plan, then the gate; each `extract` step
  is one more (small) call to the quarantined extractor;
- an undefended ReAct tool loop: the model is offered every tool of the catalog and makes
  the same tool calls, one per turn, with every earlier turn and tool output sent again,
  then answers.

Keys: `ratio_tokens` and `ratio_calls` (plan-then-execute / ReAct; goal <= 1.3 tokens),
with the totals and each task's figures.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from plangate.agent import build_agent
from plangate.audit import AuditLog
from plangate.audit.usage import UsageLog
from plangate.catalog import ToolSpec
from plangate.deployments.inbox.intake import trigger_from_email
from plangate.model import Message, ModelRequest, ToolDef, make_client, parse_models
from plangate.model.metering import Meter, attribute
from plangate.model.testing import Exchange, ReplayModel, Reply, ScriptedModelServer
from plangate.plan.model import Arg, CallStep, ForEachStep, Lit, Plan, Ref, Step
from plangate.policy import CompiledPolicy, load_policy
from plangate.testing import FixtureTools

MODEL = "gpt-4o-mini"
AUTHSERV_ID = "mx.northwind.example"  # the demo inbox's receiving server
REACT_SYSTEM = ("You are an assistant acting on the owner's email. Use the tools to handle the "
                "message, then reply with a short summary of what you did.")
#: What the fixture tools return: sized like real answers (a few events, messages, a file).
OUTPUTS: dict[str, Any] = {
    "mail_list": [{"id": f"m{i}", "sender": f"person{i}@example.com", "subject": f"Subject {i}",
                   "date": "2026-11-2{i}", "snippet": "A short preview of the message body. " * 3}
                  for i in range(5)],
    "mail_search": [{"id": "m1", "sender": "a@example.com", "subject": "Re: invoice", "snippet": "Hi, ..." * 5}],
    "calendar_list": [{"id": f"e{i}", "title": f"Event {i}", "start": "2026-12-0{i}T10:00",
                       "attendees": ["x@example.com"]} for i in range(1, 5)],
    "file_read": "Quarterly notes.\n" + "A line of the document. " * 40,
}


def shipped_policy() -> CompiledPolicy:
    return load_policy(Path(str(resources.files("plangate.deployments.inbox").joinpath("policy.yaml"))))


def benign_tasks() -> list[tuple[str, str, dict[str, Any]]]:
    """The demo inbox's benign messages: (name, raw email, its plan and expectations)."""
    folder = resources.files("plangate.deployments.inbox").joinpath("demo_inbox")
    out = []
    for eml in sorted((p for p in folder.iterdir() if p.name.endswith(".eml")), key=lambda p: p.name):
        stem = eml.name.removesuffix(".eml")
        meta = yaml.safe_load(folder.joinpath(f"{stem}.yaml").read_text(encoding="utf-8"))
        if meta.get("kind") == "benign":
            out.append((stem, eml.read_text(encoding="utf-8"), meta))
    return out


def tool_defs(tools: dict[str, ToolSpec]) -> tuple[ToolDef, ...]:
    out = []
    for name, spec in tools.items():
        props: dict[str, Any] = {}
        for arg, a in spec.args.items():
            prop: dict[str, Any] = {"type": a.type}
            if a.type == "array":
                prop["items"] = {"type": a.items or "string"}
            if a.enum:
                prop["enum"] = list(a.enum)
            if a.description:
                prop["description"] = a.description
            props[arg] = prop
        out.append(ToolDef(name=name, description=spec.description, parameters={
            "type": "object", "properties": props, "required": sorted(spec.required_args)}))
    return tuple(out)


def react_calls(plan: Plan) -> list[tuple[str, dict[str, Any]]]:
    """The plan's tool calls in order, as a ReAct model would make them: literal values,
    and for a reference the value the referenced tool returned."""
    calls: list[tuple[str, dict[str, Any]]] = []
    producers: dict[str, str] = {}

    def value(arg: Arg) -> Any:
        if isinstance(arg, Lit):
            return arg.literal
        if isinstance(arg, Ref):
            tool = producers.get(arg.ref)
            return OUTPUTS.get(tool, "ok") if tool else "carol@example.com"
        return json.dumps(arg.model_dump(mode="json", by_alias=True))[:200]

    def walk(steps: list[Step]) -> None:
        for step in steps:
            if isinstance(step, CallStep):
                producers[step.id] = step.tool
                calls.append((step.tool, {k: value(v) for k, v in step.args.items()}))
            elif isinstance(step, ForEachStep):
                walk(step.steps)
    walk(plan.steps)
    return calls


def run_react(client: Any, tools: tuple[ToolDef, ...], message: str, script: list[tuple[str, dict[str, Any]]],
              server: ScriptedModelServer, replies: list[Reply]) -> None:
    """An undefended tool loop: each turn resends the whole conversation and the tools."""
    messages: list[Message] = [Message(role="user", content=message)]
    replies.extend([*(Reply(tool_calls=((t, a),)) for t, a in script),
                    Reply(text="Done: I handled the message and replied where needed.")])
    runtime = FixtureTools(OUTPUTS)
    while True:
        answer = client.complete(ModelRequest(purpose="agent", system=REACT_SYSTEM, messages=tuple(messages),
                                              tools=tools, max_tokens=1000))
        if not answer.tool_calls:
            return
        messages.append(Message(role="assistant", content=answer.text, tool_calls=answer.tool_calls))
        for call in answer.tool_calls:
            result = runtime.call(call.name, call.arguments).value
            messages.append(Message(role="tool", tool_call_id=call.id,
                                    content=json.dumps(result, ensure_ascii=False)))


def main(*, json_path: str | None = None, say: Callable[[str], None] = print,
         progress: Callable[[str], None] | None = None) -> int:
    policy = shipped_policy()
    tools = tool_defs(policy.catalog.tools)
    replay = ReplayModel()
    react_replies: list[Reply] = []

    def script(ex: Exchange) -> Reply:
        if ex.schema_name:
            return replay(ex)
        return react_replies.pop(0)

    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with ScriptedModelServer(script) as server, tempfile.TemporaryDirectory(prefix="plangate-tokens-") as tmp:
        models = parse_models({"planner": {"provider": "openai", "model": MODEL, "base_url": server.openai_url,
                                           "max_tokens": 4000}})
        audit = AuditLog(Path(tmp) / "audit.db")
        agent = build_agent(policy, FixtureTools(OUTPUTS), models, audit=audit)
        usage = UsageLog(audit)
        react_client = Meter(usage=usage).wrap(make_client(models.planner))
        for name, raw, meta in benign_tasks():
            if progress:
                progress(name)
            trigger = trigger_from_email(raw.encode("utf-8"), trusted_authserv_ids=[AUTHSERV_ID])
            replay.plan = meta["plan"]
            t0 = time.perf_counter()
            result = agent.handle(trigger)
            pte_wall = time.perf_counter() - t0
            plan = Plan.model_validate(meta["plan"])
            react_run = f"react-{name}"
            t0 = time.perf_counter()
            with attribute(run_id=react_run, trust_class="react", principal=trigger.principal):
                run_react(react_client, tools, f"New email from {trigger.principal}:\n{trigger.payload}",
                          react_calls(plan), server, react_replies)
            react_wall = time.perf_counter() - t0
            react = list(usage.records(run_id=react_run))
            rows.append({
                "task": name, "verdict": result.verdict, "status": result.status,
                "pte_calls": result.model_calls, "pte_tokens": result.tokens_in + result.tokens_out,
                "react_calls": len(react), "react_tokens": sum(r.tokens_in + r.tokens_out for r in react),
                "pte_wall_s": round(pte_wall, 4), "react_wall_s": round(react_wall, 4)})
    pte_tokens = sum(r["pte_tokens"] for r in rows)
    react_tokens = sum(r["react_tokens"] for r in rows)
    pte_calls = sum(r["pte_calls"] for r in rows)
    react_calls_n = sum(r["react_calls"] for r in rows)
    data: dict[str, Any] = {
        "tasks": len(rows), "model": MODEL,
        "pte_tokens": pte_tokens, "react_tokens": react_tokens,
        "pte_calls": pte_calls, "react_calls": react_calls_n,
        "ratio_tokens": round(pte_tokens / react_tokens, 3) if react_tokens else None,
        "ratio_calls": round(pte_calls / react_calls_n, 3) if react_calls_n else None,
        "goal_ratio_tokens": 1.3, "seconds": round(time.perf_counter() - started, 2), "rows": rows,
    }
    say(f"{'task':<28} {'plan-then-execute':>20} {'ReAct loop':>20}")
    for r in rows:
        say(f"{r['task']:<28} {r['pte_tokens']:>10} tok {r['pte_calls']:>2} calls "
            f"{r['react_tokens']:>10} tok {r['react_calls']:>2} calls")
    met = data["ratio_tokens"] is not None and data["ratio_tokens"] <= 1.3
    say(f"tokens: {pte_tokens} vs {react_tokens} (ratio {data['ratio_tokens']}, goal <= 1.3: "
        f"{'met' if met else 'MISSED'}); calls: {pte_calls} vs {react_calls_n} (ratio {data['ratio_calls']})")
    if json_path:
        Path(json_path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


__all__ = ["benign_tasks", "main", "react_calls", "shipped_policy", "tool_defs"]
