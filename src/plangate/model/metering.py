"""Every model call metered, budgeted and traced: `Meter.wrap(client)`.

    meter = Meter(audit=gate.audit, budgets=Budgets(models.budgets, usage=UsageLog(gate.audit)))
    planner_client = meter.wrap(OpenAIClient(config))
    with attribute(run_id=..., trust_class=..., principal=...):
        planner_client.complete(request)          # reserved, made, settled, recorded

A metered call (1) reserves its worst case in the budgets of the run's trust class and
principal (`BudgetExceeded` if that would break a limit: the call is not made, the refusal
is audited), (2) runs in an OpenTelemetry span that follows the GenAI semantic
conventions (`chat {model}`, `gen_ai.*` attributes), (3) settles the reservation to the
reported usage, (4) writes a usage row (tokens in and out, cost from genai-prices,
latency, model, purpose, trust class, principal, run id) and (5) updates the Prometheus
metrics. Failed calls are rows too, with what they cost.

Which run, class and principal a call is for comes from `attribute(...)`, a context
variable the agent sets around each run: the extractor and the reviewer are called from
inside the gate, which knows nothing of models. A call made outside any run is
attributed to the class `unattributed`.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from plangate.audit.usage import UsageLog, UsageRecord
from plangate.model.budgets import Budgets
from plangate.model.client import ModelClient, ModelRequest, ModelResponse, input_token_bound, max_tokens_of
from plangate.model.config import ModelConfig
from plangate.model.errors import BudgetExceeded, ModelError, ModelOutputError, ModelUnavailable
from plangate.model.prices import NANO, PRICES, Prices
from plangate.protocols import AuditSink


@dataclass(frozen=True, slots=True, kw_only=True)
class CallContext:
    run_id: str
    trust_class: str
    principal: str


UNATTRIBUTED = CallContext(run_id="", trust_class="unattributed", principal="")
_CURRENT: contextvars.ContextVar[CallContext] = contextvars.ContextVar("plangate_model_call",
                                                                       default=UNATTRIBUTED)


@contextlib.contextmanager
def attribute(*, run_id: str, trust_class: str, principal: str) -> Iterator[CallContext]:
    """Attribute the model calls made inside this block to one run, class and principal."""
    ctx = CallContext(run_id=run_id, trust_class=trust_class, principal=principal)
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def current_call() -> CallContext:
    return _CURRENT.get()


class Meter:
    """Where metered calls are recorded and which budgets they draw on."""

    def __init__(self, *, usage: UsageLog | None = None, audit: AuditSink | None = None,
                 budgets: Budgets | None = None, prices: Prices = PRICES,
                 clock: Callable[[], float] = time.time) -> None:
        self.usage = usage
        self.audit = audit
        self.budgets = budgets
        self.prices = prices
        self.clock = clock
        self.metrics = _Metrics.get()
        self.tracer = _tracer()

    def wrap(self, client: ModelClient) -> MeteredClient:
        return MeteredClient(client, self)


class MeteredClient:
    """A `ModelClient` whose every call is budgeted, traced, recorded and counted."""

    def __init__(self, inner: ModelClient, meter: Meter) -> None:
        self.inner = inner
        self.meter = meter

    @property
    def config(self) -> ModelConfig:
        return self.inner.config

    def complete(self, request: ModelRequest) -> ModelResponse:
        m = self.meter
        cfg = self.inner.config
        ctx = _CURRENT.get()
        max_out = max_tokens_of(request, cfg)
        bound_in = input_token_bound(request)
        # An extraction reads data the trigger's principal may not see: it is charged one
        # fixed amount, so its budget never depends on how long that data is.
        fixed = request.fixed_input is not None
        if request.fixed_input is not None:
            if bound_in > request.fixed_input:
                raise ModelOutputError(f"a {request.purpose} request of up to {bound_in} tokens is "
                                       f"over its fixed size ({request.fixed_input})")
            bound_in = request.fixed_input
        worst_cost = m.prices.cost_nano(cfg, bound_in, max_out)
        reservation = None
        if m.budgets is not None:
            try:
                reservation = m.budgets.reserve(ctx.trust_class, ctx.principal,
                                                tokens=bound_in + max_out, cost=worst_cost)
            except BudgetExceeded as exc:
                self._refused(request, ctx, exc)
                raise
        start = time.perf_counter()
        with m.tracer.start_as_current_span(f"chat {cfg.model}", kind=_client_kind()) as span:
            try:
                response = self.inner.complete(request)
            except ModelError as exc:
                latency = time.perf_counter() - start
                # A timeout or a dropped connection may have been billed: charge the worst
                # case. An error status was not; an answer we refused was (its input, and
                # at most max_tokens of output).
                if isinstance(exc, ModelUnavailable):
                    charged = (bound_in, max_out) if exc.status is None else (0, 0)
                    attempts = exc.attempts
                else:
                    charged, attempts = (bound_in, max_out), 1
                cost = m.prices.cost_nano(cfg, *charged)
                if reservation is not None and m.budgets is not None:
                    m.budgets.settle(reservation, tokens=bound_in + max_out if fixed else sum(charged),
                                     cost=worst_cost if fixed else cost)
                _span_attrs(span, cfg, request, ctx, None, error=type(exc).__name__)
                self._record(request, ctx, charged, cost, latency, attempts=attempts, ok=False,
                             error=str(exc)[:500], streamed=cfg.stream)
                raise
            latency = time.perf_counter() - start
            tokens_in, tokens_out = response.tokens_in, response.tokens_out
            if not response.usage_reported:
                tokens_in, tokens_out = max(tokens_in, bound_in), max(tokens_out, max_out)
            cost = m.prices.cost_nano(cfg, tokens_in, tokens_out)
            if reservation is not None and m.budgets is not None:
                m.budgets.settle(reservation,
                                 tokens=bound_in + max_out if fixed else tokens_in + tokens_out,
                                 cost=worst_cost if fixed else cost)
            _span_attrs(span, cfg, request, ctx, response)
        self._record(request, ctx, (tokens_in, tokens_out), cost, latency, attempts=response.attempts,
                     ok=True, error=None, streamed=response.streamed, model=response.model)
        return response

    def charge_unmade(self, request: ModelRequest, count: int) -> None:
        """Charge `count` calls of `request`'s fixed size that were not made, as if they had
        been (its worst case each; no limit refuses a charge after the fact), with a usage
        row each (`attempts` 0, so restarts count them too). A run charges the extractions
        its plan could have made but did not (`ModelExtractor.settle_run`): how many it made
        may depend on what the run's principal may not read."""
        if count <= 0 or request.fixed_input is None:
            return
        m = self.meter
        cfg = self.inner.config
        ctx = _CURRENT.get()
        bound_in, max_out = request.fixed_input, max_tokens_of(request, cfg)
        worst_cost = m.prices.cost_nano(cfg, bound_in, max_out)
        for _ in range(count):
            if m.budgets is not None:
                m.budgets.charge(ctx.trust_class, ctx.principal, tokens=bound_in + max_out, cost=worst_cost)
            self._record(request, ctx, (bound_in, max_out), worst_cost, 0.0, attempts=0, ok=True,
                         error="not made: charged as the plan's bound", streamed=False)

    def _record(self, request: ModelRequest, ctx: CallContext, tokens: tuple[int, int], cost: int | None,
                latency: float, *, attempts: int, ok: bool, error: str | None, streamed: bool,
                model: str | None = None) -> None:
        m = self.meter
        cfg = self.inner.config
        usd = cost / NANO if cost is not None else None
        if m.usage is not None:
            m.usage.record(UsageRecord(
                ts=m.clock(), run_id=ctx.run_id, purpose=request.purpose, provider=cfg.provider,
                model=model or cfg.model, trust_class=ctx.trust_class, principal=ctx.principal,
                tokens_in=tokens[0], tokens_out=tokens[1], cost_usd=usd, latency_ms=latency * 1000,
                attempts=attempts, streamed=streamed, ok=ok, error=error))
        m.metrics.observe(request.purpose, ctx.trust_class, cfg, tokens, usd, latency,
                          "ok" if ok else "error")

    def _refused(self, request: ModelRequest, ctx: CallContext, exc: BudgetExceeded) -> None:
        m = self.meter
        cfg = self.inner.config
        if m.audit is not None:
            m.audit.append("model_refused", ctx.run_id or "-", {
                "purpose": request.purpose, "model": cfg.label, "trust_class": ctx.trust_class,
                "principal": ctx.principal, "limit": exc.limit, "message": str(exc)})
        if m.usage is not None:
            m.usage.record(UsageRecord(
                ts=m.clock(), run_id=ctx.run_id, purpose=request.purpose, provider=cfg.provider,
                model=cfg.model, trust_class=ctx.trust_class, principal=ctx.principal, tokens_in=0,
                tokens_out=0, cost_usd=0.0, latency_ms=0.0, attempts=0, ok=False,
                error=f"refused: {exc.limit}"))
        m.metrics.refused(request.purpose, ctx.trust_class, exc.limit)


# ---- OpenTelemetry ------------------------------------------------------------------------

class _NoSpan:
    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def __enter__(self) -> _NoSpan:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _NoTracer:
    def start_as_current_span(self, name: str, **kw: Any) -> _NoSpan:
        return _NoSpan()


def _tracer() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:  # the `models` extra is not installed
        return _NoTracer()
    return trace.get_tracer("plangate.model")


def _client_kind() -> Any:
    try:
        from opentelemetry.trace import SpanKind
    except ImportError:
        return None
    return SpanKind.CLIENT


def _span_attrs(span: Any, cfg: ModelConfig, request: ModelRequest, ctx: CallContext,
                response: ModelResponse | None, *, error: str | None = None) -> None:
    """GenAI semantic conventions (gen_ai.*), plus plangate's own attribution."""
    from urllib.parse import urlsplit

    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": cfg.provider,
        "gen_ai.system": cfg.provider,
        "gen_ai.request.model": cfg.model,
        "gen_ai.request.max_tokens": max_tokens_of(request, cfg),
        "plangate.model.purpose": request.purpose,
        "plangate.trust_class": ctx.trust_class,
        "plangate.run_id": ctx.run_id,
    }
    if request.output is not None:
        attrs["gen_ai.output.type"] = "json"
    if cfg.base_url:
        parts = urlsplit(cfg.base_url)
        if parts.hostname:
            attrs["server.address"] = parts.hostname
        if parts.port:
            attrs["server.port"] = parts.port
    if response is not None:
        attrs["gen_ai.response.model"] = response.model
        attrs["gen_ai.usage.input_tokens"] = response.tokens_in
        attrs["gen_ai.usage.output_tokens"] = response.tokens_out
        attrs["gen_ai.response.finish_reasons"] = (response.finish_reason,)
    if error is not None:
        attrs["error.type"] = error
    for key, value in attrs.items():
        span.set_attribute(key, value)


# ---- Prometheus ---------------------------------------------------------------------------

class _Metrics:
    """Process-wide Prometheus metrics (labels bounded: no principal, which is unbounded)."""

    _instance: _Metrics | None = None

    def __init__(self) -> None:
        try:
            import prometheus_client as prom
        except ImportError:  # the `models` extra is not installed
            self.enabled = False
            return
        self.enabled = True
        labels = ["purpose", "trust_class", "provider", "model"]
        self.calls = prom.Counter("plangate_model_calls", "Model calls made", [*labels, "outcome"])
        self.tokens = prom.Counter("plangate_model_tokens", "Model tokens", [*labels, "direction"])
        self.cost = prom.Counter("plangate_model_cost_usd", "Model cost in USD", labels)
        self.latency = prom.Histogram("plangate_model_latency_seconds", "Model call latency", labels)
        self.refusals = prom.Counter("plangate_model_refused", "Model calls refused by a budget",
                                     ["purpose", "trust_class", "limit"])

    @classmethod
    def get(cls) -> _Metrics:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    def observe(self, purpose: str, trust_class: str, cfg: ModelConfig, tokens: tuple[int, int],
                usd: float | None, latency: float, outcome: str) -> None:
        if not self.enabled:
            return
        lv = (purpose, trust_class, cfg.provider, cfg.model)
        self.calls.labels(*lv, outcome).inc()
        self.tokens.labels(*lv, "input").inc(tokens[0])
        self.tokens.labels(*lv, "output").inc(tokens[1])
        if usd:
            self.cost.labels(*lv).inc(usd)
        self.latency.labels(*lv).observe(latency)

    def refused(self, purpose: str, trust_class: str, limit: str) -> None:
        if self.enabled:
            self.refusals.labels(purpose, trust_class, limit).inc()


__all__ = ["UNATTRIBUTED", "CallContext", "Meter", "MeteredClient", "attribute", "current_call"]
