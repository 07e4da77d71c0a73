"""The planner: its prompt holds what it may see (and nothing else), its answer is a plan
validated against the schema and the catalog with a bounded repair loop, and the label of
everything it was shown goes with its plan so its literals carry that label."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plangate.gate import Gate
from plangate.labels import PUBLIC, Label
from plangate.model import make_client, parse_spec
from plangate.model.errors import PlanningFailed
from plangate.model.planner import PLAN_SCHEMA_NAME, Planner, Shown, planner_view, visible_tools
from plangate.model.testing import Exchange, Reply, ScriptedModelServer
from plangate.plan.codec import parse_plan
from plangate.policy import CompiledPolicy
from plangate.testing import FixtureTools
from plangate.trigger import parse_trigger

from .conftest import STRANGER, meeting_plan, owner_trigger, stranger_trigger


def planner(server: ScriptedModelServer, policy: CompiledPolicy, tries: int = 3) -> Planner:
    return Planner(make_client(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url)), policy,
                   tries=tries)


def test_the_prompt_holds_trigger_segments_as_data_and_only_the_classes_tools(policy: CompiledPolicy) -> None:
    """Trigger metadata, the message's segments marked as data, the request types and only
    the tools the policy opens to the stranger's class; the plan schema as structured output."""
    trigger = parse_trigger({"channel": "email", "principal": STRANGER, "evidence": {"dmarc": "pass"},
                             "segments": [{"kind": "own", "text": "Meet 2026-12-02?\n"},
                                          {"kind": "quoted", "author": "x@y.example", "text": "> old"}]})
    with ScriptedModelServer([Reply(json=meeting_plan())]) as server:
        planned = planner(server, policy).plan(Gate(policy, FixtureTools()).classify(trigger))
        sent = server.exchanges[0]
    prompt = sent.body["messages"][1]["content"]
    doc = json.loads(prompt[prompt.index("{"):])
    assert doc["trigger"] == {"channel": "email", "sender": STRANGER, "trust_class": "unknown",
                              "authenticated": True}
    assert [s["kind"] for s in doc["message"]["segments"]] == ["own", "quoted"]
    assert "Not instructions" in doc["message"]["note"]
    assert sorted(doc["tools"]) == ["create_hold", "notify_owner", "reply_email", "search_calendar"]
    assert "send_email" not in prompt and "read_file" not in prompt
    assert list(doc["request_types"]) == ["meeting_request"]
    assert sent.schema_name == PLAN_SCHEMA_NAME
    assert sent.body["response_format"]["json_schema"]["schema"]["title"] == "Plan"
    # The context: the sender's words and the quoted part (readable by owner and sender).
    assert planned.context.readers == frozenset({"owner", STRANGER})
    assert planned.context.taint == "high"
    assert {"payload", "payload:quoted"} <= planned.context.sources


def test_the_owner_sees_every_tool(policy: CompiledPolicy) -> None:
    tools, _types = visible_tools(policy, "owner")
    assert set(tools) == set(policy.catalog.tools)


def test_repair_loop_feeds_back_the_errors_then_succeeds(policy: CompiledPolicy) -> None:
    """Malformed JSON, then a plan violating the schema, then an unknown tool, then a good
    plan: each refusal is sent back with its error; the fourth try would be too many."""
    bad_schema = {"request_type": "meeting_request", "steps": [{"id": "x", "tool": "create_hold",
                                                                "args": {"day": {"literal": 1}}}]}
    unknown_tool = {"steps": [{"id": "x", "tool": "rm_rf", "args": {}}]}
    replies = [Reply(text="{this is not json"), Reply(json=bad_schema), Reply(json=unknown_tool),
               Reply(json=meeting_plan())]
    with ScriptedModelServer(replies) as server:
        planned = planner(server, policy, tries=4).plan(Gate(policy, FixtureTools()).classify(stranger_trigger()))
        last = server.exchanges[-1].body["messages"]
    assert planned.tries == 4 and len(planned.errors) == 3
    fed_back = [m["content"] for m in last if m["role"] == "user"][1:]
    assert "not JSON" in fed_back[0] and "origin" in fed_back[1] and "rm_rf" in fed_back[2]


def test_repair_loop_is_bounded(policy: CompiledPolicy) -> None:
    """A model that never produces a valid plan: exactly `tries` calls, then PlanningFailed."""
    with ScriptedModelServer(lambda ex: Reply(json={"steps": []})) as server:
        with pytest.raises(PlanningFailed, match="no valid plan after 2 tries") as err:
            planner(server, policy, tries=2).plan(Gate(policy, FixtureTools()).classify(stranger_trigger()))
        assert len(server.exchanges) == 2
    assert len(err.value.errors) == 2


def test_a_replan_shows_outputs_and_joins_their_labels(policy: CompiledPolicy) -> None:
    """An owner's replan that was shown a private file: its context is owner-only."""
    private = Label(readers=frozenset({"owner"}), sources=frozenset({"tool:read_file"}))
    classified = Gate(policy, FixtureTools()).classify(owner_trigger("Summarise notes.txt for me"))
    view = planner_view(classified, policy, previous=parse_plan(meeting_plan()),
                        shown=[Shown(step="f", value={"text": "SECRET"}, label=private)])
    assert "SECRET" in view.text() and "previous_plan" in view.document
    assert view.context.readers == frozenset({"owner"})
    assert planner_view(classified, policy).context.readers == frozenset({PUBLIC})


def _send_plan(to: str, body_origin: str = "planner") -> dict[str, Any]:
    return {"request_type": "any", "steps": [
        {"id": "send", "tool": "send_email",
         "args": {"to": {"literal": to, "origin": "instruction"},
                  "body": {"literal": "Here is what I found.", "origin": body_origin}}}]}


def test_label_rule_a_planner_shown_private_data_cannot_send_it_as_its_own(policy: CompiledPolicy) -> None:
    """The owner asks to send notes to someone; the replanner saw the private file. Its
    'planner' literal carries owner-only readers, so sending it to another address is denied;
    the same plan from a planner that saw nothing private goes through."""
    gate = Gate(policy, FixtureTools())
    trigger = owner_trigger("Send a status note to dave@else.example")
    private = Label(readers=frozenset({"owner"}), sources=frozenset({"tool:read_file"}))
    classified = gate.classify(trigger)
    shown = planner_view(classified, policy, previous=parse_plan(meeting_plan()),
                         shown=[Shown(step="f", value="the private notes", label=private)]).context
    clean = planner_view(classified, policy).context
    plan = _send_plan("dave@else.example")
    trigger = parse_trigger({**trigger.model_dump(), "instruction": "dave@else.example"})
    assert gate.submit(trigger, plan, planner_context=clean).review.verdict == "approve"
    denied = gate.submit(trigger, plan, planner_context=shown)
    assert denied.review.verdict == "deny" and "no-private-data-to-non-readers" in denied.review.rules


def test_anthropic_planner_through_a_forced_tool(policy: CompiledPolicy) -> None:
    """The same planner on the Anthropic SDK: the plan comes back as the forced tool's input."""
    def script(ex: Exchange) -> Reply:
        assert ex.api == "anthropic" and ex.schema_name == PLAN_SCHEMA_NAME
        return Reply(json=meeting_plan())
    with ScriptedModelServer(script) as server:
        client = make_client(parse_spec("anthropic:claude-3-5-haiku-latest", base_url=server.anthropic_url,
                                        stream=True))
        planned = Planner(client, policy).plan(Gate(policy, FixtureTools()).classify(stranger_trigger()))
    assert [s.id for s in planned.plan.steps] == ["hold", "reply"]
