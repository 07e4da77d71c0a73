"""The fast WHAT summary says exactly what the general one said, byte for byte.

`plangate.review.summary` and the escaping in `plangate.safetext` were rewritten for speed
(one rendering per argument, printable-ASCII fast paths, per-summary memos). A plain, slow
version of each is kept below as the reference (`ref_*`; the escaping as of commit 4fe0800,
the summary as the owner must read it since round 20: every argument whole); every test
here compares the two on generated plans, arguments, triggers and values (literals of every
origin, concats, lists, refs, long texts over `WHOLE`/`WRAP`, non-ASCII, control, bidi and
zero-width characters, quoted and forwarded segments) and on every plan of the policy-case
corpora. Escaping is what keeps an attacker's characters from acting on the approver's
screen: no difference is acceptable.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plangate import parse_trigger
from plangate.bench.perf import POLICY, distinct_plan
from plangate.catalog import EFFECTS, ArgSpec, Catalog, ToolSpec
from plangate.errors import PlanError
from plangate.plan.codec import CheckedPlan, Scoped, check_plan, parse_plan
from plangate.plan.model import Arg, CallStep, Concat, ExtractStep, ForEachStep, ListOf, Lit, Plan, Ref
from plangate.policy import load_policy
from plangate.review import summary
from plangate.review.flow import PathError, follow, trigger_fields
from plangate.review.origins import normalise, occurs_in, own_words_text
from plangate.safetext import _render, marked, quote, visible
from plangate.trigger import Trigger

from .conftest import ROOT, assistant_policy

# --- The reference: safetext's renderer as it was ---------------------------------------

_REF_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_REF_INVISIBLE = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})
_REF_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _ref_escape_char(ch: str) -> str:
    named = _REF_NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _ref_shows(ch: str, *, ascii: bool, newlines: bool) -> bool:
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return True
    if ch == "\n":
        return newlines
    if ascii or code < 0xA0 or code in _REF_INVISIBLE:
        return False
    return unicodedata.category(ch) not in _REF_HIDDEN_CATEGORIES


def ref_render(text: str, limit: int | None, *, ascii: bool, newlines: bool,
               specials: str = "") -> tuple[str, bool]:
    """The general loop, with no fast path at all: the reference for every fast path."""
    out: list[str] = []
    used = 0
    for ch in text:
        if ch in specials or (ch == "\\" and "'" in specials):
            piece = "\\" + ch if ch in "\\'" else _ref_escape_char(ch)
        else:
            piece = ch if _ref_shows(ch, ascii=ascii, newlines=newlines) else _ref_escape_char(ch)
        if limit is not None and used + len(piece) > limit:
            return "".join(out), True
        out.append(piece)
        used += len(piece)
    return "".join(out), False


def ref_visible(value: Any, limit: int | None = 200, *, ascii: bool = False, newlines: bool = False) -> str:
    text = value if isinstance(value, str) else str(value)
    shown, cut = ref_render(text, None if limit is None else max(limit - 1, 0), ascii=ascii, newlines=newlines)
    if cut:
        return shown + "…"
    if limit is not None and len(shown) > limit:
        return "…"
    return shown


def ref_quote(value: Any, limit: int | None = 60, *, ascii: bool = False) -> str:
    if not isinstance(value, str):
        try:
            text = json.dumps(value, ensure_ascii=ascii, default=repr)
        except (ValueError, RecursionError):
            text = f"<{type(value).__name__}>"
        shown, cut = ref_render(text, limit, ascii=ascii, newlines=False, specials="«»")
        return f"{shown}… ({len(text)} chars)" if cut else shown
    shown, cut = ref_render(value, limit, ascii=ascii, newlines=False, specials="'«»")
    return f"'{shown}'… ({len(value)} chars)" if cut else f"'{shown}'"


def ref_marked(text: str, source: str) -> str:
    return f"«{ref_visible(source, 120)}: {text}»"


# --- The reference: the summary as it should read --------------------------------------
# Plain and slow on purpose: the spec the fast summary must equal. Every argument of every
# step is shown whole: a text in parts that lose no character to escaping, a list or dict
# item by item, up to WHOLE characters with the rest said; a trigger reference shows its
# value; the agent's and the trigger's words are marked `«...»`.

WHOLE, WRAP = 4000, 240


def ref_short(value: Any, limit: int = 60) -> str:
    return ref_quote(value, limit, ascii=True)


def _ref_source(lit: Lit, sender: str, own: str | None) -> str:
    if lit.origin == "payload":
        if own is not None and not occurs_in(lit, own):
            return f"quoted or forwarded in the message from {sender or 'the trigger'}, not their own words"
        return f"payload from {sender or 'the trigger'}"
    return {"instruction": "your instruction", "planner": "chosen by the agent"}[lit.origin]


def _ref_trigger_source(path: tuple[str | int, ...], sender: str, own: str | None,
                        fields: dict[str, Any]) -> str:
    theirs = f"payload from {sender or 'the trigger'}"
    head = str(path[0]) if path else ""
    if head == "instruction":
        return "your instruction"
    if own is None or head == "own":
        return theirs
    if head == "segments" and len(path) > 1:
        try:
            if follow(fields, ("segments", path[1], "kind")) == "own":
                return theirs
        except PathError:
            pass
    return f"quoted or forwarded in the message from {sender or 'the trigger'}, not their own words"


def _ref_show(rendered: str, source: str) -> str:
    return f"{rendered} ({source})" if source == "your instruction" else ref_marked(rendered, source)


class _RefWords:
    def __init__(self, sender: str, own: str | None, fields: dict[str, Any] | None) -> None:
        self.sender, self.own, self.fields = sender, own, fields

    def known(self, ref: Ref) -> tuple[Any, str] | None:
        if ref.ref != "trigger" or self.fields is None:
            return None
        try:
            value = follow(self.fields, ref.segments)
        except PathError:
            return None
        return value, _ref_trigger_source(ref.segments, self.sender, self.own, self.fields)

    def one(self, arg: Arg, limit: int) -> str:
        if isinstance(arg, Lit):
            return _ref_show(ref_short(arg.literal, limit), _ref_source(arg, self.sender, self.own))
        if isinstance(arg, Ref):
            shown = ref_visible(arg.shown, 120, ascii=True)
            if arg.ref != "trigger":
                return f"<{shown}, known at run time>"
            known = self.known(arg)
            return f"<{shown}>" if known is None else f"<{shown}> = {_ref_show(ref_short(known[0], limit), known[1])}"
        if isinstance(arg, Concat):
            return " + ".join(self.one(p, limit) for p in arg.concat)
        assert isinstance(arg, ListOf)
        return "[" + ", ".join(self.one(i, limit) for i in arg.items) + "]"

    def lines(self, arg: Arg, pad: str) -> list[str]:
        """An argument whose one line is longer than WRAP."""
        if isinstance(arg, Lit):
            return self.value(arg.literal, _ref_source(arg, self.sender, self.own), pad, "")
        if isinstance(arg, Ref):
            known = self.known(arg)
            if known is None:
                return [pad + self.one(arg, WRAP)]
            return self.value(known[0], known[1], pad, f"<{ref_visible(arg.shown, 120, ascii=True)}> = ")
        parts = arg.concat if isinstance(arg, Concat) else arg.items
        sep = " + " if isinstance(arg, Concat) else ", "
        out = [f"{pad}{'joined from' if isinstance(arg, Concat) else 'a list of'} {len(parts)} parts:"]
        row: list[str] = []
        for part in parts:
            one = self.one(part, WHOLE)
            if len(one) > WRAP:
                if row:
                    out.append(pad + "  " + sep.join(row))
                    row = []
                out.extend(self.lines(part, pad + "  "))
                continue
            if row and len(sep.join([*row, one])) > WRAP:
                out.append(pad + "  " + sep.join(row))
                row = []
            row.append(one)
        if row:
            out.append(pad + "  " + sep.join(row))
        return out

    def value(self, value: Any, source: str, pad: str, label: str) -> list[str]:
        if isinstance(value, str):
            # Cut the raw text where the escaped part would pass WRAP: no character lost.
            cut: list[str] = []
            for ch in value[:WHOLE]:
                if cut and len(ref_render(cut[-1] + ch, None, ascii=True, newlines=False, specials="'«»")[0]) <= WRAP:
                    cut[-1] += ch
                else:
                    cut.append(ch)
            cut = cut or [""]
            out = [f"{pad}{label}{len(value)} characters in {len(cut)} parts:"]
            for n, piece in enumerate(cut, 1):
                out.append(f"{pad}  {_ref_show(ref_quote(piece, None, ascii=True), f'{source}, part {n}')}")
            if len(value) > WHOLE:
                out.append(f"{pad}  ... and {len(value) - WHOLE} more characters, not shown")
            return out
        if not value or not isinstance(value, list | tuple | dict):
            return self.value(ref_quote(value, None, ascii=True), f"{source}, as JSON", pad, label)
        entries = list(value.items()) if isinstance(value, dict) else list(value)
        noun = "entries" if isinstance(value, dict) else "items"
        out = [f"{pad}{label}a {'dict' if isinstance(value, dict) else 'list'} of {len(entries)} {noun}:"]
        row: list[str] = []
        used = 0
        for n, entry in enumerate(entries):
            if used >= WHOLE:
                out.append(f"{pad}  ... and {len(entries) - n} more {noun}, not shown")
                break
            if isinstance(value, dict):
                text = ref_quote({entry[0]: entry[1]}, None, ascii=True)[1:-1]
            else:
                text = ref_quote(entry, None, ascii=True)
            used += len(text)
            if row and (len(text) > WRAP or len(", ".join([*row, text])) > WRAP):
                out.append(f"{pad}  {_ref_show(', '.join(row), source)}")
                row = []
            if len(text) <= WRAP:
                row.append(text)
            elif isinstance(value, dict):
                out.extend(self.value(entry[1], source, pad + "  ", f"{ref_quote(entry[0], None, ascii=True)}: "))
            else:
                out.extend(self.value(entry, source, pad + "  ", f"item {n + 1}: "))
        if row:
            out.append(f"{pad}  {_ref_show(', '.join(row), source)}")
        return out

    def step(self, head: str, args: list[tuple[str, Arg]], indent: str) -> list[str]:
        line = head + (" -> " + "; ".join(f"{n}={self.one(a, WHOLE)}" for n, a in args) if args else "")
        if len(line) <= WRAP:
            return [line]
        out = [head + " ->"]
        for n, a in args:
            one = self.one(a, WHOLE)
            if len(one) <= WRAP:
                out.append(f"{indent}    {n} = {one}")
            else:
                out.append(f"{indent}    {n} =")
                out.extend(self.lines(a, indent + "      "))
        return out


def ref_describe_arg(arg: Arg, sender: str = "", *, limit: int = 60, own: str | None = None) -> str:
    return _RefWords(sender, own, None).one(arg, limit)


def _ref_an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def ref_summarise(checked: CheckedPlan, catalog: Catalog, *, trust_class: str, principal: str,
                  verdict: str, trigger: Trigger | None = None) -> str:
    rtype = checked.plan.request_type
    own = own_words_text(trigger) if trigger is not None else None
    sender = ref_visible(principal, 80, ascii=True)
    fields = trigger_fields(trigger, principal) if trigger is not None else None
    words = _RefWords(sender, own, fields)
    lines = [f"{_ref_an(trust_class)} {ref_short(trust_class, 40)} trigger from {ref_short(principal, 80)} asks for "
             f"{_ref_an(rtype).lower()} {ref_short(rtype, 64)} request; verdict: {verdict}."]
    for scoped in checked.order:
        step = scoped.step
        indent = "  " * (len(scoped.loops) + 1)
        loop = f" (up to {scoped.repeat}x)" if scoped.repeat > 1 else ""
        if isinstance(step, CallStep):
            effects = "/".join(catalog.tools[step.tool].effects) or "no effect"
            lines += words.step(f"{indent}- {step.id}: {step.tool} [{effects}]{loop}", list(step.args.items()), indent)
        elif isinstance(step, ExtractStep):
            t = step.type
            bounds: list[tuple[str, Arg]] = []
            if t.values is not None:
                bounds.append(("values", Lit(literal=list(t.values), origin="planner")))
            if t.choices is not None:
                bounds.append(("choices", t.choices))
            if t.min is not None:
                bounds.append(("min", Lit(literal=t.min, origin="planner")))
            if t.max is not None:
                bounds.append(("max", Lit(literal=t.max, origin="planner")))
            source = words.one(step.source, WHOLE)
            if len(source) <= WRAP:
                lines += words.step(f"{indent}- {step.id}: extract a {t.kind} from {source} (no tools)", bounds, indent)
            else:
                lines += words.step(f"{indent}- {step.id}: extract a {t.kind} (no tools)",
                                    [("from", step.source), *bounds], indent)
        else:
            assert isinstance(step, ForEachStep)
            over = words.one(step.over, WHOLE)
            if len(over) <= WRAP:
                lines.append(f"{indent}- {step.id}: for each item of {over}, at most {step.max}:")
            else:
                lines.append(f"{indent}- {step.id}: for each item of the value below, at most {step.max}:")
                lines += words.lines(step.over, indent + "      ")
    return "\n".join(lines)


# --- Generated inputs -------------------------------------------------------------------

# Characters that act or hide on a screen, quotes that could close a value's own, the
# markers of a `marked()` span, non-ASCII letters (a homoglyph) and an astral character, next
# to plain text; a literal may also hold a lone surrogate (no validated text field can).
_HOSTILE = ("ab '\"\\«»:\n\r\t\x00\x1b\x7f\x9b\u00a0é\u043e\u061c\u200b\u200e\u202e\u2028\u2066\u3164\ufeff"
            "\ue000\U0001f600")
_ASCII = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
# Words a literal and a message share, so a literal is sometimes in the sender's own words,
# sometimes only in a quoted or forwarded part.
_VOCAB = ["wire 500", "to account 99", "bob@partner.example", "Dear owner", "10.00", "invoices", "x"]
# Long texts: over WRAP (240), over WHOLE (4000), with escapes that straddle a cut.
_LONG = st.one_of(
    st.builds(lambda piece, n: piece * n, st.text(alphabet=_ASCII, min_size=1, max_size=9), st.integers(20, 700)),
    st.builds(lambda piece, n: piece * n, st.text(alphabet=_HOSTILE, min_size=1, max_size=5), st.integers(20, 900)))
_SHORT = st.one_of(st.text(max_size=12), st.text(alphabet=_HOSTILE, max_size=12), st.sampled_from(_VOCAB))
_TEXT = st.one_of(
    st.sampled_from(_VOCAB),
    st.text(alphabet=_ASCII, max_size=90),
    st.text(alphabet=_HOSTILE, max_size=40),
    st.text(max_size=40),
    st.text(alphabet=_HOSTILE + "\ud800\udfff", max_size=20),
    _LONG,
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_SHORT, inner, max_size=3),
    max_leaves=6)
_ORIGIN = st.sampled_from(["payload", "payload", "instruction", "planner"])
_LIT = st.builds(lambda value, origin: Lit(literal=value, origin=origin),
                 st.one_of(_JSON, _LONG, st.sampled_from(_VOCAB), st.sampled_from(_VOCAB)), _ORIGIN)
_SEGMENT = st.one_of(st.text(min_size=1, max_size=20), st.text(alphabet=_HOSTILE, min_size=1, max_size=20),
                     st.integers(0, 99))
_REF = st.builds(lambda ref, path: Ref(ref=ref, path=path),
                 st.sampled_from(["trigger", "s1", "item", "m"]),
                 st.one_of(st.just(""), st.sampled_from(["payload", "results.0.sender", "a.b-c_d", "own", "segments",
                                                         "segments.1.text", "segments.0.kind", "meta",
                                                         "meta.subject", "instruction", "principal"]),
                           st.lists(_SEGMENT, min_size=1, max_size=4),
                           st.builds(lambda s, n: [s] * n, st.text(alphabet=_ASCII, min_size=150, max_size=200),
                                     st.integers(1, 3))))
_ARG: st.SearchStrategy[Arg] = st.recursive(
    st.one_of(_LIT, _LIT, _REF),
    lambda inner: st.one_of(st.builds(lambda parts: Concat(concat=parts), st.lists(inner, min_size=1, max_size=4)),
                            st.builds(lambda items: ListOf(items=items), st.lists(inner, max_size=4))),
    max_leaves=8)
_ARG_NAMES = ["to", "body", "path", "amount", "q"]


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """A few tools with any mix of effects (none too) and sink arguments."""
    tools = {}
    for n in range(draw(st.integers(1, 4))):
        effects = draw(st.lists(st.sampled_from(EFFECTS), unique=True, max_size=3))
        args = {a: ArgSpec(sink=draw(st.sampled_from([None, None, "recipient", "path", "amount"])))
                for a in draw(st.lists(st.sampled_from(_ARG_NAMES), unique=True, max_size=5))}
        tools[f"tool_{n}"] = ToolSpec(effects=effects, args=args)
    return Catalog(tools=tools)


@st.composite
def plans(draw: st.DrawFn, catalog: Catalog) -> CheckedPlan:
    """Calls, extractions and loops in any nesting and multiplicity (the summary reads only
    `order`; the codec's checks are not what is compared here)."""
    order = []
    steps = []
    for n in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["call", "call", "call", "extract", "for_each"]))
        step: Any
        if kind == "call":
            tool = draw(st.sampled_from(sorted(catalog.tools)))
            names = [*catalog.tools[tool].args, "extra"]
            args = {a: draw(_ARG) for a in draw(st.lists(st.sampled_from(names), unique=True, max_size=5))}
            step = CallStep(id=f"s{n}", tool=tool, args=args)
        elif kind == "extract":
            type_: dict[str, Any] = {"kind": draw(st.sampled_from(["bool", "enum", "copy", "number"]))}
            if type_["kind"] == "enum":
                type_["values"] = draw(st.lists(_TEXT, max_size=5))
            elif type_["kind"] == "copy":
                type_["choices"] = draw(_ARG)
            elif type_["kind"] == "number":
                type_["min"], type_["max"] = draw(st.one_of(st.none(), st.integers(-9, 9))), 10.5
            step = ExtractStep.model_validate({"id": f"s{n}", "kind": "extract", "from": draw(_ARG), "type": type_})
        else:
            inner = CallStep(id=f"in{n}", tool=sorted(catalog.tools)[0])
            step = ForEachStep.model_validate({"id": f"s{n}", "kind": "for_each", "over": draw(_ARG), "as": "item",
                                               "max": draw(st.integers(1, 1000)), "steps": [inner]})
        steps.append(step)
        loops = tuple(f"l{i}" for i in range(draw(st.integers(0, 3))))
        order.append(Scoped(step=step, loops=loops, repeat=draw(st.sampled_from([1, 1, 2, 1000]))))
    rtype = draw(st.one_of(st.just("any"), st.from_regex(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", fullmatch=True)))
    plan = Plan(request_type=rtype, steps=steps)
    return CheckedPlan(plan=plan, hash="", order=tuple(order), max_calls=0, blocks={})


@st.composite
def triggers(draw: st.DrawFn) -> Trigger | None:
    """None, a message all the sender's own, or one with quoted, forwarded or attached parts."""
    if draw(st.booleans()):
        return None
    segments = [{"kind": draw(st.sampled_from(["own", "own", "quoted", "forwarded", "attachment"])),
                 "text": " ".join(draw(st.lists(st.one_of(st.sampled_from(_VOCAB), _SHORT), min_size=1, max_size=4)))}
                for _ in range(draw(st.integers(0, 4)))]
    meta = draw(st.dictionaries(st.sampled_from(["subject", "from_name"]), st.sampled_from(_VOCAB), max_size=2))
    data: dict[str, Any] = {"channel": "email", "principal": "bob@partner.example", "meta": meta}
    if segments:
        data["segments"] = segments
    else:
        data["payload"] = " ".join(draw(st.lists(st.sampled_from(_VOCAB), max_size=4)))
    return Trigger.model_validate(data)


def outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """What a call gives, or the type of what it raises (an error must stay an error)."""
    try:
        return "value", fn(*args, **kwargs)
    except Exception as exc:
        return "raised", type(exc)


_PRINCIPAL = st.one_of(st.just("owner@home.example"), st.just(""), _TEXT)
_LIMIT = st.one_of(st.none(), st.integers(-2, 130), st.sampled_from([WRAP, WHOLE]))


# --- The equivalence tests ---------------------------------------------------------------

@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data(), catalog=catalogs(), trigger=triggers(), principal=_PRINCIPAL,
       trust_class=st.one_of(st.sampled_from(["owner", "unknown", "contact"]), _SHORT), verdict=_SHORT)
def test_summarise_equals_the_reference(data: st.DataObject, catalog: Catalog, trigger: Trigger | None,
                                        principal: str, trust_class: str, verdict: str) -> None:
    """Whatever the plan, trigger and principal, the summary is the reference's, byte for byte."""
    checked = data.draw(plans(catalog))
    kwargs = {"trust_class": trust_class, "principal": principal, "verdict": verdict, "trigger": trigger}
    assert outcome(summary.summarise, checked, catalog, **kwargs) == outcome(ref_summarise, checked, catalog,
                                                                             **kwargs)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(arg=_ARG, sender=_PRINCIPAL, limit=st.sampled_from([60, 60, WRAP, WHOLE, 1, 0]),
       own=st.one_of(st.none(), st.lists(st.sampled_from(_VOCAB), max_size=3).map(" ".join).map(normalise)))
def test_describe_arg_equals_the_reference(arg: Arg, sender: str, limit: int, own: str | None) -> None:
    """One argument, at every limit the summary uses (and edge ones), with and without foreign parts."""
    assert outcome(summary.describe_arg, arg, sender, limit=limit, own=own) == outcome(
        ref_describe_arg, arg, sender, limit=limit, own=own)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(value=_JSON, limit=_LIMIT, ascii=st.booleans(), newlines=st.booleans(), source=_TEXT)
def test_escaping_equals_the_reference(value: Any, limit: int | None, ascii: bool, newlines: bool,
                                       source: str) -> None:
    """quote, visible, marked and the renderer give the general loop's text for any value."""
    assert quote(value, limit, ascii=ascii) == ref_quote(value, limit, ascii=ascii)
    assert visible(value, limit, ascii=ascii, newlines=newlines) == ref_visible(value, limit, ascii=ascii,
                                                                                newlines=newlines)
    assert marked(str(value), source) == ref_marked(str(value), source)
    assert summary.short(value) == ref_short(value)
    if isinstance(value, str):
        for specials in ("", "«»", "'«»", "'", "a\\"):
            assert _render(value, limit, ascii=ascii, newlines=newlines, specials=specials) == ref_render(
                value, limit, ascii=ascii, newlines=newlines, specials=specials)


@settings(max_examples=1000, deadline=None)
@given(text=st.one_of(st.text(alphabet="ab '\\«»\n\x1b\u202eé", max_size=6), st.text(alphabet=_ASCII, max_size=6)),
       limit=st.one_of(st.none(), st.integers(-2, 8)), ascii=st.booleans(), newlines=st.booleans())
def test_short_texts_at_every_cut_equal_the_reference(text: str, limit: int | None, ascii: bool,
                                                       newlines: bool) -> None:
    """Short texts against limits around their length (and below zero): where a fast path cuts."""
    assert quote(text, limit, ascii=ascii) == ref_quote(text, limit, ascii=ascii)
    assert visible(text, limit, ascii=ascii, newlines=newlines) == ref_visible(text, limit, ascii=ascii,
                                                                               newlines=newlines)
    if limit is not None and limit > 0:
        assert summary.short(text, limit) == ref_short(text, limit)


def test_values_json_cannot_render_are_named_as_before() -> None:
    """A circular or unserialisable value quotes as the reference quoted it."""
    circular: list[Any] = []
    circular.append(circular)
    for value in (circular, object(), {1: {2, 3}}, (1, "a\n"), b"\x1b[2J"):
        for ascii in (True, False):
            assert quote(value, 60, ascii=ascii) == ref_quote(value, 60, ascii=ascii)
            assert visible(value, 60, ascii=ascii) == ref_visible(value, 60, ascii=ascii)


# --- Every plan of the case corpora, and the bench's -------------------------------------

_PACKS = {"assistant": "src/plangate/deployments/inbox/policy.yaml", "example": "examples/assistant-policy.yaml",
          "tests-assistant": "tests/assistant/policy.yaml",
          **{s: f"src/plangate/bench/agentdojo/policy_{s}.yaml" for s in ("banking", "slack", "travel", "workspace")}}


def _corpus() -> list[tuple[str, Path, dict[str, Any], dict[str, Any] | None]]:
    """(name, policy, plan, trigger) for every plan of tests/core/policy_cases and
    tests/policy_packs/cases."""
    out = []
    for path in sorted((ROOT / "tests/core/policy_cases").glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        out.append((path.stem, ROOT / "examples/assistant-policy.yaml", case["plan"], case["trigger"]))
    for path in sorted((ROOT / "tests/policy_packs/cases").glob("*.yaml")):
        case = yaml.safe_load(path.read_text())
        for n, run in enumerate(case["runs"]):
            out.append((f"{path.stem}-{n}", ROOT / _PACKS[case["pack"]], run["plan"], run.get("trigger")))
    return out


@pytest.mark.parametrize(("policy_path", "wire", "trigger"), [c[1:] for c in _corpus()], ids=[c[0] for c in _corpus()])
def test_every_case_plan_summarises_as_before(policy_path: Path, wire: dict[str, Any],
                                             trigger: dict[str, Any] | None) -> None:
    """The case corpora's plans, under every trust class, with and without their trigger."""
    catalog = (assistant_policy() if policy_path.name == "assistant-policy.yaml" else load_policy(policy_path)).catalog
    try:
        checked = check_plan(parse_plan(wire), catalog)
    except PlanError:
        return  # a malformed plan is refused before any summary
    parsed = parse_trigger(trigger) if trigger else None
    for principal in ("owner@home.example", "carol\u202e@evil.example\n"):
        kwargs = {"trust_class": "owner", "principal": principal, "verdict": "escalate", "trigger": parsed}
        assert summary.summarise(checked, catalog, **kwargs) == ref_summarise(checked, catalog, **kwargs)


def test_the_bench_plan_summarises_as_before() -> None:
    """The plan `plangate bench perf` times, and its realistic mix."""
    from plangate.bench.perf import OWNER_TRIGGER, make_plan

    policy = load_policy(POLICY)
    wire, message = distinct_plan(policy)
    trigger = parse_trigger({**OWNER_TRIGGER, "payload": message})
    for plan in (wire, make_plan(20), make_plan(100)):
        checked = check_plan(parse_plan(plan), policy.catalog)
        kwargs = {"trust_class": "owner", "principal": "owner@home.example", "verdict": "approve", "trigger": trigger}
        assert summary.summarise(checked, policy.catalog, **kwargs) == ref_summarise(checked, policy.catalog, **kwargs)


def test_values_around_the_line_width_summarise_as_before() -> None:
    """Arguments whose rendering is just under, at and just over `WRAP`: where a value moves
    from one line to numbered parts (the widths generated values rarely hit exactly)."""
    catalog = Catalog(tools={"send": ToolSpec(effects=["egress"], args={"to": ArgSpec(sink="recipient"),
                                                                          "body": ArgSpec()})})
    for size in range(150, WRAP + 8):
        for value in ("x" * size, "é" * (size // 6), ["y" * size]):
            for origin in ("payload", "planner"):
                args = {"to": Lit(literal="bob@partner.example", origin="payload"),
                        "body": Lit(literal=value, origin=origin)}
                step = CallStep(id="s", tool="send", args=args)
                checked = CheckedPlan(plan=Plan(steps=[step]), hash="", order=(Scoped(step=step, loops=(), repeat=1),),
                                      max_calls=1, blocks={})
                kwargs = {"trust_class": "owner", "principal": "owner@home.example", "verdict": "approve"}
                assert summary.summarise(checked, catalog, **kwargs) == ref_summarise(checked, catalog, **kwargs)
