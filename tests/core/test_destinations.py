"""Destination normalisation: one reading of where data goes, with no parser differentials."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate.labels import PUBLIC, ROLE, declared_reader
from plangate.review.flow import DESTINATION_SINKS, INVALID, _normalise_destination


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


def test_a_bare_address_reads_as_the_full_parse_reads_it() -> None:
    """The short cut for bare addresses and handles (`simple_address`) gives exactly the
    canonical form the whole parse gives, over generated spellings: case, plus-tags,
    punycode labels, dots, digits, and the characters the bare form refuses."""
    import random

    from plangate.identity import parse_address, simple_address
    from plangate.review.flow import _normalise_text

    pieces = ["a", "B", "z9", "_", "-", "+tag", ".", "xn--bcher-kva", "XN--BCHER-KVA", "I", "l",
              "0", "@", " ", "<", ">", ",", '"', "é", "\u200b"]
    rng = random.Random(7)
    simple = 0
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.5:
            text = f"{text}@{rng.choice(['Partner.Example', 'xn--bcher-kva.example', 'a-b.c9'])}"
        text = text.strip()
        if not text or any(c in text for c in "\r\n\0;"):
            continue
        got = _normalise_text("recipient", text)
        if simple_address(text):
            simple += 1
            assert got == parse_address(text).canonical, text
        else:
            assert got.startswith(INVALID) or got == parse_address(text).canonical, text
    assert simple > 500  # the generator reaches the short cut often


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(DESTINATION_SINKS)),
       st.one_of(st.text(max_size=40), st.sampled_from(["role;x", "ROLE;x", " role;secret-custodian ",
                                                        "#role;status-page", "role;a@b.example", "Role;X"])))
def test_no_destination_reads_as_a_role(kind: str, raw: str) -> None:
    """A role's reader id (`ROLE` + a name a catalog declares that is not an address) is
    never what a destination a call names normalises to: a channel, handle, account or URL
    called after a role is not that role (red team round 36: #secret-custodian)."""
    assert not _normalise_destination(kind, raw).startswith(ROLE)


def test_a_declared_reader_that_is_not_an_address_is_a_role() -> None:
    assert declared_reader("secret-custodian") == ROLE + "secret-custodian"
    assert declared_reader("owner") == "owner" and declared_reader(PUBLIC) == PUBLIC
    assert declared_reader("finance@corp.example") == "finance@corp.example"
