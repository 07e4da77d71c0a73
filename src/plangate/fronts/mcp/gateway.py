"""The plan-gated MCP gateway: an MCP server to the agent, a client to the real servers.

The agent sees three tools of the gateway's own until a plan is granted:

* `plan_tools`: the tools it may plan with (every upstream's, namespaced `upstream__tool`,
  with their input schemas) and the request types its trigger's class may declare;
* `submit_plan`: a plan in plangate's format (`plangate schema plan`). The gate reviews it
  against the policy for the trigger the launcher configured (the agent cannot name its
  own trust class). Approved: a grant starts. Escalated: it waits in plangate's approvals
  (`plangate approvals --db AUDIT`); the agent polls `plan_status`. Denied: nothing runs;
* `plan_status`: the grant's or the approval's state.

Under a grant, `tools/list` adds exactly the plan's tools, and every `tools/call` goes
through the executor (`GatedRun`): only the plan's next call with the exact arguments the
plan resolves to is forwarded; its result comes back with its label in `_meta`
(`dev.plangate/label`). Anything else is an MCP error result and nothing reaches an
upstream. A failed upstream call fails that step (its dependents are skipped).
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
import time
import unicodedata
from collections.abc import Mapping
from typing import Any

from plangate.catalog import Catalog, ToolSpec
from plangate.errors import PlangateError
from plangate.execute import Grant, RunResult
from plangate.fronts.mcp.run import GatedRun, Request, result_text
from plangate.fronts.mcp.upstream import Upstreams, describe
from plangate.gate import Gate, Outcome
from plangate.labels import Label
from plangate.plan.model import CallStep, ForEachStep, Step
from plangate.protocols import ToolResult
from plangate.trigger import Trigger

LABEL_KEY = "dev.plangate/label"
GATEWAY_TOOLS = ("plan_tools", "submit_plan", "plan_status")
INSTRUCTIONS = (
    "This server is a plan-gated gateway. First call plan_tools to see the tools you may "
    "plan with, then submit_plan with a plan in plangate's format (steps of tool calls whose "
    "arguments are literals or references to earlier steps' outputs). Once the plan is "
    "granted (at once, or after the owner approves it: poll plan_status), exactly the "
    "plan's tools are listed; call them in the plan's order with the arguments the plan "
    "resolves to. Any other call is refused and nothing is run.")


class _NoTools:
    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        raise RuntimeError("the gateway's gate runs no tools: the agent calls them on a grant")


class _Capture:
    """Where `Gate` would run an approved plan: keep the grant for a `GatedRun`."""

    def __init__(self) -> None:
        self.grant: Grant | None = None

    def run(self, grant: Grant, run_id: str) -> RunResult:
        self.grant = grant
        return RunResult(run_id=run_id, status="completed", message="granted")


def make_gate(policy: Any, audit: str) -> tuple[Gate, _Capture]:
    gate = Gate(policy, _NoTools(), audit=audit)
    capture = _Capture()
    gate.executor = capture  # type: ignore[assignment]
    return gate, capture


class Gateway:
    def __init__(self, *, gate: Gate, capture: _Capture, upstreams: Upstreams, trigger: Trigger,
                 catalog: Catalog, left_out: Mapping[str, str], max_refusals: int = 20,
                 idle_s: float = 3600.0) -> None:
        self.gate = gate
        self.capture = capture
        self.upstreams = upstreams
        self.trigger = trigger
        self.catalog = catalog
        self.left_out = dict(left_out)
        self.max_refusals = max_refusals
        self.idle_s = idle_s
        self._active = time.monotonic()
        self.run: GatedRun | None = None
        self._granted: list[str] = []
        self.approval: str | None = None
        self.last: dict[str, Any] = {"status": "no plan submitted"}
        #: What the agent has been shown through this gateway: a later plan's literals
        #: carry it (an agent that read a secret cannot pass it off as its own words).
        self.shown: Label | None = None
        self._submit_lock = asyncio.Lock()
        self._run_lock = asyncio.Lock()
        classified = gate.classify(trigger)
        self.trust_class = classified.trust_class

    # -- tools/list ------------------------------------------------------------------------

    def granted(self) -> list[str]:
        run = self.run
        if run is None or run.done:
            return []
        return self._granted

    def listed_tools(self) -> list[Any]:
        import mcp_types as types

        own = [
            types.Tool(name="plan_tools", description="The tools you may plan with and the "
                       "request types you may declare.", input_schema={"type": "object"}),
            types.Tool(name="submit_plan", description="Submit a plan (plangate's plan format) "
                       "for review. Returns the verdict; once granted, the plan's tools are listed.",
                       input_schema={"type": "object", "properties": {
                           "plan": {"type": "object", "description": "the plan: "
                                    "{version, request_type, steps: [...]}"}},
                           "required": ["plan"]}),
            types.Tool(name="plan_status", description="The state of the submitted plan: "
                       "waiting for the owner, granted (running), finished or refused.",
                       input_schema={"type": "object"}),
        ]
        routes = self.upstreams.routes
        return own + [routes[name].listed.model_copy(update={"name": name})
                      for name in self.granted()]

    # -- tools/call ------------------------------------------------------------------------

    async def call(self, name: str, arguments: Mapping[str, Any] | None) -> Any:
        args = dict(arguments or {})
        if name == "plan_tools":
            return _ok(self.plan_tools())
        if name == "submit_plan":
            async with self._submit_lock:
                return _ok(await self.submit(args.get("plan")), error_if_denied=True)
        if name == "plan_status":
            async with self._submit_lock:
                return _ok(await self.status())
        return await self.forward(name, args)

    def plan_tools(self) -> dict[str, Any]:
        policy = self.gate.policy
        cls = policy.doc.classes.get(self.trust_class)
        request_types = list(cls.request_types or []) if cls is not None else []
        tools = {}
        for name, spec in self.catalog.tools.items():
            route = self.upstreams.routes.get(name)
            tools[name] = {"description": spec.description[:500], "effects": list(spec.effects),
                           "input_schema": route.listed.input_schema if route else {}}
        return {"trust_class": self.trust_class, "request_types": request_types, "tools": tools,
                "plan_format": "plangate schema plan (docs/formats.md)"}

    async def submit(self, plan: Any) -> dict[str, Any]:
        if isinstance(plan, str):
            try:
                plan = json.loads(plan)
            except ValueError:
                return {"verdict": "deny", "summary": "the plan is not JSON"}
        if self.run is not None:
            async with self._run_lock:
                self.run.close("replaced by a new plan")
        self.run = None
        self.approval = None
        self.capture.grant = None
        try:
            outcome: Outcome = await asyncio.to_thread(
                self.gate.submit, self.trigger, plan, planner_context=self.shown)
        except Exception as exc:  # fail closed, named: nothing was granted
            self.last = {"verdict": "deny",
                         "summary": f"the review failed: {type(exc).__name__}: {exc}"[:500]}
            return self.last
        body = _verdict(outcome)
        if outcome.review.verdict == "escalate" and outcome.approval:
            self.approval = outcome.approval
            body["next"] = "wait for the owner; poll plan_status"
        elif self.capture.grant is not None and outcome.run is not None:
            self._start(self.capture.grant, outcome.run_id)
            body["granted_tools"] = self.granted()
        self.last = body
        return body

    async def status(self) -> dict[str, Any]:
        if self.approval is not None:
            approval = await asyncio.to_thread(self.gate.approvals.get, self.approval)
            if approval.status == "pending":
                return {"status": "waiting for the owner", "approval": approval.id}
            if approval.status != "approved":
                self.approval = None
                self.last = {"status": f"the owner's answer: {approval.status}",
                             "approval": approval.id}
                return self.last
            self.capture.grant = None
            try:
                outcome = await asyncio.to_thread(self.gate.run_approved, approval.id)
            except Exception as exc:  # re-reviewed differently, or failed: nothing granted
                self.approval = None
                message = str(exc) if isinstance(exc, PlangateError) else f"{type(exc).__name__}: {exc}"
                self.last = {"status": "refused", "message": message[:500]}
                return self.last
            self.approval = None
            if self.capture.grant is None:
                self.last = {"status": "refused", "message": "no grant"}
                return self.last
            self._start(self.capture.grant, outcome.run_id)
            self.last = {"status": "granted", "run_id": outcome.run_id,
                         "granted_tools": self.granted()}
            return self.last
        if self.run is not None:
            async with self._run_lock:
                state = self.run.status()
            return {**state, "granted_tools": self.granted()}
        return self.last

    def _start(self, grant: Grant, run_id: str) -> None:
        self.run = GatedRun({"policy": self.gate.policy, "resources": self.gate.resources},
                            grant, run_id, audit=self.gate.audit, max_refusals=self.max_refusals)
        self._granted = sorted(set(_tools_of(grant.checked.plan.steps)) & set(self.upstreams.routes))
        self._active = time.monotonic()
        self.run.start()

    async def forward(self, name: str, args: dict[str, Any]) -> Any:
        async with self._run_lock:  # one call at a time: the plan is a sequence
            return await self._forward(name, args)

    async def _forward(self, name: str, args: dict[str, Any]) -> Any:
        run = self.run
        if run is None:
            why = "no granted plan: call submit_plan first"
            self._refused(name, args, why)
            return _error(f"refused: {why}; nothing was forwarded")
        if run.done:
            self._refused(name, args, "the grant has ended", run.run_id)
            return _error(f"refused: {run.ending()}")
        if time.monotonic() - self._active > self.idle_s:
            run.close(f"no call for {self.idle_s:g} s")
            return _error(f"refused: {run.ending()}")
        self._active = time.monotonic()
        if name not in self._granted:
            # Not in the plan at all: refused here, counted against the grant.
            run.refusals += 1
            self._refused(name, args, "not granted", run.run_id)
            if run.refusals >= run.max_refusals:
                run.close(f"{run.refusals} refused calls")
            return _error(f"refused: {name!r} is not a tool of the granted plan; "
                          "nothing was forwarded")
        alias = path_alias(self.catalog.tools[name], args)
        if alias:
            # Checked before the executor: the step stays pending and nothing is forwarded.
            run.refusals += 1
            self._refused(name, args, alias, run.run_id)
            if run.refusals >= run.max_refusals:
                run.close(f"{run.refusals} refused calls")
            return _error(f"refused: {alias}; nothing was forwarded")
        kind, step = run.drive(Request(name, args))
        if kind != "forward":
            return _error(str(step))
        answered = False
        try:
            result = await self.upstreams.call(name, args)
            answered = True
            kind, event = run.drive(result)
        except Exception as exc:
            if answered:
                raise
            answered = True
            kind, event = run.drive(exc)
            self._saw(self._failure_label(name, args))  # an error may quote what it read
            return _error(f"upstream call failed: {describe(exc, self.upstreams.call_timeout)}; "
                          "the step failed", step=step, run=run.run_id)
        finally:
            if not answered:  # cancelled: whatever happened upstream, the step failed
                run.drive(RuntimeError("the agent cancelled the call"))
        if kind != "labelled" or not event.get("ok", False):
            # The upstream's error text reaches the agent unlabelled by the executor: it
            # may quote what the tool read, so it counts as the tool's output.
            self._saw(self._failure_label(name, args))
            why = result_text(result) or (event.get("error") if kind == "labelled" else event)
            return _error(f"step {step!r} failed: {why}"[:1000], step=step, run=run.run_id)
        self._saw(Label.from_json(event["label"]))
        meta = {LABEL_KEY: event["label"], "dev.plangate/step": step,
                "dev.plangate/run": run.run_id}
        return result.model_copy(update={"meta": meta})

    def _failure_label(self, name: str, args: Mapping[str, Any]) -> Label:
        """What a failed call's error text may carry: the tool's output label and every
        stored label of what it reads (the executor labels only results, and an error
        message can quote the file it choked on)."""
        from plangate.labels import join_all
        from plangate.resources import stored_reads

        spec = self.catalog.tools[name]
        return join_all([spec.output_label, *stored_reads(spec, args, self.gate.resources)])

    def _saw(self, label: Label) -> None:
        self.shown = label if self.shown is None else self.shown.join(label)

    def _refused(self, name: str, args: Mapping[str, Any], why: str, run_id: str = "") -> None:
        from plangate.execute.values import args_digest

        self.gate.audit.append("mcp_refused", run_id or "no-run", {
            "tool": name[:200], "args_sha256": args_digest(args), "why": why})

    def close(self) -> None:
        if self.run is not None:
            self.run.close("the gateway is shutting down")


def path_alias(spec: ToolSpec, args: Mapping[str, Any]) -> str:
    """Why a path argument that names a stored resource (`ws:{path}`) is not the one
    spelling of its file, or "". An upstream resolves a relative path, `~/`, `./`, `//`
    or a decomposed Unicode name to a file that labels store under another name: the
    label of what was written there would not be found. Such paths must be absolute,
    normalised and NFC."""
    patterns = " ".join([*spec.reads, *spec.writes, *spec.executes, *spec.loads,
                         *spec.discloses])
    for arg in sorted(set(re.findall(r"\{([^}]*)\}", patterns))):
        argspec = spec.args.get(arg)
        if argspec is None or argspec.sink != "path" or arg not in args:
            continue
        value = args[arg]
        for item in value if isinstance(value, list) else [value]:
            if not (isinstance(item, str) and item.startswith("/") and not item.startswith("//")
                    and posixpath.normpath(item) == item and "\\" not in item
                    and unicodedata.normalize("NFC", item) == item):
                return (f"argument {arg!r} of {spec.name} names a stored resource, so it must be "
                        f"an absolute, normalised path (NFC), not {str(item)[:200]!r}")
    return ""


def _tools_of(steps: list[Step]) -> list[str]:
    out: list[str] = []
    for step in steps:
        if isinstance(step, CallStep):
            out.append(step.tool)
        elif isinstance(step, ForEachStep):
            out.extend(_tools_of(step.steps))
    return out


def _verdict(outcome: Outcome) -> dict[str, Any]:
    review = outcome.review
    return {"verdict": review.verdict, "run_id": outcome.run_id, "rules": list(review.rules),
            "summary": review.summary, "approval": outcome.approval, "error": review.error}


def _ok(body: Mapping[str, Any], *, error_if_denied: bool = False) -> Any:
    import mcp_types as types

    text = json.dumps(body, sort_keys=True, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content=dict(body),
                                is_error=error_if_denied and body.get("verdict") == "deny")


def _error(text: str, **meta: str) -> Any:
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True,
                                _meta={f"dev.plangate/{k}": v for k, v in meta.items()} or None)
