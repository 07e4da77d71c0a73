"""One granted plan, run by the core's executor, one agent call at a time.

The agent makes the calls; the executor decides them. `GatedRun` runs
`plangate.execute.Executor` on the grant in a greenlet, in the gateway's own thread, and
the agent's requests drive it:

* its audit sink (`_Sink`) pauses the executor at each `call` record until the agent asks
  for a call, and lets the record (and so the call) through only if the agent's tool and
  exact arguments (SHA-256 of canonical JSON) are those the executor resolved for that
  step, after its runtime checks (argument types, the policy with every value known,
  budgets, order, loops). Anything else is refused and nothing is forwarded; the executor
  keeps waiting at the same step. Too many refusals close the grant;
* its tools (`_Tools`) pause at the executor's tool call, after the record and the labels
  of what the call writes are stored: only then does the agent's request go upstream.
  The result is handed back; the executor labels it
  (`plangate.resources.call_output_label`) and pauses again: the label goes back with it.

So order, arguments, loops, skipped dependents, runtime escalations and labels are the
executor's own, not a copy; the gateway only carries calls in and results back. A greenlet
rather than a thread: no handoff between threads on the path of a call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from plangate.errors import AuditError
from plangate.execute import Executor, Grant, RunResult
from plangate.execute.values import args_digest
from plangate.protocols import ToolResult

#: Switched into a paused run: stop at the next call / move on to the next call and wait.
CLOSE = object()
PEEK = object()


class Closed(AuditError):
    """Ends a run at its next call (closed by the gateway, or too many refusals).
    An `AuditError`, so the executor stops at once and records nothing more."""


class UpstreamFailed(Exception):
    """The upstream call did not return a result (transport failure, timeout, is_error)."""


class Request:
    """One `tools/call` of the agent's."""

    __slots__ = ("args", "digest", "tool")

    def __init__(self, tool: str, args: dict[str, Any]) -> None:
        self.tool = tool
        self.args = args
        self.digest = args_digest(args)


class GatedRun:
    def __init__(self, executor_args: Mapping[str, Any], grant: Grant, run_id: str, *,
                 audit: Any, max_refusals: int) -> None:
        from greenlet import greenlet

        self.grant = grant
        self.run_id = run_id
        self.audit = audit
        self.max_refusals = max_refusals
        self.refusals = 0
        self.blocked: dict[str, str] = {}  # step -> why the executor blocked it
        self.current: Request | None = None
        self.current_step = ""
        self.result: RunResult | None = None
        self.closed_because = ""
        self.next: Any = None  # what the driver switched in while the run was not asking
        self._executor = Executor(tools=_Tools(self), audit=_Sink(self), agent_runs_tools=True,
                                  **executor_args)
        self._green = greenlet(self._main)

    @property
    def done(self) -> bool:
        return bool(self._green.dead)

    def start(self) -> None:
        """Run up to the first call (or to the end, if the plan makes none)."""
        self._green.switch()

    def drive(self, item: Any) -> tuple[str, Any]:
        """Switch `item` (a Request, an upstream result or exception, PEEK or CLOSE) into
        the run; returns what it answers when it pauses: ("forward", step),
        ("refuse", why), ("labelled", result event), ("idle", None), or ("ended", why)."""
        if not self.done:
            answer = self._green.switch(item)
            if not self.done:
                return answer  # type: ignore[no-any-return]
        return "ended", self.ending()

    def close(self, why: str) -> None:
        self.closed_because = self.closed_because or why
        for _ in range(3):  # paused mid-call, the first CLOSE only fails that call
            if self.done:
                return
            self.drive(CLOSE)

    def status(self) -> dict[str, Any]:
        if not self.done and self.next is None:
            self.drive(PEEK)  # on to the next call (or the end): the state is then exact
        if not self.done:
            return {"status": "running", "run_id": self.run_id, "refusals": self.refusals}
        result = self.result
        if result is None:
            return {"status": "closed", "run_id": self.run_id, "message": self.closed_because}
        return {"status": result.status, "run_id": self.run_id, "message": result.message,
                "halted_step": result.halted_step, "skipped": list(result.skipped),
                "calls": len(result.calls), "refusals": self.refusals}

    def ending(self) -> str:
        if self.result is None:
            return f"the grant is closed ({self.closed_because}); nothing was forwarded"
        blocked = "; ".join(self.blocked.values())
        return (f"the granted plan has no more calls (run {self.result.status}"
                + (f": {blocked}" if blocked else "") + "); nothing was forwarded")

    # -- inside the run's greenlet -----------------------------------------------------

    def _main(self) -> None:
        try:
            self.result = self._executor.run(self.grant, self.run_id)
        except Closed as exc:
            self.closed_because = self.closed_because or str(exc)
        except Exception as exc:  # an audit failure or a bug: the run is over, fail closed
            self.closed_because = f"run stopped: {type(exc).__name__}: {exc}"[:300]
        if self.result is None:
            with contextlib.suppress(Exception):  # a broken audit: the run is over anyway
                self.audit.append("mcp_closed", self.run_id, {"why": self.closed_because})

    def pause(self, answer: tuple[str, Any]) -> Any:
        parent = self._green.parent
        assert parent is not None
        return parent.switch(answer)

    def take(self, first: Any) -> Request:
        """The next request: `first` if given, else wait for one (PEEK waits on)."""
        item = first
        while item is None or item is PEEK:
            item = self.pause(("idle", None))
        if item is CLOSE:
            raise Closed(self.closed_because or "closed by the gateway")
        if not isinstance(item, Request):
            raise Closed(f"unexpected input {type(item).__name__}")
        return item


class _Sink:
    """The executor's audit sink: real appends, with each `call` record held for the
    agent's matching request (see the module's docstring)."""

    def __init__(self, run: GatedRun) -> None:
        self.run = run

    def append(self, kind: str, run_id: str, data: Mapping[str, Any]) -> int:
        run = self.run
        if kind == "call":
            return self._call(run_id, data)
        seq = int(run.audit.append(kind, run_id, data))
        if kind == "block":
            run.blocked[str(data.get("step"))] = (f"step {data.get('step')!r} ({data.get('tool')}) "
                                                  f"was blocked at run time: {data.get('verdict')} "
                                                  f"({', '.join(data.get('rules', []))})")
        if kind == "result" and run.current is not None:
            run.current = None
            run.next = run.pause(("labelled", dict(data)))
        return seq

    def _call(self, run_id: str, data: Mapping[str, Any]) -> int:
        run = self.run
        first, run.next = run.next, None
        request = run.take(first)
        while True:
            if request.tool == data.get("tool") and request.digest == data.get("args_sha256"):
                seq = int(run.audit.append("call", run_id, data))
                run.current = request
                run.current_step = str(data.get("step"))
                return seq
            why = self._why(request, data)
            run.refusals += 1
            run.audit.append("mcp_refused", run_id, {
                "tool": request.tool, "args_sha256": request.digest,
                "expected_step": data.get("step"), "why": why})
            if run.refusals >= run.max_refusals:
                raise Closed(f"{run.refusals} refused calls")
            request = run.take(run.pause(("refuse", why)))

    def _why(self, request: Request, data: Mapping[str, Any]) -> str:
        blocked = "; ".join(v for v in self.run.blocked.values())
        if request.tool != data.get("tool"):
            text = (f"refused: the plan's next call is step {data.get('step')!r} "
                    f"({data.get('tool')}), not {request.tool}")
        else:
            text = (f"refused: step {data.get('step')!r} ({request.tool}) is granted only with "
                    "the arguments the plan resolves to, and these differ")
        text += "; nothing was forwarded"
        return f"{text} ({blocked})" if blocked else text


class _Tools:
    """The executor's tools: pause with the decided call; the driver forwards the agent's
    request upstream and switches the result (or the failure) back in."""

    def __init__(self, run: GatedRun) -> None:
        self.run = run

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        value = self.run.pause(("forward", self.run.current_step))
        if value is CLOSE:
            raise UpstreamFailed("the gateway closed the run during the call")
        if isinstance(value, BaseException):
            raise UpstreamFailed(str(value) or type(value).__name__)
        if getattr(value, "is_error", False):
            raise UpstreamFailed("the upstream tool reported an error: "
                                 + result_text(value)[:300])
        return ToolResult(result_value(value))


def result_value(result: Any) -> Any:
    """What a plan step's output is: the result's structured content when it has one,
    else its text (one block: a string; several: a list of strings)."""
    structured = getattr(result, "structured_content", None)
    if structured is not None:
        return structured
    texts = [c.text for c in getattr(result, "content", []) if getattr(c, "type", "") == "text"]
    return texts[0] if len(texts) == 1 else texts


def result_text(result: Any) -> str:
    return " ".join(c.text for c in getattr(result, "content", []) if getattr(c, "type", "") == "text")
