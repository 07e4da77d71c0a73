"""Labels: the join lattice every value's readers and taint travel through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plangate.labels import PUBLIC, TRUSTED, Label, join_all

PRINCIPALS = ["owner", "bob@partner.example", "carol@x.example", PUBLIC]

labels = st.builds(
    Label,
    readers=st.frozensets(st.sampled_from(PRINCIPALS), min_size=1),
    sources=st.frozensets(st.sampled_from(["payload", "planner", "instruction", "tool:x"])),
    taint=st.sampled_from(["none", "low", "high"]),
)


def _norm(label: Label) -> tuple[bool, frozenset[str], frozenset[str], str]:
    """Compare labels up to the representation of 'public' (any set containing `*`)."""
    return (label.is_public, frozenset() if label.is_public else label.readers, label.sources,
            label.taint)


def test_readers_meet_by_intersection() -> None:
    """Joining two private labels keeps only the readers both allow."""
    a = Label(readers=frozenset({"owner", "bob"}))
    b = Label(readers=frozenset({"owner", "carol"}))
    assert a.join(b).readers == frozenset({"owner"})


def test_public_is_the_top_of_readers() -> None:
    """Public data joined with private data is as private as the private part."""
    private = Label(readers=frozenset({"owner"}))
    assert Label().join(private).readers == frozenset({"owner"})
    assert private.join(Label()).readers == frozenset({"owner"})
    assert not private.join(Label()).is_public


def test_disjoint_readers_mean_nobody_may_read() -> None:
    """Two private labels with no common reader join to a label nobody may read."""
    joined = Label(readers=frozenset({"a"})).join(Label(readers=frozenset({"b"})))
    assert joined.readers == frozenset()
    assert not joined.readable_by("a") and not joined.readable_by("b")


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("none", "none", "none"), ("none", "low", "low"), ("low", "high", "high"),
    ("high", "none", "high"), ("low", "low", "low"),
])
def test_taint_is_the_maximum(a: str, b: str, expected: str) -> None:
    """A value is as tainted as its most tainted part; sources accumulate."""
    joined = Label(taint=a, sources=frozenset({"x"})).join(Label(taint=b, sources=frozenset({"y"})))  # type: ignore[arg-type]
    assert joined.taint == expected
    assert joined.sources == frozenset({"x", "y"})
    assert joined.untrusted == (expected != "none")


def test_trusted_is_neutral_and_join_all_of_nothing_is_trusted() -> None:
    """TRUSTED is the neutral element; joining no labels gives it."""
    assert join_all([]) == TRUSTED
    label = Label(readers=frozenset({"owner"}), taint="high", sources=frozenset({"payload"}))
    assert TRUSTED.join(label) == label
    assert label.join(TRUSTED) == label


def test_json_round_trip_and_bad_taint() -> None:
    """Labels survive storage as JSON; an unknown taint is refused, not read as trusted."""
    label = Label(readers=frozenset({"owner"}), sources=frozenset({"store:x"}), taint="low")
    assert Label.from_json(label.to_json()) == label
    with pytest.raises(ValueError, match="taint"):
        Label.from_json({"taint": "medium"})
    with pytest.raises(ValueError, match="lists"):
        Label.from_json({"readers": "owner"})


@given(labels, labels)
def test_join_is_commutative(a: Label, b: Label) -> None:
    """a ⊔ b == b ⊔ a (up to the spelling of 'public')."""
    assert _norm(a.join(b)) == _norm(b.join(a))


@given(labels, labels, labels)
def test_join_is_associative(a: Label, b: Label, c: Label) -> None:
    """(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c): order of propagation never changes a label."""
    assert _norm(a.join(b).join(c)) == _norm(a.join(b.join(c)))


@given(labels)
def test_join_is_idempotent(a: Label) -> None:
    """a ⊔ a == a."""
    assert _norm(a.join(a)) == _norm(a)


@given(labels, labels, st.sampled_from(PRINCIPALS))
def test_join_never_widens_readers_or_lowers_taint(a: Label, b: Label, who: str) -> None:
    """Whoever may read a join may read both parts; the join is at least as tainted."""
    j = a.join(b)
    if j.readable_by(who):
        assert a.readable_by(who) and b.readable_by(who)
    order = {"none": 0, "low": 1, "high": 2}
    assert order[j.taint] >= max(order[a.taint], order[b.taint])
