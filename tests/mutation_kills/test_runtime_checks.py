"""The executor's own guarantees, each exercised past a forged approving grant (so only the
executor stands): no audit record, no call; an enforcement error stops the run; what an
owner's yes covers at run time; loop results and extraction answers keep their labels; a
loop that did not finish stops what depends on it; extraction answers are type-checked."""

from __future__ import annotations

from typing import Any

import pytest

from core.conftest import (
    assistant_policy,
    call,
    contact_trigger,
    cron_trigger,
    lit,
    owner_trigger,
    plan,
    ref,
)
from core.test_output_labels import forged_grant
from plangate.errors import AuditError
from plangate.execute import Executor, Grant
from plangate.execute.values import MAX_AUDIT_VALUE, audit_value, copied_from, extraction_problem
from plangate.labels import Label
from plangate.plan import check_plan, parse_plan
from plangate.plan.model import ExtractType
from plangate.policy import CompiledPolicy
from plangate.policy.loader import parse_policy_text
from plangate.resources import MemoryResourceLabels
from plangate.review import Review
from plangate.review.reviewer import Finding
from plangate.testing import FixtureTools, ScriptedExtractor
from plangate.trigger import classify

SENDER = ref("trigger", "principal")


class Audit:
    """Records events; raises `error` for the event kinds in `failing`."""

    def __init__(self, failing: tuple[str, ...] = (), error: Exception | None = None) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.failing = failing
        self.error = error or AuditError("disk full")

    def append(self, kind: str, run_id: str, data: Any) -> None:
        if kind in self.failing:
            raise self.error
        self.events.append((kind, dict(data)))

    def kinds(self) -> list[str]:
        return [k for k, _ in self.events]


def run(data: dict[str, Any], *, tools: FixtureTools | None = None, audit: Audit | None = None,
        trigger: Any = None, **executor: Any) -> tuple[Any, FixtureTools, Audit]:
    policy = assistant_policy()
    tools = tools or FixtureTools()
    audit = audit or Audit()
    grant = forged_grant(policy, data, trigger or contact_trigger())
    return Executor(policy, tools, audit, **executor).run(grant, "r"), tools, audit


def send(to: dict[str, Any], body: dict[str, Any], step: str = "s") -> dict[str, Any]:
    return call(step, "send_email", to={"list": [to]}, subject=lit("s"), body=body)


# ------------------------------------------------------------------ audit first


@pytest.mark.parametrize("error", [AuditError("disk full"), OSError("disk full")])
def test_no_call_record_means_no_call(error: Exception) -> None:
    """An audit write that fails before a call (an AuditError or any other error) stops
    the run loudly, and the tool is never called."""
    data = plan(send(SENDER, lit("hi")))
    with pytest.raises(AuditError):
        run(data, audit=Audit(("call",), error))
    tools = FixtureTools()
    with pytest.raises(AuditError):
        run(data, tools=tools, audit=Audit(("call",), error))
    assert tools.calls == []


def test_best_effort_records_do_not_stop_a_run() -> None:
    """Records made after the fact (a result, a halt) are best effort: the call already
    happened or was already refused, so a failing audit does not turn the run's outcome
    into an exception."""
    blocked = plan(call("f", "read_file", path=lit("x.txt")), send(SENDER, ref("f")))
    result, tools, _ = run(blocked, audit=Audit(("halt", "result")))
    assert result.status == "halted" and [t for t, _ in tools.calls] == ["read_file"]
    failing = FixtureTools(fail=frozenset({"read_file"}))
    result, _, _ = run(plan(call("f", "read_file", path=lit("x.txt"))), tools=failing,
                       audit=Audit(("halt", "result")))
    assert result.status == "failed"


def test_a_failing_tool_is_recorded_as_failed() -> None:
    """A tool that raises: its call record says not ok, with the error, and the audit log
    has its result as not ok. A tool that returns: ok, no error."""
    tools = FixtureTools(fail=frozenset({"read_file"}))
    result, _, audit = run(plan(call("f", "read_file", path=lit("x.txt"))), tools=tools)
    assert result.calls[-1].ok is False and "failed (fixture)" in (result.calls[-1].error or "")
    done, _, done_audit = run(plan(call("f", "read_file", path=lit("x.txt"))))
    assert [(c.ok, c.error) for c in done.calls] == [(True, None)]
    assert [d["ok"] for k, d in done_audit.events if k == "result"] == [True]
    assert ("result", {"step": "f", "ok": False, "error": result.calls[-1].error}) in audit.events


class _BrokenLabels(MemoryResourceLabels):
    def label_of(self, pattern: str) -> Label | None:
        raise RuntimeError("label store unreachable")


def test_an_enforcement_error_stops_the_run_and_is_recorded() -> None:
    """An error in the executor's own checks (here: the label store) stops the run before
    the call, as failed, with a halt record; a failing halt record changes nothing."""
    data = plan(call("f", "read_file", path=lit("x.txt")))
    result, tools, audit = run(data, resources=_BrokenLabels())
    assert result.status == "failed" and result.message.startswith("enforcement error")
    assert tools.calls == [] and ("halt", {"status": "failed", "message": result.message}) in audit.events
    quiet, _, _ = run(data, resources=_BrokenLabels(), audit=Audit(("halt",)))
    assert quiet.status == "failed"


# ------------------------------------------------------------------ what an owner's yes covers

ESCALATING = """
deployment: {owner: [owner@home.example], classes: [{name: owner, channels: [cron]}]}
rules:
  - {id: owner-all, permit: {classes: [owner]}, reason: r}
  - {id: ask-plan, escalate: {tools: [pay]}, when: 'context.plan.calls > 0', reason: r}
  - {id: ask-args, escalate: {tools: [pay]}, when: 'context has args.memo || context.plan.calls > 0', reason: r}
  - {id: ask-amount, escalate: {tools: [pay]}, when: 'context.plan.calls > 0 && context has args.amount', reason: r}
"""


def _escalated_run(rules: tuple[str, ...], open_facts: tuple[str, ...], finding_rules: tuple[str, ...]
                   ) -> tuple[Any, FixtureTools]:
    text = ESCALATING
    for rule in ("ask-plan", "ask-args", "ask-amount"):
        if rule not in rules:
            text = "\n".join(line for line in text.splitlines() if f"id: {rule}," not in line)
    policy: CompiledPolicy = parse_policy_text(text, assistant_policy().catalog)
    data = plan(call("p", "pay", account=lit("DE00"), amount=lit(5), memo=lit("m")))
    classified = classify(cron_trigger(), policy.doc.deployment)  # type: ignore[arg-type]
    checked = check_plan(parse_plan(data), policy.catalog)
    finding = Finding(step="p", tool="pay", verdict="escalate", rules=finding_rules,
                      open_args=(), open_facts=open_facts)
    review = Review(verdict="escalate", rules=finding_rules, summary="", plan_hash=checked.hash,
                    trust_class=classified.trust_class, findings=(finding,))
    tools = FixtureTools()
    grant = Grant(classified=classified, checked=checked, review=review, approval="ap_forged")
    return Executor(policy, tools, Audit()).run(grant, "r"), tools


def test_an_approval_covers_the_rules_of_a_step_the_owner_saw_whole() -> None:
    """The owner approved `ask-plan` with every value of the call known: at run time the
    same escalation proceeds without asking."""
    result, tools = _escalated_run(("ask-plan",), (), ("ask-plan",))
    assert result.status == "completed" and [t for t, _ in tools.calls] == ["pay"]


def test_an_approval_covers_no_rule_of_a_step_with_a_value_not_known_yet() -> None:
    """The owner approved `ask-plan` while an amount and the readers were still open. The
    rule reads neither, yet the yes was given to values nobody had seen (red team rounds 36
    and 37: a rule with no condition, or one on another argument, asked about a call whose
    target was open): the run stops and asks again."""
    result, tools = _escalated_run(("ask-plan",), ("args.amount", "readers_ok"), ("ask-plan",))
    assert result.status == "escalated" and tools.calls == []


def test_an_approval_never_covers_a_rule_reading_all_arguments_while_one_was_open() -> None:
    """A rule that reads the arguments whole (`context has args.memo`) cannot have been
    covered by a yes given while an argument was open: the run stops and asks again."""
    result, tools = _escalated_run(("ask-args",), ("args.amount", "readers_ok"), ("ask-args",))
    assert result.status == "escalated" and tools.calls == []


def test_a_runtime_escalation_proceeds_only_if_every_rule_was_covered() -> None:
    """Two rules escalate the call at run time; the owner's yes covered only one of them
    (the other read the amount, open at review): the run stops."""
    result, tools = _escalated_run(("ask-plan", "ask-amount"), ("args.amount",), ("ask-plan", "ask-amount"))
    assert result.status == "escalated" and tools.calls == []


# ------------------------------------------------------------------ loops and extractions


def test_a_loop_result_keeps_its_body_outputs_values_and_taint_at_run_time() -> None:
    """The list a loop returns holds each body output, and carries their label: addresses
    read from outside mail in a loop over the owner's own words are still attacker-chosen
    when sent to afterwards."""
    data = plan({"id": "each", "kind": "for_each", "over": lit(["a", "b"], "payload"), "as": "item", "max": 5,
                 "steps": [call("m", "read_inbox", query=ref("item"))]},
                call("s", "send_email", to=ref("each"), subject=lit("s", "payload"), body=lit("b", "payload")))
    tools = FixtureTools({"read_inbox": "eve@evil.example"})
    result, _, _ = run(data, tools=tools, trigger=owner_trigger("a b s"))
    assert result.outputs["each"] == ["eve@evil.example", "eve@evil.example"]
    assert result.status == "halted" and "no-attacker-chosen-destination" in result.rules
    assert "send_email" not in [t for t, _ in tools.calls]


def test_a_loop_result_carries_the_readers_of_every_body_step_at_run_time() -> None:
    """The loop's last step is public, an earlier one read a private file: whether the
    loop finished depends on it, so the result may not go to a contact."""
    data = plan({"id": "each", "kind": "for_each", "over": lit(["a"]), "as": "item", "max": 5,
                 "steps": [call("f", "read_file", path=ref("item")),
                           call("h", "create_hold", day=ref("item"), title=lit("t"))]},
                send(SENDER, ref("each", "0"), step="after"))
    result, tools, _ = run(data)
    assert result.status == "halted" and result.halted_step == "after"
    assert "no-private-data-to-non-readers" in result.rules
    assert "send_email" not in [t for t, _ in tools.calls]


def test_a_loop_that_did_not_finish_stops_what_depends_on_it() -> None:
    """One body step fails: the loop's result is incomplete, so the step that uses it is
    skipped, while an independent step still runs."""
    data = plan({"id": "each", "kind": "for_each", "over": lit(["a", "b"]), "as": "item", "max": 5,
                 "steps": [call("h", "create_hold", day=ref("item"), title=lit("t"))]},
                call("n", "notify_owner", text=ref("each")),
                call("other", "notify_owner", text=lit("independent")))
    tools = FixtureTools(fail=frozenset({"create_hold"}))
    result, _, _ = run(data, tools=tools, trigger=cron_trigger())
    assert result.skipped == ["n"] and result.status == "failed"
    assert [a["text"] for t, a in tools.calls if t == "notify_owner"] == ["independent"]


def test_an_extraction_answer_keeps_its_sources_label_at_run_time_and_is_audited() -> None:
    """A date read out of a private file is private: sending it to a contact is blocked by
    the executor's own check; the answer itself is in the audit log."""
    data = plan(call("f", "read_file", path=lit("x.txt")),
                {"id": "e", "kind": "extract", "from": ref("f"), "type": {"kind": "date"}},
                send(SENDER, ref("e")))
    tools = FixtureTools({"read_file": "the secret is on 2026-01-01"})
    result, _, audit = run(data, tools=tools, extractor=ScriptedExtractor())
    assert result.status == "halted" and "no-private-data-to-non-readers" in result.rules
    assert "send_email" not in [t for t, _ in tools.calls]
    assert ("extract", {"step": "e", "kind": "date", "value": "2026-01-01"}) in audit.events


def test_a_missing_field_or_a_field_of_text_halts_only_that_step() -> None:
    """A reference to a field the output does not have, or to a field of a plain text,
    halts that step with the reason; it does not read as the whole output."""
    data = plan(call("f", "read_file", path=lit("x.txt")),
                call("n", "notify_owner", text=ref("f", "missing")))
    result, tools, _ = run(data, tools=FixtureTools({"read_file": {"body": "x"}}), trigger=cron_trigger())
    assert result.status == "halted" and "no field 'missing'" in result.message
    result, tools, _ = run(data, tools=FixtureTools({"read_file": "plain text"}), trigger=cron_trigger())
    assert result.status == "halted" and "cannot take 'missing'" in result.message
    assert [t for t, _ in tools.calls] == ["read_file"]


# ------------------------------------------------------------------ answer types


def test_a_number_answer_must_lie_within_its_bounds() -> None:
    """A number outside [min, max] is refused; the bounds themselves are allowed; a
    missing bound does not limit."""
    bounded = ExtractType(kind="number", min=1, max=10)
    assert [extraction_problem(v, bounded, None) for v in (0, 1, 10, 11)] == [
        "a number out of range", None, None, "a number out of range"]
    assert extraction_problem(-5, ExtractType(kind="number", max=10), None) is None
    assert extraction_problem(50, ExtractType(kind="number", min=1), None) is None


def test_a_copy_must_come_out_of_its_choices() -> None:
    """Equal values count only with equal types (1 is not True); an item of a list, a key
    or value of a mapping counts; anything else does not."""
    assert copied_from(3, 3) and not copied_from(1, True) and not copied_from(5, 6)
    assert copied_from(2, [1, 2]) and not copied_from(3, [1, 2])
    assert copied_from("a", {"a": "x"}) and copied_from("x", {"a": "x"})
    assert not copied_from("y", {"a": "x", "b": "z"})
    assert copied_from("b", {"a": "x", "b": "z"}) and copied_from("z", {"a": "x", "b": "z"})


def test_audit_values_are_bounded_and_plain_values_unchanged() -> None:
    """Text up to the limit is recorded whole, longer text is cut; None, bools and
    numbers are recorded as they are."""
    exact = "x" * MAX_AUDIT_VALUE
    assert audit_value(exact) == exact
    assert audit_value(exact + "y") == exact + "…"
    assert [audit_value(v) for v in (None, True, 3.5)] == [None, True, 3.5]
