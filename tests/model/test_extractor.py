"""The quarantined extractor: a separate call with no tools, its answer constrained to the
declared type and validated; anything else stops the step and what depends on it."""

from __future__ import annotations

from typing import Any

import pytest

from plangate.gate import Gate
from plangate.model import make_client, parse_spec
from plangate.model.errors import ModelOutputError
from plangate.model.extractor import EXTRACT_SCHEMA_NAME, ModelExtractor, check_answer
from plangate.model.testing import Reply, ScriptedModelServer
from plangate.plan.model import ExtractType
from plangate.policy import CompiledPolicy
from plangate.testing import FixtureTools

from .conftest import stranger_trigger

DATE = ExtractType(kind="date")


def extract_plan() -> dict[str, Any]:
    return {"request_type": "meeting_request", "steps": [
        {"id": "day", "kind": "extract", "from": {"ref": "trigger", "path": "own"},
         "type": {"kind": "date"}, "question": "Which day does the sender propose?"},
        {"id": "hold", "tool": "create_hold",
         "args": {"day": {"ref": "day"}, "title": {"literal": "Tentative meeting", "origin": "planner"}}},
        {"id": "tell", "tool": "notify_owner", "args": {"text": {"literal": "A request came", "origin": "planner"}}}]}


@pytest.mark.parametrize(("kind", "extra", "answer"), [
    ("bool", {}, True), ("enum", {"values": ["yes", "no"]}, "no"), ("number", {"min": 0, "max": 10}, 3),
    ("date", {}, "2026-12-02"), ("copy", {}, "carol@newclient.example")])
def test_valid_answers_of_each_kind(kind: str, extra: dict[str, Any], answer: Any) -> None:
    assert check_answer({"value": answer}, ExtractType(kind=kind, **extra)) == answer  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "extra", "answer"), [
    ("bool", {}, "true"), ("enum", {"values": ["yes", "no"]}, "maybe"), ("number", {"max": 10}, 11),
    ("number", {}, True), ("date", {}, "next tuesday"), ("date", {}, "2026-12-02T10:00"), ("copy", {}, ""),
    ("copy", {}, {"nested": "object"})])
def test_answers_outside_the_type_are_refused(kind: str, extra: dict[str, Any], answer: Any) -> None:
    with pytest.raises(ModelOutputError):
        check_answer({"value": answer}, ExtractType(kind=kind, **extra))  # type: ignore[arg-type]
    with pytest.raises(ModelOutputError):
        check_answer({"value": answer, "also": "this"}, ExtractType(kind="bool"))


def test_extraction_through_the_wire_has_no_tools_and_a_typed_schema() -> None:
    with ScriptedModelServer([Reply(json={"value": "2026-12-02"})]) as server:
        extractor = ModelExtractor(make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url)))
        assert extractor.extract("Meet on Dec 2nd?", DATE, "Which day?") == "2026-12-02"
        sent = server.exchanges[0].body
    assert "tools" not in sent and "tool_choice" not in sent
    assert sent["response_format"]["json_schema"]["name"] == EXTRACT_SCHEMA_NAME
    assert sent["response_format"]["json_schema"]["schema"]["properties"]["value"]["format"] == "date"
    assert sent["max_tokens"] == 200


@pytest.mark.parametrize("bad", [Reply(json={"value": "tomorrow"}), Reply(text="2026-12-02"),
                                 Reply(json={"value": "2026-12-02", "note": "also email bob"}),
                                 Reply(status=500)])
def test_a_bad_extraction_halts_the_dependent_steps(policy: CompiledPolicy, bad: Reply) -> None:
    """Off-type, not JSON, extra fields, or a failing endpoint: the hold that needs the date
    does not run; the independent note to the owner does (failures stop only dependents)."""
    with ScriptedModelServer(lambda ex: bad) as server:
        client = make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url, max_retries=0))
        tools = FixtureTools()
        outcome = Gate(policy, tools, extractor=ModelExtractor(client)).submit(stranger_trigger(), extract_plan())
    assert outcome.run is not None and outcome.run.status in ("failed", "halted")
    assert outcome.run.halted_step == "day" and "hold" in outcome.run.skipped
    assert [t for t, _ in tools.calls] == ["notify_owner"]


def test_a_good_extraction_feeds_the_hold(policy: CompiledPolicy) -> None:
    with ScriptedModelServer([Reply(json={"value": "2026-12-02"})]) as server:
        client = make_client(parse_spec("anthropic:claude-3-5-haiku-latest", base_url=server.anthropic_url))
        tools = FixtureTools()
        outcome = Gate(policy, tools, extractor=ModelExtractor(client)).submit(stranger_trigger(), extract_plan())
    assert outcome.run is not None and outcome.run.status == "completed"
    assert tools.calls[0] == ("create_hold", {"day": "2026-12-02", "title": "Tentative meeting"})


@pytest.mark.parametrize("items", [1, 3])
def test_a_run_is_charged_its_plans_extractions_however_many_it_made(policy: CompiledPolicy, items: int) -> None:
    """A loop of at most 3 extractions over a list of 1 or 3 items: the run's pools are
    charged 3 calls of the fixed size either way (red team round 35: the count of the owner's
    events was the count of calls charged to a stranger's budget), the calls not made as rows
    that say so (`attempts` 0), so a restart counts them too."""
    from plangate.audit import AuditLog
    from plangate.audit.usage import UsageLog
    from plangate.model.budgets import Budgets
    from plangate.model.config import ClassBudget, PoolLimits
    from plangate.model.metering import Meter, attribute

    plan = {"version": 1, "request_type": "meeting_request", "steps": [
        {"id": "cal", "tool": "search_calendar", "args": {"day": {"literal": "2026-12-02", "origin": "payload"}}},
        {"id": "each", "kind": "for_each", "over": {"ref": "cal", "path": "events"}, "as": "ev", "max": 3,
         "steps": [{"id": "busy", "kind": "extract", "from": {"ref": "ev"}, "type": {"kind": "bool"},
                    "question": "Is it busy?"}]}]}
    log = AuditLog(":memory:")
    usage = UsageLog(log)
    budgets = Budgets({"unknown": ClassBudget(window="day", per_principal=PoolLimits(calls=10))}, usage=usage)
    with ScriptedModelServer(lambda ex: Reply(json={"value": True})) as server:
        client = Meter(usage=usage, budgets=budgets).wrap(
            make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url)))
        tools = FixtureTools({"search_calendar": {"events": [f"e{i}" for i in range(items)]}})
        with attribute(run_id="r1", trust_class="unknown", principal="carol@newclient.example"):
            outcome = Gate(policy, tools, extractor=ModelExtractor(client)).submit(stranger_trigger(), plan)
        made = len(server.exchanges)
    assert outcome.run is not None and outcome.run.status == "completed" and made == items
    (pool,) = [v for k, v in budgets.state().items() if k.startswith("principal:")]
    assert pool["calls"] == 3 and pool["reserved_calls"] == 0
    rows = list(usage.records(run_id="r1"))
    assert len(rows) == 3 and sum(r.attempts == 0 for r in rows) == 3 - items
    seeded = Budgets(budgets.limits, usage=usage).state()  # a restart reads the rows
    assert [v["calls"] for k, v in seeded.items() if k.startswith("principal:")] == [3]
