"""The label rules of `plangate.resources`, one rule per test: what a call's output, what
it writes and what it discloses carry, how stored labels accumulate, and the bound on how
many resource names one pattern may stand for."""

from __future__ import annotations

from core.conftest import CONTACT
from plangate.catalog import parse_catalog
from plangate.labels import PUBLIC, TRUSTED, Label
from plangate.resources import (
    MAX_NAMES,
    MemoryResourceLabels,
    call_output_label,
    disclosed_label,
    resolve_patterns,
    written_label,
)

OWNER_ONLY = Label(readers=frozenset({"owner"}), sources=frozenset({"tool:private"}))
PLANNER = Label(sources=frozenset({"planner"}), taint="high")
NOT_ECHOED = {"from_args": [], "reason": "selects; not echoed"}
TOOLS = parse_catalog({"tools": {
    # Reads two resources per key; reports exact readers (a share list).
    "fetch": {"effects": ["read"], "args": {"key": {"type": "string"}},
              "reads": ["docs:{key}", "meta:{key}"], "output": {"readers": ["owner"], **NOT_ECHOED}},
    # Its output is untrusted whatever it reports.
    "inbox": {"effects": ["read"], "args": {"key": {"type": "string"}},
              "output": {"readers": ["owner"], "untrusted": True, **NOT_ECHOED}},
    # Public output; the key selects, it does not reappear.
    "pick": {"effects": ["read"], "args": {"key": {"type": "string"}}, "output": NOT_ECHOED},
    "echo": {"effects": ["read"], "args": {"text": {"type": "string"}}},
    "save": {"effects": ["write"], "args": {"key": {"type": "string"}, "text": {"type": "string"}},
             "reads": ["docs:{key}"], "writes": ["docs:{key}"], "output": {"readers": "public"}},
    # The same, its output undeclared: a tool that reads state returns some of it, owner-only.
    "save_quiet": {"effects": ["write"], "args": {"key": {"type": "string"}, "text": {"type": "string"}},
                   "reads": ["docs:{key}"], "writes": ["docs:{key}"]},
    "save_private": {"effects": ["write"], "args": {"text": {"type": "string"}},
                     "writes": ["notes:x"], "output": {"readers": ["owner"]}},
    "share": {"effects": ["egress"], "args": {"to": {"type": "string", "sink": "recipient"}},
              "unverifiable": "talks to a live service"},
    "scan": {"effects": ["read"], "args": {}, "unverifiable": "talks to a live service"},
}}).tools
SHARED = Label(readers=frozenset({"owner", CONTACT}), sources=frozenset({"report:share-list"}))


def test_a_reported_reader_list_counts_only_if_nothing_read_was_influenced() -> None:
    """Of the two resources a call reads, one stored from planner text: the tool's own
    reader list counts for nothing, even though the other resource is clean."""
    mixed = MemoryResourceLabels({"docs:a": TRUSTED, "meta:a": PLANNER})
    out = call_output_label(TOOLS["fetch"], {"key": TRUSTED}, {"key": "a"}, mixed, control=TRUSTED,
                            reported=SHARED)
    assert out.readers == frozenset({"owner"})
    clean = MemoryResourceLabels({"docs:a": TRUSTED, "meta:a": TRUSTED})
    assert call_output_label(TOOLS["fetch"], {"key": TRUSTED}, {"key": "a"}, clean, control=TRUSTED,
                             reported=SHARED).readers == SHARED.readers


def test_a_reported_label_never_lowers_taint_or_drops_sources() -> None:
    """A reported label replaces only the default readers, and only of a tool whose output
    the catalog trusts: the catalog's taint and sources stay, the report's are added. Where
    outside content lands (`untrusted: true`), readers it computed from that content (an
    invitation's participants) count for nothing."""
    store = MemoryResourceLabels()
    out = call_output_label(TOOLS["fetch"], {"key": TRUSTED}, {"key": "a"}, store, control=TRUSTED,
                            reported=SHARED)
    assert out.readers == SHARED.readers
    assert out.sources == frozenset({"tool:fetch", "report:share-list"})
    untrusted = call_output_label(TOOLS["inbox"], {"key": TRUSTED}, {"key": "a"}, store, control=TRUSTED,
                                  reported=SHARED)
    assert untrusted.readers == frozenset({"owner"}) and untrusted.taint == "high"
    tainted_report = Label(readers=SHARED.readers, taint="high")
    assert call_output_label(TOOLS["fetch"], {"key": TRUSTED}, {"key": "a"}, store, control=TRUSTED,
                             reported=tainted_report).taint == "high"


def test_an_output_joins_what_the_call_read_from_storage_and_the_pc() -> None:
    """What a read returns carries the label stored with what it read (taint, readers and
    sources), and the readers of the pc the call ran under."""
    store = MemoryResourceLabels({"docs:a": PLANNER, "meta:a": OWNER_ONLY})
    out = call_output_label(TOOLS["fetch"], {"key": TRUSTED}, {"key": "a"}, store, control=TRUSTED)
    assert out.taint == "high" and {"planner", "tool:private"} <= out.sources
    pc = Label(readers=frozenset({"owner"}))
    assert call_output_label(TOOLS["echo"], {"text": TRUSTED}, {"text": "t"}, MemoryResourceLabels(),
                             control=pc).readers == frozenset({"owner"})


def test_a_selecting_argument_gives_its_readers_and_low_taint() -> None:
    """An argument that does not reappear still decided what came back: a private,
    attacker-shaped key makes the public output private and influenced (`low`)."""
    key = Label(readers=frozenset({"owner"}), taint="high")
    out = call_output_label(TOOLS["pick"], {"key": key}, {"key": "a"}, MemoryResourceLabels(),
                            control=TRUSTED)
    assert out.readers == frozenset({"owner"}) and out.taint == "low"


def test_what_a_call_writes_carries_what_its_success_depends_on() -> None:
    """The label recorded for a write joins its arguments, the pc, what it read (a tool
    may copy it), and the *readers* of the tool's output: whether the resource changed at
    all tells about the state the output stands for."""
    empty = MemoryResourceLabels()
    args = {"key": TRUSTED, "text": TRUSTED}
    assert written_label(TOOLS["save"], args, {"key": "a"}, empty, TRUSTED) == TRUSTED
    assert written_label(TOOLS["save_private"], {"text": TRUSTED}, {}, empty, TRUSTED).readers == frozenset({"owner"})
    assert written_label(TOOLS["save_quiet"], args, {"key": "a"}, empty, TRUSTED).readers == frozenset({"owner"})
    stored = MemoryResourceLabels({"docs:a": Label(readers=frozenset({"owner", CONTACT}), taint="high")})
    from_store = written_label(TOOLS["save"], args, {"key": "a"}, stored, TRUSTED)
    assert from_store.readers == frozenset({"owner", CONTACT}) and from_store.taint == "high"
    pc = Label(readers=frozenset({"owner"}))
    assert written_label(TOOLS["save"], args, {"key": "a"}, empty, pc).readers == frozenset({"owner"})
    assert written_label(TOOLS["save"], {"key": TRUSTED, "text": PLANNER}, {"key": "a"}, empty,
                         TRUSTED).taint == "high"


def test_a_second_write_joins_the_first_one_s_label() -> None:
    """Writes to one resource accumulate: clean content written after planner text does
    not wash it, and planner text written after clean content taints it."""
    store = MemoryResourceLabels()
    store.record("docs:a", TRUSTED)
    store.record("docs:a", PLANNER)
    assert store.label_of("docs:a") == PLANNER
    store.record("docs:a", TRUSTED)
    assert store.label_of("docs:a") == PLANNER


def test_an_unverifiable_egress_tool_may_send_anything_stored() -> None:
    """Nobody checked what an unverifiable egress tool sends: its disclosure joins every
    stored label. An unverifiable tool that sends nothing discloses nothing."""
    store = MemoryResourceLabels({"docs:secret": OWNER_ONLY, "docs:memo": PLANNER})
    sent = disclosed_label(TOOLS["share"], {"to": "x"}, store)
    assert sent is not None and sent.readers == frozenset({"owner"}) and sent.taint == "high"
    assert disclosed_label(TOOLS["scan"], {}, store) is None


def test_a_pattern_naming_more_than_max_names_resources_is_a_wildcard() -> None:
    """Array arguments multiply: a pattern standing for more than `MAX_NAMES` resources
    becomes the wildcard (so a few long lists cannot make the review enumerate millions
    of names); exactly `MAX_NAMES` are still listed one by one."""
    thirty = [f"f{i}" for i in range(30)]
    assert resolve_patterns("w:{a}/{b}/{c}", {"a": thirty, "b": thirty, "c": thirty}) == ["w:*/*/*"]
    ten = [f"f{i}" for i in range(10)]
    exact = resolve_patterns("w:{a}/{b}", {"a": ten, "b": ten})
    assert len(exact) == MAX_NAMES and "w:f3/f7" in exact
    assert resolve_patterns("w:{a}/{b}", {"a": ten, "b": [*ten, "f10"]}) == ["w:*/*"]
    assert PUBLIC not in exact


def test_one_file_has_one_name_whatever_the_spelling() -> None:
    """`./a//b`, `a/b` and `a\\b` name one file, so a label written under one spelling
    is read under every other."""
    for spelling in ("notes/x.txt", "./notes//x.txt", "notes\\x.txt", "notes/./y/../x.txt"):
        assert resolve_patterns("workspace:{path}", {"path": spelling}) == ["workspace:notes/x.txt"], spelling
