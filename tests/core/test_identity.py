"""Identity: canonical addresses and lookalike detection."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plangate.identity import canonical_address, lookalike_of, parse_address, same_principal, skeleton

OWNER = "owner@home.example"
KNOWN = frozenset({OWNER, "bob@partner.example"})


@pytest.mark.parametrize("raw", [
    "Owner@Home.Example",                     # case
    "OWNER@HOME.EXAMPLE",
    "owner+newsletter@home.example",          # plus-addressing
    "Owner Name <owner+x@home.example>",      # display name ignored
    "owner@ｈｏｍｅ.example",                  # fullwidth domain: NFKC folds it, as resolvers do
    "owner@ho\u200bme.example",               # an invisible character in the domain
    "owner@home.example.",                    # trailing dot of the domain
    "<owner@home.example>",
])
def test_same_principal_after_canonicalisation(raw: str) -> None:
    """Spellings that name the owner's mailbox canonicalise to the owner."""
    assert parse_address(raw).canonical == OWNER
    assert same_principal(raw, OWNER)
    assert lookalike_of(parse_address(raw), KNOWN) is None


@pytest.mark.parametrize(("raw", "why"), [
    ("owner@hоme.example", "Cyrillic o in the domain"),
    ("оwner@home.example", "Cyrillic o in the local part"),
    ("owner@hοme.example", "Greek omicron"),
    ("0wner@home.example", "digit zero for o"),
    ("owner@home.examp1e", "digit one for l"),
    ("owner@hoine.example", "placeholder: not a lookalike"),
    ("owner@horne.example", "rn for m"),
    ("owner@xn--hme-sed.example", "IDNA-encoded Cyrillic o"),
    ("owner@XN--HME-SED.example", "upper-case IDNA prefix"),
    ("bob@partner.exampIe", "capital I for l"),
    # Mail systems keep these mailboxes apart from owner@ (SMTPUTF8), and DMARC vouches only
    # for the domain: a lookalike, never the owner (red team round 21).
    ("ｏｗｎｅｒ@ｈｏｍｅ.example", "fullwidth local part"),
    ("ow\u200bner@home.example", "zero-width space in the local part"),
    ("\u202eowner@home.example", "bidi override"),
    ("owner\u00ad@home.example", "soft hyphen"),
    ("𝐨𝐰𝐧𝐞𝐫@home.example", "mathematical bold letters"),
])
def test_lookalikes_are_detected_and_never_match(raw: str, why: str) -> None:
    """A lookalike never has the canonical form of the known address, and is named as one."""
    addr = parse_address(raw)
    assert addr.canonical not in KNOWN, why
    if "placeholder" in why:
        assert lookalike_of(addr, KNOWN) is None
    else:
        assert lookalike_of(addr, KNOWN) in KNOWN, why


def test_idna_domain_is_decoded() -> None:
    """Punycode domains are compared in their Unicode form."""
    assert canonical_address("a@xn--bcher-kva.example") == "a@bücher.example"
    assert canonical_address("a@XN--BCHER-KVA.example") == "a@bücher.example"
    # An undecodable label is kept as is and then matches nothing.
    assert canonical_address("a@xn--zzzz.example") == "a@xn--zzzz.example"


def test_display_name_spoof_is_flagged() -> None:
    """A display name that spells another address is a spoof, not an identity."""
    spoof = parse_address('"owner@home.example" <attacker@evil.example>')
    assert spoof.canonical == "attacker@evil.example"
    assert spoof.display_spoof
    honest = parse_address('"Owner@Home.Example" <owner@home.example>')
    assert not honest.display_spoof
    plain = parse_address("Carol Client <carol@newclient.example>")
    assert not plain.display_spoof and plain.display_name == "Carol Client"


def test_non_ascii_is_reported() -> None:
    """Homoglyph addresses are marked non-ASCII; ordinary ones are not."""
    assert parse_address("owner@hоme.example").non_ascii
    assert not parse_address("owner@home.example").non_ascii


@pytest.mark.parametrize(("a", "b"), [
    ("0", "o"), ("1", "l"), ("rn", "m"), ("vv", "w"), ("а", "a"), ("ο", "o"), ("5", "s"),
])
def test_skeleton_collapses_confusables(a: str, b: str) -> None:
    """Confusable characters (and digraphs) share a skeleton."""
    assert skeleton(a) == skeleton(b)


def test_skeleton_keeps_distinct_letters_apart() -> None:
    """Skeletons do not chain unrelated letters together (e is not 7, a is not o)."""
    assert skeleton("e") != skeleton("7")
    assert skeleton("alice@example.com") != skeleton("bob@example.com")
    assert skeleton("a") != skeleton("o")


def test_domain_property() -> None:
    """`domain` is the canonical domain after the last @."""
    assert parse_address("Bob <BOB@Partner.Example>").domain == "partner.example"


def test_mailbox_syntax_tricks_are_read_as_mail_reads_them_and_flagged() -> None:
    """An address before the angle brackets, source routes, lists and two bracketed
    addresses never make a string pass as the owner: the real mailbox is used and the
    string is flagged (so the trigger falls to the lowest class)."""
    from plangate.identity import parse_address

    for raw, real in [("owner@home.example <attacker@evil.example>", "attacker@evil.example"),
                      ("Owner <owner@home.example> <evil@x.example>", "evil@x.example"),
                      ("<@evil.example:owner@home.example>", "owner@home.example"),
                      ("owner@home.example, eve@evil.example", "owner@home.example")]:
        parsed = parse_address(raw)
        assert parsed.canonical == real and parsed.display_spoof, raw
    assert not parse_address('"Owner" <owner@home.example>').display_spoof


def test_domains_keep_sharp_s_and_final_sigma_distinct() -> None:
    """IDNA 2008 keeps ß and ς: `x@straße.example` is not `x@strasse.example`."""
    from plangate.identity import canonical_address

    assert canonical_address("X@STRASSE.example") == "x@strasse.example"
    assert canonical_address("x@straße.example") != canonical_address("x@strasse.example")


_PARTS = "abAZ09_+-.@ <>\",;:()"


@settings(max_examples=3000, deadline=None)
@given(text=st.text(alphabet=_PARTS, min_size=3, max_size=14)
       | st.builds(lambda a, b: f"{a}@{b}", st.text(alphabet=_PARTS, min_size=1, max_size=6),
                   st.text(alphabet=_PARTS, min_size=1, max_size=8)))
def test_a_simple_address_is_what_the_mail_parser_reads(text: str) -> None:
    """The fast path (`simple_address`: no mail parser run) covers only texts the parser
    reads as exactly that one address; for them the parsed identity and the recipient
    facts are those of the full path."""
    from email.utils import getaddresses, parseaddr

    from plangate.identity import _address, simple_address

    if not simple_address(text):
        return
    assert parseaddr(text) == ("", text)
    assert getaddresses([text]) == [("", text)]
    full = _address(text, *parseaddr(text), False)
    assert parse_address.__wrapped__(text) == full


def test_the_fast_path_is_taken_and_odd_addresses_are_not() -> None:
    from plangate.identity import simple_address

    assert simple_address("bob.smith+tag@partner.example") and simple_address("to3x7s5")
    for odd in ("bob@partner", "bob..x@a.example", ".bob@a.example", "bob@a..example", "Bob <b@a.example>",
                "b@a.example, c@d.example", "\"b\"@a.example", "b@a.example.", "@relay:b@a.example", "b@@a.example"):
        assert not simple_address(odd), odd
