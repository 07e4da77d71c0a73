"""One granted plan, run by the core's executor, one agent call at a time.

The agent makes the calls; the executor decides them. `GatedRun` runs
`plangate.execute.Executor` on the grant in a thread of its own, with

* an audit sink (`_Sink`) that holds the executor at each `call` record until the agent
  asks for a call, and lets the record (and so the call) through only if the agent's tool
  and exact arguments (SHA-256 of canonical JSON) are those the executor resolved for that
  step, after its runtime checks (argument types, the policy with every value known,
  budgets, order, loops). Anything else is refused and nothing is forwarded; the executor
  keeps waiting at the same step. Too many refusals, or no call for `idle_s`, close it;
* tools (`_Tools`) that hand the matched call to the agent's request, which forwards it to
  the upstream and hands the result back; the executor then labels it
  (`plangate.resources.call_output_label`) and the label goes back with the result.

So order, arguments, loops, skipped dependents, runtime escalations and labels are the
executor's own, not a copy; the gateway only moves calls between two threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plangate.errors import AuditError
from plangate.execute import Executor, Grant, RunResult
from plangate.execute.executor import args_digest
from plangate.protocols import ToolResult

CLOSE = object()


class Closed(AuditError):
    """Ends a run at its next call (closed by the gateway, idle, or too many refusals).
    An `AuditError`, so the executor stops at once and records nothing more."""


class UpstreamFailed(Exception):
    """The upstream call did not return a result (transport failure, timeout, is_error)."""


def _settle(fut: asyncio.Future[Any], value: Any) -> None:
    if not fut.done():
        fut.set_result(value)


@dataclass(eq=False)
class Request:
    """One `tools/call` of the agent's, on its way through the run."""

    tool: str
    args: dict[str, Any]
    loop: asyncio.AbstractEventLoop
    digest: str = ""
    decided: asyncio.Future[tuple[str, str]] = field(init=False)   # ("forward"|"refuse", text)
    labelled: asyncio.Future[dict[str, Any]] = field(init=False)   # the executor's result event
    _value: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=1))

    def __post_init__(self) -> None:
        self.digest = args_digest(self.args)
        self.decided = self.loop.create_future()
        self.labelled = self.loop.create_future()

    # Called from the executor's thread.
    def decide(self, verdict: str, text: str) -> None:
        self.loop.call_soon_threadsafe(_settle, self.decided, (verdict, text))

    def label(self, event: Mapping[str, Any]) -> None:
        self.loop.call_soon_threadsafe(_settle, self.labelled, dict(event))

    # Called from the agent's side, once: the upstream's result or the exception.
    def deliver(self, value: Any) -> None:
        with contextlib.suppress(queue.Full):  # delivered once; later ones are moot
            self._value.put_nowait(value)


class GatedRun:
    def __init__(self, executor_args: Mapping[str, Any], grant: Grant, run_id: str, *,
                 audit: Any, idle_s: float, call_s: float, max_refusals: int) -> None:
        self.grant = grant
        self.run_id = run_id
        self.audit = audit
        self.idle_s = idle_s
        self.call_s = call_s
        self.max_refusals = max_refusals
        self.refusals = 0
        self.blocked: dict[str, str] = {}  # step -> why the executor blocked it
        self.current: Request | None = None
        self.result: RunResult | None = None
        self.closed_because = ""
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._executor = Executor(tools=_Tools(self), audit=_Sink(self), **executor_args)
        self._thread = threading.Thread(target=self._main, name=f"plangate-run-{run_id}",
                                        daemon=True)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> None:
        self._thread.start()

    def close(self, why: str) -> None:
        """Stop the run at its next call; queued requests are refused."""
        if not self.done:
            self.closed_because = self.closed_because or why
            self._inbox.put(CLOSE)

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def offer(self, request: Request) -> bool:
        """Queue an agent's call for the executor; False if the run has ended."""
        with self._lock:
            if self.done:
                return False
            self._inbox.put(request)
            return True

    def status(self) -> dict[str, Any]:
        if not self.done:
            return {"status": "running", "run_id": self.run_id, "refusals": self.refusals}
        result = self.result
        if result is None:
            return {"status": "closed", "run_id": self.run_id, "message": self.closed_because}
        return {"status": result.status, "run_id": self.run_id, "message": result.message,
                "halted_step": result.halted_step, "skipped": list(result.skipped),
                "calls": len(result.calls), "refusals": self.refusals}

    # -- the executor's thread ---------------------------------------------------------

    def _main(self) -> None:
        try:
            self.result = self._executor.run(self.grant, self.run_id)
        except Closed as exc:
            self.closed_because = self.closed_because or str(exc)
        except Exception as exc:  # an audit failure or a bug: the run is over, fail closed
            self.closed_because = f"run stopped: {type(exc).__name__}: {exc}"[:300]
        finally:
            with self._lock:
                self._done.set()
                why = self._ending()
                while True:
                    try:
                        item = self._inbox.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, Request):
                        item.decide("refuse", why)
            if self.result is None:
                with contextlib.suppress(Exception):  # a broken audit: the run is over anyway
                    self.audit.append("mcp_closed", self.run_id, {"why": self.closed_because})

    def _ending(self) -> str:
        if self.result is None:
            return f"the grant is closed ({self.closed_because}); nothing was forwarded"
        blocked = "; ".join(self.blocked.values())
        return (f"the granted plan has no more calls (run {self.result.status}"
                + (f": {blocked}" if blocked else "") + "); nothing was forwarded")

    def next_request(self) -> Request:
        item = self._inbox.get(timeout=self.idle_s) if self.idle_s else self._inbox.get()
        if item is CLOSE:
            raise Closed(self.closed_because or "closed by the gateway")
        assert isinstance(item, Request)
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
            run.current.label(data)
            run.current = None
        return seq

    def _call(self, run_id: str, data: Mapping[str, Any]) -> int:
        run = self.run
        while True:
            try:
                request = run.next_request()
            except queue.Empty:
                raise Closed(f"no call for {run.idle_s:g} s") from None
            if request.tool == data.get("tool") and request.digest == data.get("args_sha256"):
                try:
                    seq = int(run.audit.append("call", run_id, data))
                except Exception:
                    request.decide("refuse", "the audit log could not record the call; "
                                             "nothing was forwarded")
                    raise
                run.current = request
                request.decide("forward", str(data.get("step")))
                return seq
            why = self._why(request, data)
            run.refusals += 1
            try:
                run.audit.append("mcp_refused", run_id, {
                    "tool": request.tool, "args_sha256": request.digest,
                    "expected_step": data.get("step"), "why": why})
            finally:
                request.decide("refuse", why)
            if run.refusals >= run.max_refusals:
                raise Closed(f"{run.refusals} refused calls")

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
    """The executor's tools: the call it decided goes to the agent's request, which
    forwards it upstream and hands back the result."""

    def __init__(self, run: GatedRun) -> None:
        self.run = run

    def call(self, tool: str, args: Mapping[str, Any]) -> ToolResult:
        request = self.run.current
        if request is None:  # cannot happen: `call` is recorded only for a request
            raise UpstreamFailed("no request for this call")
        try:
            value = request._value.get(timeout=self.run.call_s + 30.0)
        except queue.Empty:
            raise UpstreamFailed(f"no upstream result within {self.run.call_s:g} s") from None
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
