"""Red-team review of the speed work (commits after 32c99fd): inputs the equivalence tests'
generators do not make, run against the rewritten code. Each test states the answer the
pre-speed code gave and passes on it (checked in a worktree of 32c99fd). A test marked
The first two were routes (the audit trail of a review that fails, and of a checked plan
that is not JSON as it came), fixed in `Gate._review`.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import random
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from plangate import Gate, load_policy, parse_trigger
from plangate.labels import Label, Taint, join_all
from plangate.plan.codec import canonical_json, parse_plan, plan_hash
from plangate.policy import CompiledPolicy
from plangate.resources import MemoryResourceLabels, has_wildcard
from plangate.review import review
from plangate.testing import FixtureTools
from plangate.trigger import Trigger

ROOT = Path(__file__).resolve().parents[2]
OWNER = "owner@home.example"

_POLICY: CompiledPolicy | None = None


def _policy() -> CompiledPolicy:
    global _POLICY
    if _POLICY is None:
        _POLICY = load_policy(ROOT / "examples" / "assistant-policy.yaml")
    return _POLICY


def _owner(payload: str = "") -> Trigger:
    return parse_trigger({"channel": "chat", "principal": OWNER, "evidence": {"paired": True},
                          "payload": payload})


def _gate(tmp_path: Path) -> Gate:
    return Gate(_policy(), FixtureTools({}), audit=str(tmp_path / "audit.db"))


# ---- the audit trail of a review that fails -----------------------------------------------

def test_a_plan_that_crashes_the_gate_still_leaves_its_trigger_on_record(tmp_path: Path) -> None:
    """A hijacked planner writes `\\ud800` (valid JSON) into a literal. The gate fails on it
    (an exception before and after the speed work), but the attempt must stay visible in the
    audit log: the trigger is recorded before the exception goes on."""
    gate = _gate(tmp_path)
    plan_text = ('{"version": 1, "steps": [{"id": "n", "tool": "notify_owner", "args": '
                 '{"text": {"literal": "hi \\ud800", "origin": "planner"}}}]}')
    assert "\ud800" in json.loads(plan_text)["steps"][0]["args"]["text"]["literal"]
    try:
        verdict = gate.review(_owner("hi"), plan_text, run_id="run_surrogate").verdict
    except Exception:  # both versions raise here; what is recorded matters
        verdict = "deny"
    assert verdict == "deny"
    kinds = [e.kind for e in gate.audit.tail(10, run_id="run_surrogate")]
    assert "trigger" in kinds


def test_a_checked_plan_that_is_not_json_is_still_reviewed_and_recorded(tmp_path: Path) -> None:
    """An in-process caller passes a plan whose argument name is bytes (pydantic reads it as
    the str name): it is reviewed, recorded (the plan as its repr) and answered."""
    gate = _gate(tmp_path)
    plan = {"version": 1, "steps": [{"id": "n", "tool": "notify_owner",
                                     "args": {b"text": {"literal": "hi", "origin": "payload"}}}]}
    result = gate.review(_owner("hi"), plan, run_id="run_bytes")
    assert result.verdict == "approve"
    kinds = [e.kind for e in gate.audit.tail(10, run_id="run_bytes")]
    assert kinds == ["trigger", "plan", "verdict"]
    assert gate.audit.verify().ok


# ---- routes tried that held: guards on inputs the equivalence tests do not generate -------

_EDGE_LITERALS: list[Any] = [
    None, {"a": None}, [None, {"b": None}], -0.0, 1e16, 5e-324, 1.7976931348623157e308,
    2**64, -2**63 - 1, 10**300, True, [1, True, 1.0], "\u2028", "\x00", "\U0010ffff", {"": ""},
    {"b": 1, "a": 2, "A": 3, "\u00e9": 4, "e\u0301": 5}, "\u202eevil", [[["deep"]]]]


@pytest.mark.parametrize("value", _EDGE_LITERALS, ids=repr)
def test_the_plan_hash_written_directly_equals_the_general_path(value: Any) -> None:
    """`plan_text` (written directly) against the pydantic dump re-encoded, on literal values
    and ref paths Hypothesis's JSON strategy does not make (NaN-free floats at the edges,
    ints past 64 bits, None inside dicts, non-BMP and separator characters)."""
    plan = parse_plan({"version": 1, "steps": [
        {"id": "a", "tool": "notify_owner", "args": {"text": {"literal": value, "origin": "payload"}}},
        {"id": "b", "tool": "notify_owner", "args": {"text": {"concat": [
            {"literal": value, "origin": "planner"}, {"ref": "trigger", "path": ["a.b", 0, "c d"]}]}}},
        {"id": "e", "kind": "extract", "from": {"ref": "a"},
         "type": {"kind": "number", "min": 1e16, "max": -0.0}, "question": "\u2028?"}]})
    general = canonical_json(plan.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert plan_hash(plan) == "sha256:" + hashlib.sha256(general.encode()).hexdigest()


_HOSTILE = ["a", "b", "*", "?", "[", "]", "!", "-", "\x00", "\U0010ffff", "/", ".", "\\", ":", "\u00e9"]


def _name(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(_HOSTILE) for _ in range(rng.randint(0, size)))


def _stored_name(rng: random.Random, size: int) -> str:
    """A name as the store can hold it: resolved values are escaped (`resources._escape`),
    so U+10FFFF, the bound of the prefix scans, only occurs as `[\U0010ffff]`."""
    return _name(rng, size).replace("\U0010ffff", "[\U0010ffff]")


def _full_scan(stored: dict[str, Label], below: dict[str, Label], pattern: str) -> Label | None:
    """The pre-speed lookup: every stored name compared, in insertion order of the sorted
    concrete names then the stored patterns, the base last."""
    def overlap(a: str, b: str) -> bool:
        return a == b or fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a)
    concrete = sorted(n for n in stored if not has_wildcard(n))
    patterns = [n for n in stored if has_wildcard(n)]
    hits = [stored[n] for n in [*concrete, *patterns] if overlap(n, pattern)]
    base = [below[n] for n in below if overlap(n, pattern)]
    if base:
        hits.append(join_all(base))
    return join_all(hits) if hits else None


def test_store_lookups_equal_a_full_scan_on_hostile_names() -> None:
    """Stored names and queries made of `*`, `?`, `[`, `]`, NUL, U+10FFFF and separators:
    the prefix-range and `prefix*` shortcuts of `MemoryResourceLabels.label_of` (and the
    one-sided `overlaps`) give what comparing every name gives."""
    rng = random.Random(20261127)
    taints: list[Taint] = ["none", "low", "high"]
    for _ in range(3000):
        stored = {_stored_name(rng, 5): Label(readers=frozenset({rng.choice(["*", "owner", "b"])}),
                                              sources=frozenset({_name(rng, 2)}),
                                              taint=rng.choice(taints))
                  for _ in range(rng.randint(0, 6))}
        below = {_stored_name(rng, 4): Label(taint="high")} if rng.random() < 0.5 else {}
        labels = MemoryResourceLabels(dict(stored), base=MemoryResourceLabels(dict(below)) if below else None)
        for _ in range(4):
            query = _name(rng, 5) if rng.random() < 0.7 else _name(rng, 3) + "*"
            got, want = labels.label_of(query), _full_scan(stored, below, query)
            assert got == want, (stored, below, query)


def test_a_summary_shows_no_hidden_character_of_a_hostile_plan() -> None:
    """Literals, paths and a sender made of bidi, zero-width, separator and control
    characters: the summary (its fast paths for printable ASCII included) shows each of them
    escaped, and every payload literal is marked with its sender."""
    hostile = "\u202eevil\u200b\u2028\x1b[2J\u00ad\u061c\u3164\ufeff\r\n'\\«»"
    policy = _policy()
    trigger = parse_trigger({"channel": "email", "principal": "Mallory\u202e <mallory@evil.example>",
                             "evidence": {"dmarc": "pass"}, "payload": hostile + " x@y.example"})
    plan = {"version": 1, "steps": [
        {"id": "r", "tool": "reply_email", "args": {
            "to": {"literal": "x@y.example", "origin": "payload"},
            "body": {"concat": [{"literal": hostile, "origin": "payload"},
                                {"literal": hostile * 40, "origin": "planner"},
                                {"ref": "trigger", "path": "payload"}]}}},
        {"id": "n", "tool": "notify_owner", "args": {"text": {"concat": [
            {"literal": hostile, "origin": "instruction"}, {"ref": "r", "path": [hostile, 0]}]}}}]}
    result = review(trigger, plan, policy)
    assert result.summary.startswith("A")  # reviewed, not refused as malformed
    for ch in result.summary:
        assert ch == "\n" or (unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
                              and ord(ch) not in (0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800)), repr(ch)
    assert "«payload from" in result.summary
