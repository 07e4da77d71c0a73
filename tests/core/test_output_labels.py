"""Label rules that hold by construction: tool outputs join their inputs, reported readers
only narrow, copy extractions keep their source's readers, loops raise the pc, and a
failure stops only what depends on it. Each runtime test forges an approving grant, so it
exercises the executor's own check: with that check disabled, the test fails."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from plangate import load_policy, parse_trigger
from plangate.execute import Executor, Grant
from plangate.labels import PUBLIC, TRUSTED, Label
from plangate.plan import check_plan, parse_plan
from plangate.plan.model import ExtractStep
from plangate.policy import CompiledPolicy
from plangate.resources import MemoryResourceLabels, call_output_label
from plangate.review import Review
from plangate.review.reviewer import extracted_label
from plangate.testing import FixtureTools
from plangate.trigger import Trigger, classify

from .conftest import (
    CATALOG_PATH,
    CONTACT,
    EXAMPLES,
    OWNER,
    POLICY_PATH,
    call,
    contact_trigger,
    lit,
    make_gate,
    owner_trigger,
    plan,
    ref,
)
from .test_resources import KnownStates

SENDER = ref("trigger", "principal")  # the contact's own address: not attacker-chosen
PRIVATE = Label(readers=frozenset({"owner"}), sources=frozenset({"tool:read_file"}))
PLANNER = Label(sources=frozenset({"planner"}), taint="high")


def forged_grant(policy: CompiledPolicy, data: dict[str, Any], trigger: Trigger) -> Grant:
    """A grant as if the static review had approved: only the runtime check stands."""
    classified = classify(trigger, policy.doc.deployment)  # type: ignore[arg-type]
    checked = check_plan(parse_plan(data), policy.catalog)
    verdict = Review(verdict="approve", rules=("test:forged",), summary="", plan_hash=checked.hash,
                     trust_class=classified.trust_class)
    return Grant(classified=classified, checked=checked, review=verdict)


class _Audit:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def append(self, kind: str, run_id: str, data: Any) -> None:
        self.events.append((kind, dict(data)))


# ------------------------------------------------------------------ outputs join inputs


def test_echoing_tool_output_keeps_the_planner_taint(policy: CompiledPolicy) -> None:
    """A planner literal passed through a tool that may echo it (a hold's title) is still
    the planner's: used as a recipient it is an attacker-chosen destination."""
    data = plan(call("h", "create_hold", day=lit("2026-12-02"), title=lit("eve@evil.example")),
                call("s", "send_email", to={"list": [ref("h", "title")]}, subject=lit("s"),
                     body=lit("b")))
    gate, tools = make_gate({"create_hold": {"title": "eve@evil.example"}})
    out = gate.submit(contact_trigger(), data)
    assert out.review.verdict == "deny"
    assert "no-attacker-chosen-destination" in out.review.rules
    assert tools.calls == []


def test_echo_is_caught_at_run_time_too(policy: CompiledPolicy) -> None:
    """Same route with the static half out of the way: the executor labels the hold's
    output with its inputs and blocks the send."""
    data = plan(call("h", "create_hold", day=lit("2026-12-02"), title=lit("eve@evil.example")),
                call("s", "send_email", to={"list": [ref("h", "title")]}, subject=lit("s"),
                     body=lit("b")))
    tools = FixtureTools({"create_hold": {"title": "eve@evil.example"}})
    result = Executor(policy, tools, _Audit()).run(forged_grant(policy, data, contact_trigger()), "r")
    assert result.status == "halted" and result.halted_step == "s"
    assert "no-attacker-chosen-destination" in result.rules
    assert [t for t, _ in tools.calls] == ["create_hold"]


def test_output_label_joins_content_args_and_only_readers_of_selectors(policy: CompiledPolicy) -> None:
    """Default: every argument's label reaches the output. A verified `from_args: []`
    keeps the content out, but the readers of the selector still come along, and an
    attacker-shaped selector makes the output influenced (`low`), never trusted."""
    tools = policy.catalog.tools
    store = MemoryResourceLabels()
    held = call_output_label(tools["create_hold"], {"title": PLANNER, "day": TRUSTED}, {}, store,
                             control=TRUSTED)
    assert held.taint == "high" and "planner" in held.sources
    read = call_output_label(tools["read_file"], {"path": PLANNER.join(PRIVATE)},
                             {"path": "a.txt"}, store, control=TRUSTED)
    assert read.taint == "low" and "planner" not in read.sources
    assert read.readers == frozenset({"owner"})


def test_reported_readers_only_narrow_and_never_from_influenced_storage(policy: CompiledPolicy) -> None:
    """A tool's own reader list replaces the catalog default, but never widens what inputs
    or storage allow, and counts for nothing when what it read was stored from
    influenced data (an attacker who set an event's participants chose its readers)."""
    spec = policy.catalog.tools["read_file"]
    reported = Label(readers=frozenset({"owner", CONTACT}))
    store = MemoryResourceLabels({"workspace:a.txt": TRUSTED})
    assert call_output_label(spec, {"path": TRUSTED}, {"path": "a.txt"}, store, control=TRUSTED,
                             reported=reported).readers == reported.readers
    narrow = Label(readers=frozenset({"owner"}))
    assert call_output_label(spec, {"path": narrow}, {"path": "a.txt"}, store, control=TRUSTED,
                             reported=reported).readers == frozenset({"owner"})
    tainted = MemoryResourceLabels({"workspace:a.txt": PLANNER})
    assert call_output_label(spec, {"path": TRUSTED}, {"path": "a.txt"}, tainted,
                             control=TRUSTED, reported=reported).readers == frozenset({"owner"})


# ------------------------------------------------------------------ copy extractions


def test_copy_extraction_keeps_the_source_readers() -> None:
    """Which of the planner's choices a copy picks depends on the source: the answer
    carries the source's readers, so repeated copies cannot spell it out to a stranger."""
    step = ExtractStep.model_validate({"id": "e", "kind": "extract", "from": {"ref": "s"},
                                       "type": {"kind": "copy", "choices": {"literal": ["a", "b"],
                                                                            "origin": "planner"}}})
    label = extracted_label(step, PRIVATE, PLANNER)
    assert label.readers == frozenset({"owner"})
    assert {"planner", "tool:read_file", "extract"} <= label.sources and label.taint == "high"


def test_copy_over_private_data_cannot_reach_a_stranger(policy: CompiledPolicy) -> None:
    """End to end: a contact's run reads a private file, copies one of two planner words by
    what the file says, and mails it to the contact: refused for private data."""
    data = plan(call("f", "read_file", path=lit("secret.txt")),
                {"id": "e", "kind": "extract", "from": ref("f"),
                 "type": {"kind": "copy", "choices": lit(["yes", "no"])}},
                call("s", "send_email", to={"list": [SENDER]}, subject=lit("s"), body=ref("e")))
    gate, _tools = make_gate()
    out = gate.submit(contact_trigger(), data)
    assert out.review.verdict == "deny" and "no-private-data-to-non-readers" in out.review.rules


# ------------------------------------------------------------------ control flow


def _loop_send(to: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return plan(call("f", "read_file", path=lit("list.txt")),
                {"id": "each", "kind": "for_each", "over": ref("f"), "as": "item", "max": 5,
                 "steps": [call("s", "send_email", to={"list": [to]}, subject=lit("s"), body=body)]})


def test_loop_over_private_data_raises_the_pc_statically(policy: CompiledPolicy) -> None:
    """A loop body that sends a fixed public text still tells the recipient how many
    private items there were: the send is checked with the list's readers as pc."""
    gate, _tools = make_gate()
    out = gate.submit(contact_trigger(), _loop_send(SENDER, lit("ping")))
    assert out.review.verdict == "deny" and "no-private-data-to-non-readers" in out.review.rules


def test_loop_pc_holds_at_run_time(policy: CompiledPolicy) -> None:
    """The same plan past a (forged) approval: the executor's pc blocks every send."""
    tools = FixtureTools({"read_file": ["a", "b", "c"]})
    result = Executor(policy, tools, _Audit()).run(
        forged_grant(policy, _loop_send(SENDER, lit("ping")), contact_trigger()), "r")
    assert "send_email" not in [t for t, _ in tools.calls]
    assert result.status == "halted" and "no-private-data-to-non-readers" in result.rules


def test_loop_item_keeps_its_label_at_run_time(policy: CompiledPolicy) -> None:
    """A loop variable carries the label of the list, taint included: an address read from
    outside mail stays attacker-chosen inside the loop, even when it names the owner (so
    neither the pc nor the readers could stop it; destinations are open at review)."""
    data = plan(call("m", "read_inbox", query=lit("x")),
                {"id": "each", "kind": "for_each", "over": ref("m"), "as": "item", "max": 5,
                 "steps": [call("s", "send_email", to={"list": [ref("item", "to")]},
                                subject=lit("s"), body=lit("b"))]})
    tools = FixtureTools({"read_inbox": [{"to": OWNER}]})
    result = Executor(policy, tools, _Audit()).run(forged_grant(policy, data, owner_trigger()), "r")
    assert "send_email" not in [t for t, _ in tools.calls]
    assert result.status == "halted" and "no-attacker-chosen-destination" in result.rules


def test_failure_on_private_data_does_not_stop_an_unrelated_send(policy: CompiledPolicy) -> None:
    """A step that fails because of private data stops only what uses its output; an
    independent reply still goes out, so its arrival says nothing about the data."""
    tools = FixtureTools({"read_file": "secret"}, fail=frozenset({"create_hold"}))
    data = plan(call("f", "read_file", path=lit("x.txt")),
                call("h", "create_hold", day=ref("f"), title=lit("t")),
                call("r", "send_email", to={"list": [SENDER]}, subject=lit("s"), body=lit("hi")))
    result = Executor(policy, tools, _Audit()).run(forged_grant(policy, data, contact_trigger()), "r")
    assert [t for t, _ in tools.calls] == ["read_file", "create_hold", "send_email"]
    assert result.status == "failed" and result.halted_step == "h"


# ------------------------------------------------------------------ discloses at run time


@pytest.fixture
def forwarding_policy(tmp_path: Path) -> CompiledPolicy:
    catalog = CATALOG_PATH.read_text() + """
  forward_file:
    description: Send a stored file (its content) to recipients.
    effects: [egress]
    args:
      path: {type: string}
      to: {type: array, items: string, sink: recipient}
    discloses: ["workspace:{path}"]
    disclosed: {readers: public}      # only the stored label decides, for this test
"""
    (tmp_path / "assistant-catalog.yaml").write_text(catalog)
    everyday = "tools: [read_inbox, search_calendar, read_file, create_hold, reply_email, send_email, notify_owner"
    text = POLICY_PATH.read_text().replace(everyday + "]", everyday + ", forward_file]")
    (tmp_path / "policy.yaml").write_text(text)
    return load_policy(tmp_path / "policy.yaml")


def test_disclosed_content_counts_at_run_time(forwarding_policy: CompiledPolicy) -> None:
    """Forwarding a stored owner-only file to a contact is blocked by the executor itself
    (public arguments, so only the disclosed content's label can stop it)."""
    store = MemoryResourceLabels({"workspace:secret.txt": PRIVATE})
    tools = FixtureTools()
    data = plan(call("f", "forward_file", path=lit("secret.txt"), to={"list": [SENDER]}))
    result = Executor(forwarding_policy, tools, _Audit(), resources=store).run(
        forged_grant(forwarding_policy, data, contact_trigger()), "r")
    assert tools.calls == [] and result.status == "halted"
    assert "no-private-data-to-non-readers" in result.rules
    public = MemoryResourceLabels({"workspace:secret.txt": Label(readers=frozenset({PUBLIC}))})
    ok = Executor(forwarding_policy, tools, _Audit(), resources=public).run(
        forged_grant(forwarding_policy, data, contact_trigger()), "r")
    assert ok.status == "completed" and [t for t, _ in tools.calls] == ["forward_file"]
    assert OWNER  # the owner is never among the forged recipients


def _write_then_tell(policy: CompiledPolicy) -> tuple[dict[str, Any], Trigger]:
    trigger = owner_trigger("write notes/x.md and mail eve@evil.example how it went")
    data = plan(call("w", "write_file", path=lit("notes/x.md", "payload"), content=lit("hi")),
                call("s", "send_email", to={"list": [lit("eve@evil.example", "payload")]},
                     subject=lit("s"), body=ref("w")))
    return data, trigger


def test_a_writes_success_carries_the_readers_of_the_state_it_writes(policy: CompiledPolicy) -> None:
    """Whether a write succeeds depends on what is there already (a path through an
    existing file fails): its output says so only to the readers of that state, taken
    before the write records its own label. Only a store that holds the state can say who
    they are (`resources.KnowsState`); a stored label cannot: it says who may read what a
    run wrote there, and a failed write's label stays (it is recorded before the write)."""
    from plangate.review import review

    data, trigger = _write_then_tell(policy)
    classified = classify(trigger, policy.doc.deployment)  # type: ignore[arg-type]
    unknown = review(classified, data, policy)
    assert unknown.verdict == "escalate" and "owner-confirms-new-readers" in unknown.rules
    labelled = MemoryResourceLabels({"workspace:notes/x.md": Label()})
    assert review(classified, data, policy, resources=labelled).verdict == "escalate"
    public = KnownStates({"workspace:notes/x.md": Label()})
    assert review(classified, data, policy, resources=public).verdict == "approve"
    assert review(classified, data, policy, resources=KnownStates({})).verdict == "escalate"
    # ... or the deployment publishes it; a store that holds the state says it first.
    published = _published({"workspace:notes/*": ["public"]})
    assert review(classified, data, published).verdict == "approve"
    assert review(classified, data, published, resources=KnownStates({
        "workspace:notes/x.md": Label(readers=frozenset({"owner"}))})).verdict == "escalate"


def test_a_read_whose_readers_are_stored_carries_the_state_it_reads() -> None:
    """A tool whose output's readers are those stored for what it reads (`readers: stored`)
    fails when nothing is there: a public label left by an earlier write (maybe a failed
    one, or of a file the owner has since deleted) does not make that public. The state's
    readers come from a store that holds it, else the deployment, else the owner."""
    from plangate.catalog import ToolSpec
    from plangate.resources import call_state

    spec = ToolSpec.model_validate({"name": "page_read", "effects": ["read"],
                                    "args": {"path": {"type": "string"}}, "reads": ["pages:{path}"],
                                    "output": {"readers": "stored"}})
    values = {"path": "a"}
    labelled = MemoryResourceLabels({"pages:a": Label()})

    def output(store: Any, published: Any = None) -> Label:
        return call_output_label(spec, {"path": TRUSTED}, values, store, control=TRUSTED,
                                 state=call_state(spec, values, store, published))

    assert output(labelled).readers == {"owner"}
    assert output(KnownStates({"pages:a": Label()}, {"pages:a": Label()})).is_public
    assert output(labelled, lambda name: Label() if name == "pages:a" else None).is_public
    assert output(MemoryResourceLabels()).readers == {"owner"}


def _published(states: dict[str, list[str]]) -> CompiledPolicy:
    """The example policy, its deployment publishing the state of these names."""
    import yaml

    from plangate.catalog import load_catalog
    from plangate.policy.loader import compile_policy

    doc = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    doc["catalog"] = str(CATALOG_PATH)
    doc["deployment"]["state_readers"] = states
    return compile_policy(doc, load_catalog(CATALOG_PATH), source="published")


def test_a_writes_success_counts_at_run_time_too(policy: CompiledPolicy) -> None:
    data, trigger = _write_then_tell(policy)
    tools = FixtureTools()
    for store in (None, MemoryResourceLabels({"workspace:notes/x.md": Label()})):
        result = Executor(policy, tools, _Audit(), resources=store).run(forged_grant(policy, data, trigger), "r")
        assert [t for t, _ in tools.calls] == ["write_file"] and result.status == "escalated", result
        tools.calls.clear()
    public = KnownStates({"workspace:notes/x.md": Label()})
    ok = Executor(policy, tools, _Audit(), resources=public).run(forged_grant(policy, data, trigger), "r")
    assert ok.status == "completed", ok


def test_a_published_state_is_what_an_agent_may_pass_on(policy: CompiledPolicy) -> None:
    """An agent that runs its own tools sees whether each of them succeeded, so a hold then
    a reply to the stranger is a bit of the owner's calendar, sent or not, unless the owner
    publishes the calendar's state (`deployment.state_readers`, here free/busy public)."""
    import yaml

    data = json.loads((EXAMPLES / "meeting-reply" / "plan.json").read_text(encoding="utf-8"))
    trigger = parse_trigger(yaml.safe_load((EXAMPLES / "meeting-reply" / "trigger.yaml").read_text()))
    doc = yaml.safe_load(POLICY_PATH.read_text(encoding="utf-8"))
    assert doc["deployment"]["state_readers"] == {"calendar:*": ["public"]}
    kept, unpublished = _published({"calendar:*": ["public"]}), _published({})
    made = {}
    for name, compiled in (("published", kept), ("unpublished", unpublished)):
        tools = FixtureTools()
        Executor(compiled, tools, _Audit(), agent_runs_tools=True).run(
            forged_grant(compiled, data, trigger), "r")
        made[name] = [t for t, _ in tools.calls]
    assert made == {"published": ["create_hold", "reply_email", "notify_owner"],
                    "unpublished": ["create_hold", "notify_owner"]}, made


def test_published_state_covers_only_the_names_it_names() -> None:
    from plangate.trigger import Deployment

    d = Deployment(owner=["o@x.example"], state_readers={
        "calendar:*": ["public"], "workspace:shared/*": ["owner", "bob@x.example"],
        "workspace:shared/team/*": ["owner"], "desk:queue": ["public"]})
    public = Label()
    assert d.state_label("calendar:*") == public and d.state_label("calendar:2026-12-02") == public
    assert d.state_label("calendarx") is None and d.state_label("*") is None
    assert d.state_label("desk:queue") == public and d.state_label("desk:queue/x") is None
    assert d.state_label("desk:*") is None  # may stand for names it does not publish
    assert d.state_label("workspace:shared/a.md") == Label(readers=frozenset({"owner", "bob@x.example"}))
    assert d.state_label("workspace:shared/team/a.md") == Label(readers=frozenset({"owner"}))  # both: met
    assert d.state_label("workspace:sha*") is None and d.state_label("workspace:shared[*]") is None
    for bad in ({"*": ["public"]}, {"a*b": ["public"]}, {"a?*": ["public"]}, {"a*": []}):
        with pytest.raises(ValueError, match="state_readers"):
            Deployment(owner=["o@x.example"], state_readers=bad)


# ------------------------------------------------------------------ what the planner saw


def test_planner_literals_carry_what_the_planner_was_shown(policy: CompiledPolicy) -> None:
    """A planner shown private data cannot pass it off as its own invention: with that
    context, its literal sent to the contact is private data to a non-reader, and the
    approval record keeps the context for when the owner's yes is run."""
    data = plan(call("s", "send_email", to={"list": [SENDER]}, subject=lit("s"), body=lit("x")))
    gate, tools = make_gate()
    assert gate.submit(contact_trigger(), data).review.verdict == "approve"
    shown = gate.submit(contact_trigger(), data, planner_context=PRIVATE)
    assert shown.review.verdict == "deny" and "no-private-data-to-non-readers" in shown.review.rules
    assert Label.from_json(shown.review.to_json()["planner_context"]) == PRIVATE
    assert [t for t, _ in tools.calls] == ["send_email"]


def test_a_write_keeps_the_full_label_of_what_the_tool_read(policy: CompiledPolicy) -> None:
    """A tool that reads one stored thing and writes another may copy it: the written
    label carries the read's taint and sources, not only its readers."""
    from plangate.catalog import parse_catalog
    from plangate.resources import written_label

    spec = parse_catalog({"tools": {"notice": {
        "effects": ["write"], "args": {"id": {"type": "string"}},
        "reads": ["event:{id}"], "writes": ["mail:outbox"]}}}).tools["notice"]
    store = MemoryResourceLabels({"event:e1": PLANNER.join(PRIVATE)})
    label = written_label(spec, {"id": TRUSTED}, {"id": "e1"}, store, TRUSTED)
    assert label.taint == "high" and "planner" in label.sources
    assert label.readers == frozenset({"owner"})


def test_disclosed_default_always_counts_and_stored_labels_narrow_it(tmp_path: Path) -> None:
    """Sending stored content: the catalog's (owner-only) default always counts, for
    labelled content too (a stored label is what writes through the gate added, never proof
    they wrote all of it: red team round 19 washed a lawyer's mail with a label write, and
    a stranger's invitation with the owner's own hold); what is stored narrows it further."""
    from plangate.catalog import parse_catalog
    from plangate.resources import disclosed_label

    spec = parse_catalog({"tools": {"fwd": {
        "effects": ["egress"], "args": {"path": {"type": "string"}},
        "discloses": ["workspace:{path}"]}}}).tools["fwd"]
    public = Label(readers=frozenset({PUBLIC}))
    store = MemoryResourceLabels({"workspace:a.txt": public, "workspace:t.txt": PLANNER})
    labelled = disclosed_label(spec, {"path": "a.txt"}, store)
    assert labelled is not None and labelled.readers == frozenset({"owner"})
    tainted = disclosed_label(spec, {"path": "t.txt"}, store)
    assert tainted is not None and "planner" in tainted.sources
    opened = parse_catalog({"tools": {"fwd": {
        "effects": ["egress"], "args": {"path": {"type": "string"}}, "discloses": ["workspace:{path}"],
        "disclosed": {"readers": "public"}}}}).tools["fwd"]
    assert disclosed_label(opened, {"path": "a.txt"}, store) == Label(
        readers=frozenset({PUBLIC}), sources=frozenset({"tool:fwd"})).join(public)
    unknown = disclosed_label(spec, {"path": "b.txt"}, store)
    assert unknown is not None and unknown.readers == frozenset({"owner"})
    from plangate.resources import OPEN_VALUE
    wild = disclosed_label(spec, {"path": OPEN_VALUE}, store)
    assert wild is not None and wild.readers == frozenset({"owner"})


def test_the_plan_pc_holds_at_review_and_at_run_time(policy: CompiledPolicy) -> None:
    """At review, and past a (forged) approval, a planner that was shown private data still cannot choose
    to send even the contact's own words back: every effect of its plan carries what it
    saw. Without that context the same send runs."""
    data = plan(call("s", "send_email", to={"list": [SENDER]}, subject=ref("trigger", "payload"),
                     body=ref("trigger", "payload")))
    gate, _ = make_gate()
    static = gate.submit(contact_trigger("see you"), data, planner_context=PRIVATE).review
    assert static.verdict == "deny" and "no-private-data-to-non-readers" in static.rules
    grant = forged_grant(policy, data, contact_trigger("see you"))
    shown = dataclasses.replace(grant, review=dataclasses.replace(grant.review,
                                                                  planner_context=PRIVATE))
    tools = FixtureTools()
    blocked = Executor(policy, tools, _Audit()).run(shown, "r")
    assert tools.calls == [] and blocked.status == "halted"
    assert "no-private-data-to-non-readers" in blocked.rules
    ran = Executor(policy, tools, _Audit()).run(grant, "r2")
    assert ran.status == "completed" and [t for t, _ in tools.calls] == ["send_email"]
