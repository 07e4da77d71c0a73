"""Destination normalisation: one reading of where data goes, with no parser differentials."""

from __future__ import annotations

import pytest

from plangate.review.flow import INVALID, _normalise_destination


@pytest.mark.parametrize(("kind", "raw", "expected"), [
    ("recipient", "Bob <BOB+x@Partner.Example>", "bob@partner.example"),
    ("recipient", '"owner@home.example" <eve@evil.example>', "eve@evil.example"),
    ("account", "de89 3704 0044", "DE8937040044"),
    ("recipient", "Alice", "alice"),                     # a chat handle, not a mail address
    ("url", "https://Good.Example/a?b=c", "url:good.example"),
    ("url", "http://owner@evil.example/x", "url:evil.example"),
    ("url", "good.example/path", "url:good.example"),
])
def test_destinations_normalise_to_what_the_client_will_use(kind: str, raw: str, expected: str) -> None:
    """Case, plus-tags, display names and userinfo never hide the real destination."""
    assert _normalise_destination(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [
    ("recipient", "a@home.example, eve@evil.example"),   # a list posing as one address
    ("recipient", "team: a@home.example, eve@evil.example;"),
    ("recipient", "a@home.example\r\nBcc: eve@evil.example"),
    ("recipient", "not an address"),
    ("recipient", "alice,eve"),
    ("url", "https://evil.example\\@good.example/"),     # clients disagree on the host
    ("url", "https://good.example /x"),
    ("url", "ftp://good.example/file"),
    ("url", "https://"),
])
def test_ambiguous_destinations_are_invalid(kind: str, raw: str) -> None:
    """Anything that could be read as a different destination is marked invalid, so it is
    never the owner, the sender or a known party, and may read nothing private."""
    assert _normalise_destination(kind, raw).startswith(INVALID)
