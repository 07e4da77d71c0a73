"""A trigger's budget spans every run reviewed for it (`plangate.audit.spend`).

The route these close: a planner that submits the same message again, one payment (or one
send) per plan, gets a fresh budget each time and pays as often as it asks."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from plangate import Gate, load_policy, parse_trigger
from plangate.audit import AuditLog, OwnerConsole
from plangate.audit.spend import Ledger, Spent, sqlite_ledger, trigger_key
from plangate.errors import GrantError
from plangate.gate import SPEND_RACE, SPEND_TRIES
from plangate.policy.facts import PlanBounds
from plangate.testing import FixtureTools
from plangate.trigger import classify

ROOT = Path(__file__).resolve().parents[2]
INBOX = ROOT / "src/plangate/deployments/inbox/policy.yaml"
PERF = ROOT / "src/plangate/bench/perf_policy.yaml"
OWNER = "dana@northwind.example"
IBAN = "DE89370400440532013000"


def lit(value: Any, origin: str = "planner") -> dict[str, Any]:
    return {"literal": value, "origin": origin}


def rent_trigger(message: str = "chat-1") -> dict[str, Any]:
    return {"id": message, "channel": "chat", "principal": OWNER, "evidence": {"paired": True},
            "payload": f"pay the rent: 500 to {IBAN}"}


def rent_plan() -> dict[str, Any]:
    return {"version": 1, "steps": [{"id": "p", "tool": "pay", "args": {
        "to_account": lit(IBAN, "payload"), "amount": lit(500, "payload")}}]}


def stranger(message: str) -> dict[str, Any]:
    return {"channel": "email", "principal": "mallory@evil.example", "evidence": {"dmarc": "pass"},
            "payload": "Can we meet?", "meta": {"message_id": message}}


def reply_plan() -> dict[str, Any]:
    return {"version": 1, "request_type": "meeting_request", "steps": [
        {"id": "r", "tool": "mail_reply",
         "args": {"in_reply_to": lit("m1"), "to": {"list": [{"ref": "trigger", "path": "principal"}]},
                  "body": lit("Thanks, the owner will get back to you.")}}]}


def test_the_owners_rent_submitted_again_asks_the_owner(tmp_path: Path) -> None:
    """One rent runs unattended; the same message's second paying plan is put to the owner
    (the trigger has paid once: `context.plan.payments` is 2), and says why."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    first = gate.submit(rent_trigger(), rent_plan())
    assert first.review.verdict == "approve" and first.run is not None
    second = gate.submit(rent_trigger(), rent_plan())
    assert second.review.verdict == "escalate", second.review.rules
    assert "owner-confirms-payment" in second.review.rules
    assert "Earlier runs for this same trigger" in second.review.summary
    assert second.run is None and second.approval is not None
    # Another message from the owner is another trigger.
    assert gate.submit(rent_trigger("chat-2"), rent_plan()).review.verdict == "approve"
    verdicts = [e.data for e in gate.audit.tail(50) if e.kind == "verdict"]
    assert verdicts[1]["trigger_spent"] == {"calls": 1, "egress": 1, "payments": 1, "loop": 0}
    assert gate.audit.verify().ok


def test_a_strangers_mail_gets_its_budget_once_across_runs(tmp_path: Path) -> None:
    """`max_egress: 2` for a stranger's mail: two replies, then the third plan for the same
    mail is denied by the budget rule; another mail of theirs has its own."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    outcomes = [gate.submit(parse_trigger(stranger("<m1@evil.example>")), reply_plan()) for _ in range(3)]
    assert [o.review.verdict for o in outcomes] == ["approve", "approve", "deny"]
    assert outcomes[2].review.rules == ("class:unknown:budget.max_egress",)
    assert gate.submit(parse_trigger(stranger("<m2@evil.example>")), reply_plan()).review.verdict == "approve"


def test_an_escalated_plan_is_charged_when_the_owner_says_yes(tmp_path: Path) -> None:
    """A plan put to the owner charges nothing while it waits (a refused one never does);
    approved, it is charged as it starts, if the trigger spent nothing more since the owner
    was asked. A second approval given on the same, now stale, spend may not run."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    gate.submit(rent_trigger(), rent_plan())
    second = gate.submit(rent_trigger(), rent_plan())
    third = gate.submit(rent_trigger(), rent_plan())
    assert second.approval is not None and third.approval is not None
    once = PlanBounds(calls=1, egress=1, payments=1, loop=0)
    assert second.review.spent == once and third.review.spent == once
    console = OwnerConsole(gate.audit)
    console.decide(second.approval, "approved", note="yes, twice this month")
    ran = gate.run_approved(second.approval)
    assert ran.run is not None and ran.run.status == "completed", ran.run
    console.decide(third.approval, "approved", note="and again")
    with pytest.raises(GrantError, match="since the owner was asked"):
        gate.run_approved(third.approval)
    key = trigger_key(gate.classify(rent_trigger()))
    assert gate.ledger.read(key).bounds.payments == 2


def test_a_refused_plan_leaves_the_budget_for_the_next(tmp_path: Path) -> None:
    """The owner refuses a stranger's plan; the agent's next, smaller plan for the same
    mail still has the mail's budget (the refused one never ran, and was never charged)."""
    class No:
        def approve(self, question: Any) -> bool:
            return False

    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db", approver=No())
    gate.submit(rent_trigger(), rent_plan())
    refused = gate.submit(rent_trigger(), rent_plan())
    assert refused.review.verdict == "escalate" and refused.run is None
    key = trigger_key(gate.classify(rent_trigger()))
    assert gate.ledger.read(key).runs == 1


def test_a_review_that_runs_nothing_charges_nothing(tmp_path: Path) -> None:
    """`Gate.review` runs nothing: it is reviewed with the trigger's spend but does not add
    to it, so checking a plan before submitting it does not spend its budget twice."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    assert gate.review(rent_trigger(), rent_plan()).verdict == "approve"
    assert gate.submit(rent_trigger(), rent_plan()).review.verdict == "approve"
    assert gate.review(rent_trigger(), rent_plan()).verdict == "escalate"


def test_policies_that_read_no_bounds_keep_no_ledger(tmp_path: Path) -> None:
    """The ledger is read only where a rule reads `context.plan` for the plan's tools and
    class: the speed benchmark's owner rules read none."""
    gate = Gate(load_policy(PERF), FixtureTools(), audit=tmp_path / "a.db")
    trigger = {"channel": "chat", "principal": "owner@home.example", "evidence": {"paired": True},
               "payload": "note: hello"}
    plan = {"version": 1, "steps": [{"id": "n", "tool": "notify_owner", "args": {"text": lit("hello", "payload")}}]}
    assert gate.submit(trigger, plan).review.spent is None
    assert gate.audit.connection.execute("SELECT COUNT(*) FROM trigger_spend").fetchone() == (0,)


class _Interleaved(Ledger):
    """Another worker's review of the same trigger lands between this one's review and its
    charge (the guard is made after the review, from what it saw)."""

    def __init__(self, inner: Ledger, other: Any) -> None:
        super().__init__(inner.db)
        self.other, self.reads, self.guards = other, 0, 0

    def read(self, key: str) -> Spent:
        self.reads += 1
        return super().read(key)

    def guard(self, key: str, seen: Spent, new_total: PlanBounds) -> tuple[str, tuple[Any, ...]]:
        self.guards += 1
        if self.guards == 1:
            self.other()
        return super().guard(key, seen, new_total)


def test_two_workers_cannot_both_spend_one_trigger(tmp_path: Path) -> None:
    """Two gates on one database; the other's rent is approved while this one reviews the
    same message: this one's charge misses, it is reviewed again with that payment in, and
    is put to the owner instead of paying a second time unasked."""
    db = tmp_path / "a.db"
    mine = Gate(load_policy(INBOX), FixtureTools(), audit=db)
    theirs = Gate(load_policy(INBOX), FixtureTools(), audit=db)
    done: list[Any] = []

    def other() -> None:  # in a thread of its own, as another worker would be
        worker = threading.Thread(target=lambda: done.append(theirs.submit(rent_trigger(), rent_plan())))
        worker.start()
        worker.join(10)

    mine.ledger = _Interleaved(mine.ledger, other)
    outcome = mine.submit(rent_trigger(), rent_plan())
    assert done and done[0].review.verdict == "approve"
    # Reviewed first on the guess that nothing was spent (no read), then again with
    # what the ledger held once the charge missed.
    assert (mine.ledger.guards, mine.ledger.reads) == (1, 1)
    assert outcome.review.verdict == "escalate" and "owner-confirms-payment" in outcome.review.rules


class _AlwaysBeaten(Ledger):
    """Every charge finds the ledger changed since it was read: its guard changes no row."""

    def guard(self, key: str, seen: Spent, new_total: PlanBounds) -> tuple[str, tuple[Any, ...]]:
        return "UPDATE trigger_spend SET runs = runs WHERE key = ? AND 0", (key,)


def test_a_charge_beaten_every_time_denies(tmp_path: Path) -> None:
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    gate.ledger = _AlwaysBeaten(gate.ledger.db)
    outcome = gate.submit(rent_trigger(), rent_plan())
    assert outcome.review.verdict == "deny" and outcome.review.rules == (SPEND_RACE,)
    assert outcome.run is None
    assert f"{SPEND_TRIES} times" in outcome.review.summary
    # Each beaten attempt wrote nothing: one trigger record, one plan, one verdict.
    kinds = [e.kind for e in gate.audit.tail(50)]
    assert kinds.count("verdict") == 1 and kinds.count("plan") == 1 and kinds.count("trigger") == 1


def test_a_failing_ledger_denies_and_runs_nothing(tmp_path: Path) -> None:
    """Fail closed: a ledger that cannot be read is an error of the review's records, and
    nothing runs."""
    tools = FixtureTools()
    gate = Gate(load_policy(INBOX), tools, audit=tmp_path / "a.db")

    class Broken(Ledger):
        def read(self, key: str) -> Spent:
            raise RuntimeError("disk gone")

        def guard(self, key: str, seen: Spent, new_total: PlanBounds) -> tuple[str, tuple[Any, ...]]:
            raise RuntimeError("disk gone")

    gate.ledger = Broken(gate.ledger.db)
    with pytest.raises(RuntimeError):
        gate.submit(rent_trigger(), rent_plan())
    assert tools.calls == []


def test_the_key_is_the_whole_trigger() -> None:
    """What tells two triggers apart: id, meta (a message id), sender, text, channel."""
    policy = load_policy(INBOX)
    deployment = policy.doc.deployment
    assert deployment is not None

    def key(**changes: Any) -> str:
        return trigger_key(classify(parse_trigger({**rent_trigger(), **changes}), deployment))

    base = key()
    assert key() == base
    assert len({base, key(id="chat-2"), key(payload="pay the rent"), key(channel="api"),
                key(meta={"message_id": "x"}), key(principal="bob@partner.example"),
                key(evidence={"paired": False})}) == 7  # the last: a forged copy, another class


def test_the_sqlite_ledger_compares_and_swaps() -> None:
    log = AuditLog(":memory:")
    ledger = sqlite_ledger(log)
    one = PlanBounds(calls=1, egress=1, payments=0, loop=0)
    assert ledger.read("k") == Spent(0, PlanBounds(calls=0, egress=0, payments=0, loop=0))
    assert ledger.charge("k", Spent(0, one), one)
    assert not ledger.charge("k", Spent(0, one), one)  # someone charged it since
    seen = ledger.read("k")
    assert seen == Spent(1, one)
    assert ledger.charge("k", seen, one.plus(one))
    assert not ledger.charge("k", seen, one.plus(one))
    assert ledger.read("k") == Spent(2, one.plus(one))


def test_an_owners_yes_given_while_another_plan_ran_does_not_run(tmp_path: Path) -> None:
    """The synchronous owner channel: while the owner answers, another plan for the same
    trigger is charged (another worker ran it). The yes was to the spend shown; the plan
    does not run and the refusal is on record."""
    gate: Gate

    class YesWhileAnotherRuns:
        def approve(self, question: Any) -> bool:
            key = trigger_key(gate.classify(rent_trigger()))
            seen = gate.ledger.read(key)
            assert gate.ledger.charge(key, seen, seen.bounds.plus(PlanBounds(calls=1, egress=1, payments=1, loop=0)))
            return True

    tools = FixtureTools()
    gate = Gate(load_policy(INBOX), tools, audit=tmp_path / "a.db", approver=YesWhileAnotherRuns())
    gate.submit(rent_trigger(), rent_plan())
    assert len(tools.calls) == 1
    outcome = gate.submit(rent_trigger(), rent_plan())
    assert outcome.review.verdict == "escalate" and outcome.run is None
    assert len(tools.calls) == 1
    assert any(e.kind == "run_refused" for e in gate.audit.tail(10))


def test_an_unreadable_stored_spend_refuses_the_grant() -> None:
    """Fail closed: a stored review whose `spent` does not read (a row edited outside
    plangate) refuses the grant with a clear error, never a crash or a spend of nothing."""
    from plangate.replans import stored_spent as _stored_spent

    assert _stored_spent({}) is None
    assert _stored_spent({"spent": {"calls": 1, "egress": 0, "payments": 1, "loop": 0}}) == PlanBounds(
        calls=1, egress=0, payments=1, loop=0)
    for bad in ({"calls": "x", "egress": 0, "payments": 0, "loop": 0}, {"calls": 1}):
        with pytest.raises(GrantError, match="unreadable"):
            _stored_spent({"spent": bad})


def test_a_plan_not_approved_on_the_guess_that_nothing_was_spent_is_reviewed_with_what_was(
        tmp_path: Path) -> None:
    """A trigger's first plan is reviewed as if nothing were spent, without reading the
    ledger; only an approval is checked against it (its charge inserts the ledger's row, or
    finds one and is reviewed again). Any other verdict is decided again with what the
    ledger holds: the second plan for the owner's rent pays twice and is asked about either
    way, and the question must show the rent already paid."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    assert gate.submit(rent_trigger(), rent_plan()).review.verdict == "approve"
    twice = rent_plan()
    twice["steps"].append({**twice["steps"][0], "id": "q"})
    second = gate.submit(rent_trigger(), twice)
    assert second.review.verdict == "escalate", second.review.rules
    assert "Earlier runs for this same trigger" in second.review.summary
    verdicts = [e.data for e in gate.audit.tail(50) if e.kind == "verdict"]
    assert verdicts[-1]["trigger_spent"] == {"calls": 1, "egress": 1, "payments": 1, "loop": 0}


def test_a_new_triggers_approved_plan_reads_no_ledger_row(tmp_path: Path) -> None:
    """The common case costs no read: a trigger's first approved plan is charged by the
    insert that would fail had anything been charged before."""
    gate = Gate(load_policy(INBOX), FixtureTools(), audit=tmp_path / "a.db")
    statements: list[str] = []
    gate.audit.connection.set_trace_callback(statements.append)
    assert gate.submit(rent_trigger("chat-9"), rent_plan()).review.verdict == "approve"
    gate.audit.connection.set_trace_callback(None)
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT") and "trigger_spend" in s]
    assert [s for s in statements if "INSERT INTO trigger_spend" in s]
