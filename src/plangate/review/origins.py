"""Verifying literal origins: a literal that claims to come from a text must occur in it.

A hijacked planner may launder the attacker's values by labelling them as the owner's
instruction; this check turns that lie into a deny. Matching is on normalised text
(NFKC, lower-cased, whitespace collapsed); numbers match any of their usual spellings.

A `payload` claim is checked against the whole message (quoted parts also as their author
wrote them, without `>` marks). When the message has parts that are not the sender's own
words (`Trigger.segments`), what the claim is worth depends on where it occurs: only a
literal found in the sender's own words carries their label (`in_own_words`); anything else
is someone else's text. A run of literals whose pieces each occur in the own words but
whose whole occurs only in someone else's part would pass as the sender's: it is a lie.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from plangate.plan.codec import CheckedPlan
from plangate.plan.model import CallStep, Concat, ExtractStep, ListOf, Lit
from plangate.trigger import Trigger

# Before NFKC: a no-break, thin or figure space between digits groups them ("1 500" is
# 1,500, not 1 and 500), and a raised or lowered digit is not one more digit ("10³" is not
# 103): NFKC would make both plain.
_GROUPING = re.compile("(?<=[0-9])[\u00a0\u2007\u2009\u202f](?=[0-9])")
_RAISED = re.compile("([\u00b2\u00b3\u00b9\u2070-\u209f])")


def normalise(text: str) -> str:
    # lower(), not casefold(): case-folding makes "ß" "ss" and "ς" "σ", and so turns one
    # domain into another (straße.example is not strasse.example under IDNA 2008, nor in
    # `identity.canonical_address`): a destination the owner never wrote would pass as theirs.
    if not text.isascii():
        text = _RAISED.sub(r"^\1", _GROUPING.sub(",", text))
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _number_forms(value: int | float) -> set[str]:
    """The spellings of a number a text may hold: as written, with thousands separators, and
    as money with two decimals, only where that spelling is the number itself (a literal of
    84.204999 is not the owner's "84.20", nor 120.5012345 their "120.50", which a concat
    would write out in full)."""
    forms = {repr(value), str(value)}
    if isinstance(value, int):  # exactly: through a float, 10**20 + 1 would read as 10**20
        forms.update((f"{int(value):,}", f"{int(value)}.00", f"{int(value):,}.00"))
    elif value.is_integer():
        forms.update((str(int(value)), f"{int(value):,}", f"{value:.2f}", f"{value:,.2f}"))
    elif round(value, 2) == value:
        forms.update((f"{value:,.2f}".rstrip("0").rstrip("."), f"{value:.2f}", f"{value:,.2f}"))
    return forms


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k  # keys are text a literal carries too
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def occurs_in(lit: Lit, normalised_text: str) -> bool:
    """Whether every leaf of the literal occurs in the (already normalised) text."""
    value = lit.literal
    if type(value) is str:  # the common case, without walking leaves
        return text_occurs(value, normalised_text)
    for leaf in _leaves(value):
        if leaf is None or isinstance(leaf, bool):
            continue  # no room for a payload in a bool or null
        if isinstance(leaf, int | float):
            if not any(_bounded_number(form, normalised_text) for form in _number_forms(leaf)):
                return False
            continue
        if not text_occurs(str(leaf), normalised_text):
            return False
    return True


# A claimed piece must stand as whole words in the text: "b@partner.example" does not
# occur in "bob@partner.example", nor "r.example", nor "invoice" in "invoices". On the
# right, what follows it up to the next space (or the end) may only close a sentence, a
# parenthesis or a `code` span, after a possessive "'s": a claim that stops inside a token names another
# thing ("ana@lawfirm.com" in "ana@lawfirm.com.br", "rm -rf ." in "rm -rf ./build", "rm -rf
# ~/" in "rm -rf ~/*.bak", "https://pay.example/invoice" in ".../invoice?id=991"; red teams
# 32 and 33). A sentence run on after a host name without a space ("www.x.com.Thanks")
# costs the plan: the text alone cannot tell it from "/srv/Backups.Old".
# As a regex: (?<![\w@.+\-/])needle(?=(?:['’]s)?[)\]}>"'`»”’,;!?.:/]*(?:\s|\Z)). The search
# below finds each occurrence with str.find and looks at its neighbours: a regex whose first
# item is a lookbehind is tried at every position of the text, some twenty times slower. A
# character is in \w when it is alphanumeric (str.isalnum) or "_", as in `re`. An empty
# claim (or one of spaces only) never occurs: it would end a run of claims without being
# one (`_failed_claims`).
_LEFT_STOPS = frozenset("_@.+-/")
_TRAILING = frozenset(")]}>\"'`»”’,;!?.:/")  # "shared/" is the folder "shared"
#: What may stand before and after a number in its token: "(€500)", "500%", "84.20€:".
_NUMBER_BEFORE = frozenset("([{\"'`«“‘€$£¥~")
_NUMBER_AFTER = _TRAILING | frozenset("€$£¥%")


def _ends_token(text: str, at: int, allowed: frozenset[str], possessive: bool) -> bool:
    """Whether `text[at:]` up to the next space holds only `allowed` characters (after an
    optional "'s" when `possessive`)."""
    end = len(text)
    if possessive and at + 1 < end and text[at] in "'’" and text[at + 1] == "s":
        at += 2
    while at < end:
        c = text[at]
        if c.isspace():
            return True
        if c not in allowed:
            return False
        at += 1
    return True


def text_occurs(value: str, normalised_text: str) -> bool:
    needle = normalise(value)
    if not needle:
        return False
    text = normalised_text
    size = len(needle)
    at = text.find(needle)
    while at >= 0:
        if ((at == 0 or not ((c := text[at - 1]).isalnum() or c in _LEFT_STOPS))
                and _ends_token(text, at + size, _TRAILING, True)):
            return True
        at = text.find(needle, at + 1)
    return False


def _bounded_number(form: str, text: str) -> bool:
    r"""Whether `form` occurs in `text` as a whole number: the token it stands in (up to the
    spaces around it) holds nothing else but an opening mark or a currency sign before it
    and closing marks, a currency sign or a percent after it. So "10" is not found in
    "100", nor "500" in "1,500", "1.500", "1'500", "-500" or "pwr-500", nor "450" in
    "INV-2024-450", nor "30" in "14:30". As a regex over the text's space-separated tokens:
    `[B]*form[A]*`, B and A the characters of `_NUMBER_BEFORE` and `_NUMBER_AFTER`."""
    size = len(form)
    at = text.find(form)
    while at >= 0:
        start = at
        while start > 0 and not text[start - 1].isspace() and text[start - 1] in _NUMBER_BEFORE:
            start -= 1
        if (start == 0 or text[start - 1].isspace()) and _ends_token(text, at + size, _NUMBER_AFTER, False):
            return True
        at = text.find(form, at + 1)
    return False


_QUOTE_MARKS = re.compile(r"(?m)^[ \t]*(?:>[ \t]?)+")


def as_written(text: str) -> str:
    """Quoted text without its `>` marks, as its author wrote it."""
    return _QUOTE_MARKS.sub("", text)


def own_words_text(trigger: Trigger) -> str | None:
    """The normalised text of the sender's own words, or None when all of the trigger's
    text is their own: the whole payload, and no meta value holds words the payload does
    not. A header (`meta`) is never their words on its own: a To or Cc names people by the
    display names those people chose, a reply's subject is the earlier sender's. Only what
    also stands in their own words is theirs (the inbox puts a subject of their own in the
    payload)."""
    if not trigger.foreign():
        payload = None
        for value in trigger.meta.values():
            if value.strip():
                payload = payload if payload is not None else normalise(trigger.payload)
                if not text_occurs(value, payload):
                    return payload
        return None
    return normalise(trigger.own_words())


@dataclass(frozen=True, slots=True)
class ClaimTexts:
    """The normalised texts a trigger's literal claims are checked against."""

    instruction: str
    payload: str
    #: The sender's own words when the message also holds others' (see `own_words_text`).
    own: str | None

    @classmethod
    def of(cls, trigger: Trigger) -> ClaimTexts:
        readable = [as_written(s.text) for s in trigger.foreign() if ">" in s.text]
        whole = normalise(" ".join([trigger.payload, *readable, *trigger.meta.values()]))
        return cls(instruction=normalise(trigger.instruction), payload=whole,
                   own=own_words_text(trigger))

    def holds(self, lit: Lit) -> bool:
        """Whether a single literal occurs in the text its origin names."""
        return occurs_in(lit, self.payload if lit.origin == "payload" else self.instruction)

    def holds_run(self, run: Sequence[Lit], joined: str) -> bool:
        """Whether adjacent claimed literals, joined, occur in one text. Of one origin: in its
        text. Of both (a payload piece beside an instruction piece): each piece in its own
        text, and the whole in one of the two. A payload run whose every payload piece is in
        the sender's own words (and so would carry their label) must occur there as a whole
        too."""
        origins = {lit.origin for lit in run}
        if len(origins) > 1:
            if not all(self.holds(lit) for lit in run):
                return False
            if text_occurs(joined, self.instruction):
                return True
        elif "payload" not in origins:
            return text_occurs(joined, self.instruction)
        if not text_occurs(joined, self.payload):
            return False
        if self.own is None or text_occurs(joined, self.own):
            return True
        return any(lit.origin == "payload" and not occurs_in(lit, self.own) for lit in run)


def as_text(value: Any) -> str:
    """How a value reads inside a concat."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class OriginProblem(NamedTuple):
    """A literal (or a run of adjacent literals) whose claimed origin does not hold."""

    step: str
    tool: str
    field: str
    origin: str


def origin_problems(checked: CheckedPlan, trigger: Trigger) -> list[OriginProblem]:
    """Every origin claim in the plan that its text does not bear out."""
    texts = ClaimTexts.of(trigger)
    out: list[OriginProblem] = []
    failed: list[str] = []
    for scoped in checked.order:
        step = scoped.step
        fields: Iterable[tuple[str, Any]]
        if isinstance(step, CallStep):
            fields = step.args.items()
        elif isinstance(step, ExtractStep):
            fields = [("from", step.source)]
            if step.type.choices is not None:
                fields.append(("type.choices", step.type.choices))
        else:
            fields = [("over", step.over)]
        for name, arg in fields:
            _failed_claims(arg, texts, failed)
            if failed:
                tool = getattr(step, "tool", step.kind)
                out.extend(OriginProblem(step.id, tool, name, origin) for origin in failed)
                failed.clear()
    return out


def _failed_claims(arg: Any, texts: ClaimTexts, failed: list[str]) -> None:
    """Append to `failed` the origin of every non-planner claim in an argument that does
    not hold, in the argument's order. Adjacent claimed literals inside a concat are one
    claim, whatever origins they claim: pieces that each occur somewhere must not spell a new
    string together ("ma" + "llory@" + "evil.example", or "mallory" + an instruction's "@" +
    "evil.example")."""
    if isinstance(arg, Lit):
        origin = arg.origin
        if origin != "planner":
            # texts.holds(arg), without the calls for the common string literal
            text = texts.payload if origin == "payload" else texts.instruction
            value = arg.literal
            if not (text_occurs(value, text) if type(value) is str else occurs_in(arg, text)):
                failed.append(origin)
    elif isinstance(arg, ListOf):
        for item in arg.items:
            _failed_claims(item, texts, failed)
    elif isinstance(arg, Concat):
        run: list[Lit] = []
        for part in [*arg.concat, None]:
            claim = part if isinstance(part, Lit) and part.origin != "planner" else None
            if claim is not None:
                run.append(claim)
                continue
            if len(run) == 1:
                _failed_claims(run[0], texts, failed)
            elif run:
                joined = "".join(as_text(lit.literal) for lit in run)
                if not texts.holds_run(run, joined):
                    failed.append(run[0].origin)
            run = []
            if part is not None:
                _failed_claims(part, texts, failed)
