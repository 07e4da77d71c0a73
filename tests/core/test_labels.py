"""Labels: the join lattice every value's readers and taint travel through."""

from __future__ import annotations

from collections.abc import Iterable

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


# --- The fast `join` and `join_all` equal the plain fold they replaced -------------------------
# Reference, verbatim as of commit 4fe0800 (tests/core/test_walker_speed.py says why).

_TAINT_ORDER = {"none": 0, "low": 1, "high": 2}


def ref_join(self: Label, other: Label) -> Label:
    if other is self or other is TRUSTED:
        return self
    if self is TRUSTED:
        return other
    return Label(readers=_ref_meet(self.readers, other.readers), sources=self.sources | other.sources,
                 taint=max(self.taint, other.taint, key=_TAINT_ORDER.__getitem__))


def _ref_meet(a: frozenset[str], b: frozenset[str]) -> frozenset[str]:
    if PUBLIC in a:
        return b
    if PUBLIC in b:
        return a
    return a & b


def ref_join_all(labels: Iterable[Label]) -> Label:
    out = TRUSTED
    for label in labels:
        out = ref_join(out, label)
    return out


READERS = ["owner", "bob@partner.example", "carol@x.example", PUBLIC]
SOURCES = ["payload", "planner", "instruction", "tool:x", "store:y"]

fresh_labels = st.builds(
    Label,
    readers=st.frozensets(st.sampled_from(READERS)),
    sources=st.frozensets(st.sampled_from(SOURCES), max_size=3),
    taint=st.sampled_from(["none", "low", "high"]),
)
# A pool, so that the same object recurs (the fast paths test identity) and TRUSTED and its
# equal-but-distinct twin appear.
label_pools = st.lists(fresh_labels, min_size=1, max_size=5).map(lambda pool: [TRUSTED, Label(), *pool])


@st.composite
def label_lists(draw: st.DrawFn, max_size: int = 8) -> list[Label]:
    pool = draw(label_pools)
    return draw(st.lists(st.sampled_from(pool), max_size=max_size))


def same(a: Label | None, b: Label | None) -> bool:
    """Equal in every field, the spelling of public readers included."""
    if a is None or b is None:
        return a is b
    return (type(a) is type(b) is Label and a == b and hash(a) == hash(b)
            and (a.readers, a.sources, a.taint) == (b.readers, b.sources, b.taint))



@given(label_pools, st.data())
def test_join_equals_the_reference(pool: list[Label], data: st.DataObject) -> None:
    """`Label.join` (reusing a side when the join equals it) gives the reference's fields."""
    a, b = data.draw(st.sampled_from(pool)), data.draw(st.sampled_from(pool))
    joined = a.join(b)
    assert same(joined, ref_join(a, b))
    assert joined == ref_join(a, b) and hash(joined) == hash(ref_join(a, b))
    # (Not `repr`: the iteration order of equal frozensets depends on how they were built and
    # on the hash seed; nothing reads a label's sets unsorted.)
    assert type(joined) is Label


@given(label_lists(max_size=10))
def test_join_all_equals_the_fold(found: list[Label]) -> None:
    """`join_all`, folded over the fields, is the fold of `join` from TRUSTED."""
    assert same(join_all(found), ref_join_all(found))
    assert join_all(found) == ref_join_all(found) and type(join_all(found)) is Label
    assert same(join_all(iter(found)), ref_join_all(found))


def test_join_all_keeps_order_sensitive_readers() -> None:
    """Public reader sets with extra names meet order-sensitively; the fold keeps the order."""
    a, b = Label(readers=frozenset({PUBLIC, "x"})), Label(readers=frozenset({PUBLIC, "y"}))
    assert join_all([a, b]).readers == ref_join_all([a, b]).readers == frozenset({PUBLIC, "y"})
    assert join_all([b, a]).readers == frozenset({PUBLIC, "x"})
    assert join_all([a, TRUSTED]) is a and join_all([]) is TRUSTED


def test_joins_build_labels_as_init_does() -> None:
    """`join` and `join_all` set the three fields of a new label directly (half the cost of the
    keyword `__init__`); that equals `Label(...)` only while `__init__` does nothing else."""
    import dataclasses

    assert not hasattr(Label, "__post_init__")
    assert [f.name for f in dataclasses.fields(Label)] == ["readers", "sources", "taint"]
    joined = Label(readers=frozenset({"a", "b"})).join(Label(readers=frozenset({"b"}), taint="low"))
    assert joined == Label(readers=frozenset({"b"}), taint="low") and joined.untrusted
    assert dataclasses.replace(joined, taint="high").taint == "high"
