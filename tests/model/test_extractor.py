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
