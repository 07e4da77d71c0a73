"""The gate's own behaviour: replans that narrow or widen, and the synchronous owner channel."""

from __future__ import annotations

from plangate.audit import OwnerConsole
from plangate.gate import narrows
from plangate.plan.codec import parse_plan
from plangate.testing import ScriptedOwner

from .conftest import assistant_policy, call, event_kinds, lit, make_gate, owner_trigger, plan, ref

CATALOG = assistant_policy().catalog

PAY = call("pay", "pay", account=lit("DE1", "payload"), amount=lit(120.5, "payload"),
           memo=lit("invoice", "payload"))
NOTE = call("note", "notify_owner", text=lit("paid the plumber"))
PAYLOAD = "Pay the plumber 120.5 to DE1, memo invoice"


def test_narrows_accepts_only_a_subset_of_identical_steps() -> None:
    """Dropping steps narrows; changing an argument, a data source, a loop bound upwards,
    adding a step or changing the request type does not."""
    old = parse_plan(plan(PAY, NOTE))
    assert narrows(old, parse_plan(plan(PAY)), CATALOG)
    assert not narrows(old, parse_plan(plan(NOTE, PAY)), CATALOG)  # the same steps in another order
    assert not narrows(old, parse_plan(plan(
        call("pay", "pay", account=lit("EVIL", "planner"), amount=lit(120.5, "payload"),
             memo=lit("invoice", "payload")))), CATALOG)
    assert not narrows(old, parse_plan(plan(PAY, NOTE, call("x", "notify_owner", text=lit("more")))), CATALOG)
    assert not narrows(old, parse_plan(plan(PAY, NOTE, request_type="question")), CATALOG)
    loop = {"id": "each", "kind": "for_each", "over": ref("mail"), "as": "m", "max": 3,
            "steps": [call("tell", "notify_owner", text=ref("m", "subject"))]}
    mail = call("mail", "read_inbox", query=lit("x"))
    wider = dict(loop, max=4)
    assert narrows(parse_plan(plan(mail, loop)), parse_plan(plan(mail, dict(loop, max=2))), CATALOG)
    assert not narrows(parse_plan(plan(mail, loop)), parse_plan(plan(mail, wider)), CATALOG)
    # Same call shape, other data: the note now reads the file instead of the inbox.
    swapped = plan(call("mail", "read_file", path=lit("secret.txt")), loop)
    assert not narrows(parse_plan(plan(mail, loop)), parse_plan(swapped), CATALOG)


def test_a_step_moved_into_a_loop_does_not_narrow() -> None:
    """An approved payment moved into a loop (or out of one, or into another loop) would run
    a different number of times than the owner saw: that is never a narrowing."""
    items = call("mail", "read_inbox", query=lit("x"))
    loop = {"id": "each", "kind": "for_each", "over": ref("mail"), "as": "m", "max": 3,
            "steps": [call("tell", "notify_owner", text=ref("m", "subject"))]}
    old = parse_plan(plan(items, PAY, loop))
    assert narrows(old, parse_plan(plan(items, PAY, loop)), CATALOG)
    moved = dict(loop, steps=[loop["steps"][0], PAY])
    assert not narrows(old, parse_plan(plan(items, moved)), CATALOG)
    other = {"id": "each", "kind": "for_each", "over": ref("mail"), "as": "m", "max": 3,
             "steps": [PAY]}
    assert not narrows(parse_plan(plan(items, moved)), parse_plan(plan(items, other, loop | {"id": "each2"})), CATALOG)


def test_a_narrowing_replan_runs_without_asking_again_and_a_widening_one_waits() -> None:
    """Before an approved payment plan runs, dropping its note runs at once on that approval
    (using it up); adding a second payment is escalated afresh; a used approval, or another
    trigger, never carries a replan."""
    gate, tools = make_gate()
    trigger = owner_trigger(PAYLOAD)
    first = gate.submit(trigger, plan(PAY, NOTE))
    assert first.review.verdict == "escalate" and first.approval
    OwnerConsole(gate.audit).decide(first.approval, "approved")

    second = call("pay2", "pay", account=lit("DE1", "payload"), amount=lit(120.5, "payload"),
                  memo=lit("invoice", "payload"))
    widened = gate.replan(first, trigger, plan(PAY, second))
    assert widened.review.verdict == "escalate" and widened.run is None
    assert widened.approval != first.approval and tools.calls == []

    other = owner_trigger(PAYLOAD + " please")
    assert gate.replan(first, other, plan(PAY)).run is None  # not the trigger the owner saw

    narrowed = gate.replan(first, trigger, plan(PAY))
    assert narrowed.run is not None and narrowed.run.status == "completed"
    assert "replan_narrowed" in event_kinds(gate)
    assert [t for t, _ in tools.calls] == ["pay"]

    again = gate.replan(first, trigger, plan(PAY))  # the approval is used up
    assert again.run is None and again.review.verdict == "escalate"
    assert [t for t, _ in tools.calls] == ["pay"]


def test_the_owner_channel_is_asked_with_the_summary_and_only_a_true_yes_counts() -> None:
    """With a synchronous owner channel, an escalation asks at once: True runs the plan;
    False, a truthy non-True value or an exception run nothing."""
    for answer, runs in ((True, True), (False, False), ("yes", False), (RuntimeError("x"), False)):
        owner = ScriptedOwner(answer)
        gate, tools = make_gate(approver=owner)
        outcome = gate.submit(owner_trigger(PAYLOAD), plan(PAY))
        assert len(owner.questions) == 1
        assert "pay" in owner.questions[0].summary and owner.questions[0].rules
        assert (outcome.run is not None) is runs, answer
        assert bool(tools.calls) is runs
        assert "owner_answer" in event_kinds(gate)


class _Opinion:
    def __init__(self, answer: object) -> None:
        self.answer = answer
        self.asked = 0

    def judge(self, classified: object, checked: object, review: object) -> str:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[return-value]


def test_a_second_reviewer_can_only_tighten() -> None:
    """The second reviewer turns an approval into a question or a denial, a failure or a
    nonsense answer into a question, never a question into an approval; it is not asked
    when the verdict is already deny. An owner's yes to its question runs the plan."""
    simple = plan(call("n", "notify_owner", text=lit("hello")))
    for answer, verdict in (("approve", "approve"), ("escalate", "escalate"), ("deny", "deny"),
                            (RuntimeError("model down"), "escalate"), ("yes!", "escalate")):
        opinion = _Opinion(answer)
        gate, tools = make_gate(second_opinion=opinion)
        out = gate.submit(owner_trigger(), simple)
        assert out.review.verdict == verdict and opinion.asked == 1, answer
        assert (tools.calls != []) == (verdict == "approve")
        if verdict != "approve":
            assert "plangate:second-opinion" in out.review.rules
    opinion = _Opinion("approve")
    gate, tools = make_gate(second_opinion=opinion)
    assert gate.submit(owner_trigger(PAYLOAD), plan(PAY)).review.verdict == "escalate"
    hijacked = plan(call("s", "send_email", to={"list": [lit("eve@evil.example")]},
                         subject=lit("s"), body=lit("b")))
    asked = opinion.asked
    assert gate.submit(owner_trigger(), hijacked).review.verdict == "deny"
    assert opinion.asked == asked  # not consulted on a deny
    gate, tools = make_gate(second_opinion=_Opinion("escalate"))
    queued = gate.submit(owner_trigger(), simple)
    assert queued.approval and tools.calls == []
    OwnerConsole(gate.audit).decide(queued.approval, "approved")
    ran = gate.run_approved(queued.approval)
    assert ran.run is not None and ran.run.status == "completed"
    assert [t for t, _ in tools.calls] == ["notify_owner"]


def test_a_replan_is_withheld_when_it_would_rest_on_what_the_principal_may_not_read() -> None:
    """A stranger's run reads the owner's calendar and then fails: whether a replan happens,
    what it costs and what it spends would tell the stranger about the calendar
    (`Gate.replan_withheld`). Refused, whatever context the caller passes: no review, no
    run, nothing counted or charged; the log says why. The owner's same run replans."""
    from plangate.gate import REPLAN_WITHHELD

    from .conftest import stranger_trigger

    failing = plan(call("cal", "search_calendar", day=lit("2026-12-02")),
                   call("n1", "notify_owner", text=ref("cal", "99.title")), request_type="meeting_request")
    again = plan(call("n2", "notify_owner", text=lit("could not note it")), request_type="meeting_request")
    for trigger, withheld in ((stranger_trigger("Can we meet on 2026-12-02?"), True),
                              (owner_trigger("what is on 2026-12-02?"), False)):
        gate, _tools = make_gate({"search_calendar": [{"title": "dentist"}]})
        first = gate.submit(trigger, failing)
        assert first.run is not None and first.run.status in ("halted", "failed"), first
        assert gate.replan_withheld(first, trigger) == (["cal", "halt:n1"] if withheld else [])
        runs_before = len([e for e in gate.audit.tail(1000) if e.kind == "trigger"])
        second = gate.replan(first, trigger, again)
        kinds = [e.kind for e in gate.audit.tail(1000)]
        if withheld:
            assert second.run is None and second.review.rules == (REPLAN_WITHHELD,)
            assert "replan_withheld" in kinds
            assert len([k for k in kinds if k == "trigger"]) == runs_before  # no review, no run
        else:
            assert second.run is not None and second.run.status == "completed"
