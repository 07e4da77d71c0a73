"""Who a principal really is: normalising addresses so spoofing does not change identity.

Two strings name the same principal when their *canonical* forms are equal: the local part
lower-cased in its ASCII letters only, the `+tag` of plus-addressing dropped; the domain
NFKC-normalised, IDNA-decoded and lower-cased; the display name ignored. A local part is
not Unicode-normalised nor case-folded, nor are invisible characters dropped from it: mail
systems keep `owner@` in fullwidth letters, `own<ZWSP>er@` and `owner@` apart (SMTPUTF8),
and DMARC vouches only for the domain, so such a sender is a lookalike of the owner,
never the owner. A string whose canonical form differs from a known principal's but whose
*skeleton* (every character mapped to a representative of its Unicode confusable class,
so `0`/`o`, `l`/`1`/`I`, Cyrillic and Latin `a` collapse) is equal is a **lookalike**: it
never matches, and is reported so the trust class can fall to the lowest.

The confusable classes come from Unicode's confusables data as shipped by the
`confusable-homoglyphs` package.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
import unicodedata
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from importlib import resources

_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0x00AD, 0x202A, 0x202B, 0x202C,
     0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069]
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    """A parsed principal: the canonical address plus what was odd about the raw string."""

    raw: str
    canonical: str
    display_name: str
    skeleton: str
    #: The display name itself looks like an address different from the real one
    #: ("owner@home.example" <attacker@evil.example>).
    display_spoof: bool
    #: The raw address used characters outside ASCII (homoglyphs are the usual reason).
    non_ascii: bool

    @property
    def domain(self) -> str:
        return self.canonical.rpartition("@")[2]


@functools.lru_cache(maxsize=4096)
def parse_address(raw: str) -> Address:
    """Parse `Name <local@domain>` or a bare address into its canonical identity.
    Pure, so memoised: reviews parse the same deployment addresses again and again."""
    text = raw.strip()  # invisible characters kept: they make another mailbox (a lookalike)
    if simple_address(text):  # nothing for the mail parser to read: it returns the text
        return _address(raw, "", text, False)
    # Mail delivers to the address in the (last) angle brackets, whatever stands before
    # it; read it that way, not as Python's lenient parser might.
    bracketed = re.fullmatch(r"(.*)<([^<>]*)>", text, flags=re.S)
    if bracketed:
        name, addr = bracketed.group(1).strip().strip('"').strip(), bracketed.group(2).strip()
    else:
        name, addr = parseaddr(text)
        if not addr:
            addr = text
    # Source routes (`@relay:user@host`) and lists name more than one mailbox.
    ambiguous = addr.startswith("@") or "," in addr or text.count("<") > 1 or (
        not bracketed and len(getaddresses([text])) > 1)
    addr = addr.rpartition(":")[2] if addr.startswith("@") else addr
    return _address(raw, name, addr, ambiguous)


_SIMPLE = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?")


def simple_address(text: str) -> bool:
    """A bare `local@domain`, or a bare handle, of letters, digits and `_+-` in
    dot-separated runs: the mail parser reads such a text as exactly one address, the text
    itself (tested against `email.utils` in tests/core/test_identity.py), so it need not
    run."""
    return _SIMPLE.fullmatch(text) is not None


def _address(raw: str, name: str, addr: str, ambiguous: bool) -> Address:
    canonical = canonical_address(addr)
    shown = canonical_address(name) if "@" in name else ""
    return Address(
        raw=raw,
        canonical=canonical,
        display_name=name,
        # Capital I is confusable with l but case-folds to i; map it before folding so
        # `bob@partner.exampIe` is caught as a lookalike of `bob@partner.example`.
        skeleton=skeleton(canonical_address(addr.translate(_INVISIBLE).replace("I", "l"))),
        display_spoof=(bool(shown) and shown != canonical) or ambiguous,
        non_ascii=not addr.isascii(),
    )


def canonical_address(addr: str) -> str:
    """The local part (or a handle) with its ASCII letters lower-cased and plus-addressing
    dropped; the domain NFKC-normalised, without invisible characters, IDNA-decoded,
    lower-cased and without a trailing dot (as a resolver maps it)."""
    text = addr.strip().strip("<>")
    local, at, domain = text.rpartition("@")
    if not at:
        return text.translate(_ASCII_LOWER)
    local = local.split("+", 1)[0]
    # Domains: lower(), not casefold(): IDNA 2008 keeps ß and final sigma distinct
    # (straße.example and strasse.example are different domains).
    domain = unicodedata.normalize("NFKC", domain.translate(_INVISIBLE)).strip()
    domain = _decode_idna(domain.rstrip(".")).lower()
    return f"{local.translate(_ASCII_LOWER)}@{domain}"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _decode_idna(domain: str) -> str:
    labels = []
    for label in domain.split("."):
        if label.lower().startswith("xn--"):
            # Lower-cased first: the codec refuses `XN--...` (no round trip), which would let
            # an upper-case punycode lookalike escape the skeleton comparison.
            with contextlib.suppress(UnicodeError):  # undecodable: kept, then matches nothing
                label = label.lower().encode("ascii").decode("idna")
        labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    """Map each character to the representative of its confusable class (after casefold)."""
    table = _skeleton_table()
    folded = unicodedata.normalize("NFKC", text).casefold()
    out = "".join(table.get(ch, ch) for ch in folded)
    for pair, single in _ASCII_DIGRAPHS:
        out = out.replace(pair, single)
    return out


def aligned_domain(domain: str, from_domain: str) -> bool:
    """DMARC's relaxed identifier alignment, approximated without a public-suffix list: one
    domain equals or is a subdomain of the other, and neither is a bare top-level name."""
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain or "." not in domain or "." not in from_domain:
        return False
    return (domain == from_domain or from_domain.endswith("." + domain)
            or domain.endswith("." + from_domain))


def same_principal(a: str, b: str) -> bool:
    return parse_address(a).canonical == parse_address(b).canonical


def lookalike_of(candidate: Address, known: frozenset[str]) -> str | None:
    """The known canonical address `candidate` imitates without being it, if any."""
    if candidate.canonical in known:
        return None
    for other, shape in _skeletons(known):
        if shape == candidate.skeleton:
            return other
    return None


@functools.lru_cache(maxsize=64)
def _skeletons(known: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(address, skeleton) of each known address, in order: the known set is the
    deployment's configuration, the same from one trigger to the next."""
    return tuple((other, skeleton(other)) for other in sorted(known))


_ASCII_LOOKALIKES = {"0": "o", "1": "l", "|": "l", "5": "s"}
_ASCII_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))


@functools.cache
def _skeleton_table() -> dict[str, str]:
    """Map each non-ASCII character to a directly confusable ASCII letter or digit.

    Direct edges only: closing the relation transitively chains unrelated letters together
    (e -> some symbol -> 7). ASCII-to-ASCII confusions are the small fixed set above.
    """
    data_file = resources.files("confusable_homoglyphs").joinpath("confusables.json")
    data: dict[str, list[dict[str, str]]] = json.loads(data_file.read_text(encoding="utf-8"))
    table: dict[str, str] = dict(_ASCII_LOOKALIKES)
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        targets = [h["c"] for h in homoglyphs if len(h["c"]) == 1 and h["c"].isascii()]
        letters = [t for t in targets if t.isalnum()]
        pick = sorted(letters, key=lambda t: (not t.islower(), t))[:1] or targets[:1]
        if pick:
            target = pick[0].casefold()
            table[char] = _ASCII_LOOKALIKES.get(target, target)
    return table
