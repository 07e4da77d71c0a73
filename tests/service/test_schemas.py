"""The request bodies' storable-text check: the one-pass encoder check (`_all_storable`) never
passes a body the walk (`_unstorable`) would refuse."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plangate.service.schemas import _all_storable, _unstorable

text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF), max_size=12) | st.sampled_from(
    ["\x00", "\ud800", "a\udfffb", "\\u0000", "\\\x00", "é😀", ""])
bodies = st.recursive(st.none() | st.booleans() | st.integers() | text,
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_the_fast_check_never_passes_what_the_walk_refuses(body: Any) -> None:
    if _all_storable([body]):
        assert _unstorable(body, "") is None


def test_the_fast_check_passes_plain_text_and_refuses_nul_and_lone_surrogates() -> None:
    assert _all_storable([{"a": ["é😀", 1, None]}, "x"])
    assert not _all_storable([{"a": "x\x00"}])
    assert not _all_storable([{"\x00": 1}])
    assert not _all_storable([["\ud83d"]])
