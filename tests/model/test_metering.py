"""Metering and budgets: every call recorded (failed ones too), spans and metrics, worst
case reserved before the call and settled after, refusals not made and audited, pools
separate, no overshoot under a concurrent burst."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from plangate.audit import AuditLog
from plangate.audit.usage import UsageLog
from plangate.model import make_client, parse_models, parse_spec
from plangate.model.budgets import Budgets
from plangate.model.client import Message, ModelRequest, ModelResponse, Structured, input_token_bound
from plangate.model.config import ClassBudget, ModelConfig
from plangate.model.errors import BudgetExceeded, ModelUnavailable
from plangate.model.metering import Meter, attribute
from plangate.model.testing import Reply, ScriptedModelServer

SCHEMA = {"type": "object", "properties": {"value": {"type": "boolean"}}, "required": ["value"]}
ASK = ModelRequest(purpose="extractor", system="s", messages=(Message(role="user", content="hi"),),
                   output=Structured(name="plangate_extract", schema=SCHEMA), max_tokens=50)


class Instant:
    """A client that answers at once with fixed usage (for ledger arithmetic)."""

    def __init__(self, config: ModelConfig, tokens: tuple[int, int] = (40, 10)) -> None:
        self.config = config
        self.tokens = tokens
        self.calls = 0
        self._lock = threading.Lock()

    def complete(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.calls += 1
        return ModelResponse(text='{"value": true}', tokens_in=self.tokens[0], tokens_out=self.tokens[1],
                             model=self.config.model)


def budgets(audit: AuditLog, **classes: dict[str, Any]) -> tuple[Budgets, UsageLog]:
    usage = UsageLog(audit)
    return Budgets({k: ClassBudget(**v) for k, v in classes.items()}, usage=usage), usage


def test_every_call_is_recorded_with_cost_latency_and_attribution() -> None:
    audit = AuditLog(":memory:")
    usage = UsageLog(audit)
    meter = Meter(usage=usage, audit=audit)
    with ScriptedModelServer([Reply(json={"value": True}, usage=(1000, 500)), Reply(status=500)]) as server:
        client = meter.wrap(make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url,
                                                   max_retries=0)))
        with attribute(run_id="run_1", trust_class="unknown", principal="carol@x.example"):
            client.complete(ASK)
            with pytest.raises(ModelUnavailable):
                client.complete(ASK)
    ok, failed = list(usage.records(run_id="run_1"))
    assert (ok.tokens_in, ok.tokens_out, ok.purpose, ok.model, ok.trust_class, ok.principal) == (
        1000, 500, "extractor", "gpt-4o-mini", "unknown", "carol@x.example")
    assert ok.cost_usd == pytest.approx(1000 * 0.15e-6 + 500 * 0.6e-6)   # genai-prices' gpt-4o-mini
    assert ok.latency_ms > 0 and ok.ok
    assert not failed.ok and "HTTP 500" in (failed.error or "") and failed.tokens_in == 0
    assert usage.summary("class")[0]["calls"] == 2


def test_spans_follow_the_genai_conventions_and_metrics_count() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter = Meter()
    meter.tracer = provider.get_tracer("test")
    from prometheus_client import REGISTRY

    def calls() -> float:
        return REGISTRY.get_sample_value("plangate_model_calls_total", {
            "purpose": "extractor", "trust_class": "owner", "provider": "openai", "model": "gpt-4o-mini",
            "outcome": "ok"}) or 0.0
    before = calls()
    with ScriptedModelServer([Reply(json={"value": True}, usage=(11, 3))]) as server, \
            attribute(run_id="run_2", trust_class="owner", principal="o@x.example"):
        meter.wrap(make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url))).complete(ASK)
    (span,) = exporter.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == "chat gpt-4o-mini" and span.kind == trace.SpanKind.CLIENT
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (11, 3)
    assert attrs["server.address"] == "127.0.0.1" and attrs["plangate.run_id"] == "run_2"
    assert calls() == before + 1


def test_over_budget_the_call_is_not_made_and_the_refusal_is_audited() -> None:
    audit = AuditLog(":memory:")
    ledger, usage = budgets(audit, unknown={"calls": 1})
    with ScriptedModelServer(lambda ex: Reply(json={"value": True})) as server:
        client = Meter(usage=usage, audit=audit, budgets=ledger).wrap(
            make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url)))
        with attribute(run_id="run_3", trust_class="unknown", principal="a@x.example"):
            client.complete(ASK)
            with pytest.raises(BudgetExceeded, match="class 'unknown' is over its calls per day limit") as err:
                client.complete(ASK)
        assert len(server.exchanges) == 1
    assert err.value.limit == "class:unknown:calls_per_day"
    (event,) = [e for e in audit.tail(50) if e.kind == "model_refused"]
    assert event.data["limit"] == "class:unknown:calls_per_day" and event.run_id == "run_3"
    assert usage.summary()[0]["refused"] == 1


def test_pools_are_separate_per_class_and_per_principal() -> None:
    """Strangers exhaust their own shares and then their class's pool; the owner's is untouched.
    Each call reserves its worst case (`bound`) and settles to 50 tokens."""
    bound = input_token_bound(ASK) + 50
    audit = AuditLog(":memory:")
    ledger, usage = budgets(audit, unknown={"tokens": 3 * 50 + bound - 1, "per_principal": {"tokens": bound + 49}},
                            owner={"tokens": bound})
    client = Meter(usage=usage, budgets=ledger).wrap(Instant(parse_spec("openai:gpt-4o-mini", max_tokens=50)))
    outcomes = []
    for who in ("a", "a", "b", "c", "d"):
        with attribute(run_id="r", trust_class="unknown", principal=f"{who}@x.example"):
            try:
                client.complete(ASK)
                outcomes.append("ok")
            except BudgetExceeded as exc:
                outcomes.append(exc.limit)
    assert outcomes == ["ok", "principal:unknown:tokens_per_day", "ok", "ok", "class:unknown:tokens_per_day"]
    with attribute(run_id="r", trust_class="owner", principal="owner@x.example"):
        client.complete(ASK)


def test_a_concurrent_burst_never_overshoots() -> None:
    """64 threads against a budget of 10 calls and 3,000 tokens: never more spent than allowed,
    because each call holds its worst case until it settles."""
    audit = AuditLog(":memory:")
    ledger, usage = budgets(audit, unknown={"calls": 10, "tokens": 3000})
    inner = Instant(parse_spec("openai:gpt-4o-mini", max_tokens=50), tokens=(300, 50))
    client = Meter(usage=usage, budgets=ledger).wrap(inner)
    refused: list[str] = []
    start = threading.Barrier(64)

    def one(i: int) -> None:
        start.wait()
        with attribute(run_id=f"r{i}", trust_class="unknown", principal=f"p{i}@x.example"):
            try:
                client.complete(ASK)
            except BudgetExceeded as exc:
                refused.append(exc.limit)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = usage.summary("class")[0]
    assert inner.calls == total["ok"] <= 10
    assert total["tokens_in"] + total["tokens_out"] <= 3000
    assert len(refused) == 64 - inner.calls


def test_cost_budget_needs_a_price() -> None:
    """A cost limit on a model without a known price refuses rather than guessing."""
    ledger, usage = budgets(AuditLog(":memory:"), default={"cost_usd": 1.0})
    client = Meter(usage=usage, budgets=ledger).wrap(Instant(parse_spec("openai:local-llama")))
    with attribute(run_id="r", trust_class="anyone", principal="p"), \
            pytest.raises(BudgetExceeded, match="no price is known"):
        client.complete(ASK)
    priced = parse_spec("openai:local-llama", price={"input_per_mtok": 1, "output_per_mtok": 2})
    with attribute(run_id="r", trust_class="anyone", principal="p"):
        Meter(usage=usage, budgets=ledger).wrap(Instant(priced)).complete(ASK)


def test_streamed_usage_is_settled_exactly_and_survives_a_restart(tmp_path: Any) -> None:
    """The stream's reported usage is what the ledger keeps; a new process over the same
    database starts from what was spent in the window."""
    db = str(tmp_path / "audit.db")
    audit = AuditLog(db)
    ledger, usage = budgets(audit, unknown={"tokens": 2000})
    with ScriptedModelServer(lambda ex: Reply(json={"value": True}, usage=(700, 20))) as server:
        config = parse_spec("anthropic:claude-3-5-haiku-latest", base_url=server.anthropic_url, stream=True)
        client = Meter(usage=usage, budgets=ledger).wrap(make_client(config))
        with attribute(run_id="r", trust_class="unknown", principal="p@x.example"):
            client.complete(ASK)
    state = ledger.state()["class:unknown:unknown"]
    assert state["tokens"] == 720 and state["reserved_calls"] == 0
    again, _ = budgets(AuditLog(db), unknown={"tokens": 2000})
    assert again.state()["class:unknown:unknown"]["tokens"] == 720


def test_models_file_budgets_parse() -> None:
    models = parse_models({"planner": {"provider": "openai", "model": "gpt-4o-mini"},
                           "budgets": {"unknown": {"window": "hour", "calls": 5,
                                                   "per_principal": {"calls": 1}}}})
    assert models.budgets["unknown"].per_principal is not None
