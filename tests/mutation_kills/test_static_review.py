"""The static review's own rules: the plan's bounds, which literal claims are checked and
how, what stays open until run time, the labels of loop variables, loop results and
extraction answers, and what an escalation's finding records as still open."""

from __future__ import annotations

from typing import Any

from core.conftest import (
    CONTACT,
    assistant_policy,
    call,
    contact_trigger,
    cron_trigger,
    lit,
    owner_trigger,
    plan,
    ref,
)
from plangate.labels import PUBLIC, TRUSTED, Label
from plangate.plan import check_plan, parse_plan
from plangate.plan.model import ExtractStep
from plangate.policy.loader import parse_policy_text
from plangate.review import review
from plangate.review.reviewer import extracted_label, plan_bounds

SENDER = ref("trigger", "principal")
OWNER_ONLY = Label(readers=frozenset({"owner"}), sources=frozenset({"tool:read_file"}))


def send(to: dict[str, Any], body: dict[str, Any] | None = None, step: str = "s") -> dict[str, Any]:
    return call(step, "send_email", to={"list": [to]}, subject=lit("s"), body=body or lit("b"))


def loop(step_id: str, over: dict[str, Any], *steps: dict[str, Any], var: str = "item", bound: int = 5
         ) -> dict[str, Any]:
    return {"id": step_id, "kind": "for_each", "over": over, "as": var, "max": bound, "steps": list(steps)}


def extract(step_id: str, source: dict[str, Any], kind: str, **type_: Any) -> dict[str, Any]:
    return {"id": step_id, "kind": "extract", "from": source, "type": {"kind": kind, **type_}}


def test_plan_bounds_count_repeats_payments_and_the_largest_loop() -> None:
    """`plan.payments` and `plan.egress` count a call once per loop iteration it may run,
    and `plan.loop` is the largest loop bound, so budget rules see the worst case."""
    catalog = assistant_policy().catalog
    data = plan(loop("a", lit(["x", "y"]), call("p", "pay", account=lit("DE00"), amount=lit(1), memo=lit("m")),
                     bound=3),
                loop("b", lit(["x"]), call("n", "notify_owner", text=lit("t")), var="other", bound=5))
    bounds = plan_bounds(check_plan(parse_plan(data), catalog), catalog)
    assert (bounds.payments, bounds.egress, bounds.loop) == (3, 3 + 5, 5)


def test_an_extractions_choices_are_a_checked_claim() -> None:
    """Choices that claim to be the payload's words must be: a copy extraction cannot pass
    an invented address off as the sender's."""
    data = plan(call("m", "read_inbox", query=lit("x")),
                extract("e", ref("m"), "copy", choices=lit(["mallory@evil.example"], "payload")))
    verdict = review(contact_trigger("hello"), data, assistant_policy())
    assert verdict.verdict == "deny" and "plangate:origin-claim" in verdict.rules
    assert any("type.choices" in f.detail for f in verdict.findings)


def test_adjacent_claimed_pieces_are_checked_together_and_only_together() -> None:
    """Pieces of one origin that each occur as words cannot spell a string that does not
    occur (`mallory` `@` `evil.example`); pieces that occur only joined are fine."""
    forged = {"concat": [lit(p, "instruction") for p in ("mallory", "@", "evil.example")]}
    text = "Never write to mallory @ evil.example"
    verdict = review(cron_trigger(text), plan(send(forged)), assistant_policy())
    assert verdict.verdict == "deny" and "plangate:origin-claim" in verdict.rules
    honest = {"concat": [lit("bob@partner", "instruction"), lit(".example", "instruction")]}
    ok = review(cron_trigger(f"Write to {CONTACT} today"), plan(send(honest)), assistant_policy())
    assert "plangate:origin-claim" not in ok.rules
    # Pieces of two origins side by side are one claim too (red team round 32): each must
    # hold in its own text and the whole in one of them. "Writebob@partner.example" is in
    # neither; "Write to bob@partner.example" is the instruction's.
    mixed = {"concat": [lit("Write", "instruction"), lit("bob@partner.ex", "payload"), lit("ample", "payload")]}
    trigger = owner_trigger(payload=f"mail {CONTACT}", instruction="Write")
    assert "plangate:origin-claim" in review(trigger, plan(send(mixed)), assistant_policy()).rules
    mixed = {"concat": [lit("Write to ", "instruction"), lit(CONTACT, "payload")]}
    trigger = owner_trigger(payload=f"mail {CONTACT}", instruction=f"Write to {CONTACT}")
    assert "plangate:origin-claim" not in review(trigger, plan(send(mixed)), assistant_policy()).rules


def test_the_review_joins_a_plans_second_write_to_its_first() -> None:
    """Within one plan, clean content written over untrusted content does not wash the
    file: running the workspace afterwards is still running untrusted content."""
    data = plan(call("m", "read_inbox", query=lit("x")),
                call("w1", "write_file", path=lit("x.py", "payload"), content=ref("m")),
                call("w2", "write_file", path=lit("x.py", "payload"), content=lit("done", "payload")),
                call("t", "run_tests"))
    verdict = review(owner_trigger("Mark x.py done"), data, assistant_policy())
    assert verdict.verdict == "deny" and "no-executing-untrusted-content" in verdict.rules
    assert review(owner_trigger("Mark x.py done"), plan(*data["steps"][2:]), assistant_policy()).verdict == "approve"


def test_extraction_answers_loop_items_and_loop_results_are_open_at_review() -> None:
    """An argument fed by an extraction, a loop variable or a loop's result is only known
    at run time: the review lists it as decided again then."""
    inbox = call("m", "read_inbox", query=lit("x"))
    by_extraction = plan(inbox, extract("e", ref("m"), "copy", choices=lit([CONTACT])), send(ref("e")))
    by_item = plan(inbox, loop("each", ref("m"), send(ref("item", "from"))))
    by_result = plan(inbox, loop("each", lit(["a"]), call("h", "create_hold", day=lit("d"), title=ref("item"))),
                     send(SENDER, ref("each"), step="after"))
    for data, value in ((by_extraction, "s.to"), (by_item, "s.to"), (by_result, "after.body")):
        assert value in review(contact_trigger(), data, assistant_policy()).open_values


def test_a_loop_item_keeps_the_lists_label_at_review() -> None:
    """Statically too, an address taken from outside mail inside a loop is attacker-chosen."""
    data = plan(call("m", "read_inbox", query=lit("x")), loop("each", ref("m"), send(ref("item", "from"))))
    verdict = review(owner_trigger(), data, assistant_policy())
    assert verdict.verdict == "deny" and "no-attacker-chosen-destination" in verdict.rules


def test_a_loop_result_carries_its_bodys_outputs_at_review() -> None:
    """A loop's result carries its last step's output (taint included) and the readers of
    every body step (whether the loop finished depends on each): a loop over the owner's
    own words that reads mail returns attacker text, and one whose first body step reads a
    private file returns something a contact may not learn."""
    items = lit(["a", "b"], "payload")
    tainted = plan(loop("each", items, call("m", "read_inbox", query=ref("item"))),
                   call("s", "send_email", to=ref("each"), subject=lit("s", "payload"), body=lit("b", "payload")))
    verdict = review(owner_trigger("a b s"), tainted, assistant_policy())
    assert verdict.verdict == "deny" and "no-attacker-chosen-destination" in verdict.rules
    private = plan(loop("each", lit(["a", "b"]), call("f", "read_file", path=lit("x.txt")),
                        call("h", "create_hold", day=ref("item"), title=lit("t"))),
                   send(SENDER, ref("each")))
    verdict = review(contact_trigger(), private, assistant_policy())
    assert verdict.verdict == "deny" and "no-private-data-to-non-readers" in verdict.rules


def test_copy_choices_bring_their_readers_at_review() -> None:
    """A copy picks one of its choices: when the choices are a private file, the answer is
    private even though the source is the contact's own message."""
    data = plan(call("f", "read_file", path=lit("x.txt")),
                extract("e", ref("trigger", "payload"), "copy", choices=ref("f")),
                send(SENDER, ref("e")))
    verdict = review(contact_trigger("which one?"), data, assistant_policy())
    assert verdict.verdict == "deny" and "no-private-data-to-non-readers" in verdict.rules


def test_an_escalations_finding_records_the_facts_still_open() -> None:
    """An escalated step names the facts its approval cannot have covered (its open
    arguments and, with open destinations, every destination fact); other steps none."""
    policy = parse_policy_text("""
deployment: {owner: [owner@home.example], classes: [{name: owner, principals: [owner@home.example]},
             {name: owner, channels: [cron]}]}
rules:
  - {id: owner-all, permit: {classes: [owner]}, reason: r}
  - {id: ask-mail, escalate: {tools: [send_email]}, reason: r}
""", assistant_policy().catalog)
    data = plan(call("m", "read_inbox", query=lit("x")),
                extract("e", ref("m"), "copy", choices=lit([CONTACT], "instruction")),
                call("h", "create_hold", day=ref("e"), title=lit("t")),
                send(ref("e")))
    verdict = review(cron_trigger(f"Mail {CONTACT}"), data, policy)
    by_step = {f.step: f for f in verdict.findings}
    assert by_step["s"].verdict == "escalate"
    assert by_step["s"].open_facts == ("args.to", "args_readers_ok", "destinations", "readers_ok", "to_known",
                                       "to_owner", "to_sender")
    assert by_step["h"].verdict == "approve" and by_step["h"].open_facts == ()


def _step(kind: str, **type_: Any) -> ExtractStep:
    return ExtractStep.model_validate(extract("e", {"ref": "s"}, kind, **type_))


def test_extraction_labels_per_kind() -> None:
    """bool, number, date: the source's readers and sources, `extract`, `low` taint. enum:
    a planner literal (`high`, `planner`). copy: its choices' label, at least `low`, with
    the source's readers and sources."""
    contact_only = Label(readers=frozenset({"owner", CONTACT}), sources=frozenset({"payload"}))
    for kind, extra in (("bool", {}), ("number", {}), ("date", {})):
        label = extracted_label(_step(kind, **extra), OWNER_ONLY, None)
        assert label == Label(readers=frozenset({"owner"}), sources=frozenset({"tool:read_file", "extract"}),
                              taint="low"), kind
    enum = extracted_label(_step("enum", values=["a", "b"]), OWNER_ONLY, None)
    assert enum == Label(readers=frozenset({"owner"}),
                         sources=frozenset({"tool:read_file", "extract", "planner"}), taint="high")
    copy = extracted_label(_step("copy", choices=lit(["a"])), Label(readers=frozenset({PUBLIC})), contact_only)
    assert copy == Label(readers=frozenset({"owner", CONTACT}), sources=frozenset({"payload", "extract"}),
                         taint="low")
    assert extracted_label(_step("copy", choices=lit(["a"])), OWNER_ONLY, TRUSTED).readers == frozenset({"owner"})
