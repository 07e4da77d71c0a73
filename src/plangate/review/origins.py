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


def normalise(text: str) -> str:
    # lower(), not casefold(): case-folding makes "ß" "ss" and "ς" "σ", and so turns one
    # domain into another (straße.example is not strasse.example under IDNA 2008, nor in
    # `identity.canonical_address`): a destination the owner never wrote would pass as theirs.
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def _number_forms(value: int | float) -> set[str]:
    forms = {repr(value), str(value)}
    if isinstance(value, float) and value.is_integer():
        forms.add(str(int(value)))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        forms.add(f"{int(value):,}")
    else:
        forms.add(f"{value:,.2f}".rstrip("0").rstrip("."))
    if isinstance(value, int):  # exactly: through a float, 10**20 + 1 would read as 10**20
        forms.update((f"{int(value)}.00", f"{int(value):,}.00"))
    else:
        forms.add(f"{value:.2f}")   # money: "10.00"
        forms.add(f"{value:,.2f}")  # "1,500.00"
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
# right a dot may follow (the text is case-folded, so "www.x.com.They" cannot be told
# from a longer host name; a cut-off suffix names a parent domain at worst).
# As a regex: (?<![\w@.+\-/])needle(?![\w@]). The search below finds each occurrence with
# str.find and looks at its neighbours: a regex whose first item is a lookbehind is
# tried at every position of the text, some twenty times slower. A character is in \w
# when it is alphanumeric (str.isalnum) or "_", as in `re`.
_LEFT_STOPS = frozenset("_@.+-/")
_RIGHT_STOPS = frozenset("_@")


def text_occurs(value: str, normalised_text: str) -> bool:
    needle = normalise(value)
    if not needle:
        return True
    text = normalised_text
    end = len(text)
    size = len(needle)
    at = text.find(needle)
    while at >= 0:
        if at == 0 or not ((c := text[at - 1]).isalnum() or c in _LEFT_STOPS):
            after = at + size
            if after == end or not ((c := text[after]).isalnum() or c in _RIGHT_STOPS):
                return True
        at = text.find(needle, at + 1)
    return False


def _bounded_number(form: str, text: str) -> bool:
    r"""Whether `form` occurs in `text` as a whole number: "10" must not be found inside
    "100", nor "500" inside "1,500" or "1.500". As a regex: (?<![\d.,])form(?!\d|[.,]\d),
    where \d is str.isdecimal."""
    end = len(text)
    size = len(form)
    at = text.find(form)
    while at >= 0:
        if at == 0 or not ((c := text[at - 1]).isdecimal() or c in ".,"):
            after = at + size
            if after == end:
                return True
            c = text[after]
            if not (c.isdecimal() or (c in ".," and after + 1 < end
                                      and text[after + 1].isdecimal())):
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
        """Whether adjacent literals of one origin, joined, occur in its text. A payload
        run whose every piece is in the sender's own words (and so would carry their
        label) must occur there as a whole too."""
        origin = run[0].origin
        if not text_occurs(joined, self.payload if origin == "payload" else self.instruction):
            return False
        if origin != "payload" or self.own is None or text_occurs(joined, self.own):
            return True
        return any(not occurs_in(lit, self.own) for lit in run)


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
    not hold, in the argument's order. Adjacent literals of one origin inside a concat are
    one claim: pieces that each occur somewhere must not spell a new string together
    ("ma" + "llory@" + "evil.example")."""
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
            if claim is not None and (not run or run[-1].origin == claim.origin):
                run.append(claim)
                continue
            if len(run) == 1:
                _failed_claims(run[0], texts, failed)
            elif run:
                joined = "".join(as_text(lit.literal) for lit in run)
                if not texts.holds_run(run, joined):
                    failed.append(run[0].origin)
            run = [claim] if claim is not None else []
            if part is not None and claim is None:
                _failed_claims(part, texts, failed)
