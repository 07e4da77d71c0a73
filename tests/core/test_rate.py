"""Cross-run rate limits: a flood of triggers cannot spend the owner's tools."""

from __future__ import annotations

import itertools
from pathlib import Path

from plangate import Gate, load_policy, parse_trigger
from plangate.testing import FixtureTools

POLICY = Path(__file__).resolve().parents[2] / "src/plangate/deployments/inbox/policy.yaml"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


_MAIL_IDS = itertools.count()


def stranger(address: str) -> dict[str, object]:
    """A new mail each time (its own id): the same mail again would be one trigger, whose
    budget spans its runs (`plangate.audit.spend`)."""
    return {"id": f"<m{next(_MAIL_IDS)}@spam.example>", "channel": "email", "principal": address,
            "evidence": {"dmarc": "pass"}, "payload": "Can we meet?"}


def reply_plan() -> dict[str, object]:
    return {"request_type": "meeting_request", "steps": [
        {"id": "r", "tool": "mail_reply",
         "args": {"in_reply_to": {"literal": "m1", "origin": "planner"},
                  "to": {"list": [{"ref": "trigger", "path": "principal"}]},
                  "body": {"literal": "Thanks, the owner will get back to you.", "origin": "planner"}}},
    ]}


def test_a_flooding_stranger_gets_only_the_hourly_allowance(tmp_path: Path) -> None:
    """Five replies an hour per stranger (shipped policy); the 6th..500th are denied before
    review with the rate rule named, nothing runs for them, and an hour later it resets."""
    clock = Clock()
    tools = FixtureTools()
    gate = Gate(load_policy(POLICY), tools, audit=tmp_path / "a.db", clock=clock)
    verdicts = [gate.submit(parse_trigger(stranger("flood@spam.example")), reply_plan())
                for _ in range(500)]
    assert [o.review.verdict for o in verdicts[:5]] == ["approve"] * 5
    assert {o.review.verdict for o in verdicts[5:]} == {"deny"}
    assert verdicts[5].review.rules == ("class:unknown:rate.per_principal_per_hour",)
    assert len(tools.calls) == 5
    # Another stranger is not affected by the first one's flood.
    assert gate.submit(parse_trigger(stranger("other@fine.example")), reply_plan()).review.verdict == "approve"
    clock.now += 3601
    assert gate.submit(parse_trigger(stranger("flood@spam.example")), reply_plan()).review.verdict == "approve"
    assert gate.audit.verify().ok


def test_a_botnet_hits_the_class_limit(tmp_path: Path) -> None:
    """Many strangers, one message each: the class-wide hourly limit caps them all."""
    gate = Gate(load_policy(POLICY), FixtureTools(), audit=tmp_path / "a.db", clock=Clock())
    outcomes = [gate.submit(parse_trigger(stranger(f"bot{i}@spam{i}.example")), reply_plan())
                for i in range(80)]
    approved = sum(o.review.verdict == "approve" for o in outcomes)
    assert approved == 60
    assert outcomes[-1].review.rules == ("class:unknown:rate.per_class_per_hour",)


def test_the_owner_is_not_rate_limited(tmp_path: Path) -> None:
    """Classes without a `rate` (the owner in the shipped policy) are never refused for volume."""
    gate = Gate(load_policy(POLICY), FixtureTools(), audit=tmp_path / "a.db", clock=Clock())
    def owner(n: int) -> dict[str, object]:  # forty chat messages, each with its own id
        return {"id": f"chat-{n}", "channel": "chat", "principal": "dana@northwind.example",
                "evidence": {"paired": True}, "payload": "note"}
    plan = {"steps": [{"id": "n", "tool": "notify_owner",
                       "args": {"text": {"literal": "note", "origin": "payload"}}}]}
    assert all(gate.submit(parse_trigger(owner(n)), plan).review.verdict == "approve" for n in range(40))
