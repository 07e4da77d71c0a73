"""Fast paths added for speed give exactly what the general code gives (pinned as properties)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from plangate.safetext import _render, _render_each

_TEXT = st.one_of(st.text(), st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F)),
                  st.text(alphabet="ab '\\«»\n"))


@settings(max_examples=500)
@given(text=_TEXT, limit=st.one_of(st.none(), st.integers(-2, 12)), ascii=st.booleans(),
       newlines=st.booleans(), specials=st.sampled_from(["", "«»", "'«»"]))
def test_render_fast_path_equals_the_loop(text: str, limit: int | None, ascii: bool, newlines: bool,
                                          specials: str) -> None:
    """Printable ASCII skips the per-character loop; whatever the text, the result is the loop's."""
    assert _render(text, limit, ascii=ascii, newlines=newlines, specials=specials) == _render_each(
        text, limit, ascii=ascii, newlines=newlines, specials=specials)
