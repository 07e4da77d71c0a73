"""The plain-language account of WHAT a plan will do, for the person asked to approve it.

It renders actions, destinations and where each sink's value comes from; it quotes values
shortened and escaped (`plangate.safetext`: no control, bidi or zero-width character acts;
non-ASCII shows as `\\uXXXX` so a homoglyph is visible), marks words taken from the
trigger's message with their sender (`«payload from carol@new.example: '...'»`), and says
which values stay open until the run. It never renders the planner's reasons: the approver
judges what, not why.
"""

from __future__ import annotations

from typing import Any

from plangate.catalog import Catalog
from plangate.plan.codec import CheckedPlan, iter_refs
from plangate.plan.model import Arg, CallStep, Concat, ExtractStep, ForEachStep, ListOf, Lit, Ref
from plangate.review.origins import occurs_in, own_words_text
from plangate.safetext import quote, visible
from plangate.trigger import Trigger

#: How much of one argument of a call that sends, pays, keeps, runs, deletes or writes the
#: approver sees: all of it up to this many characters (a status post, a mail body), in
#: lines of `WRAP`; beyond it the cut is said with the full length.
WHOLE = 4000
WRAP = 240


def short(value: Any, limit: int = 60) -> str:
    """A value quoted for the approver: escaped, ASCII, at most `limit` characters."""
    return quote(value, limit, ascii=True)


_NAMED_SOURCES = {"instruction": "your instruction", "planner": "chosen by the agent"}


class _Words:
    """How one summary renders arguments. The sender's mark is escaped once, and whether a
    `payload` literal is in the sender's own words is asked once per literal; both memos
    live as long as one summary (`describe_arg`: one call). Says exactly what the general
    code said (tests/core/test_summary_speed.py keeps it as the reference)."""

    __slots__ = ("foreign", "marks", "own", "quoted", "their_mark", "theirs")

    def __init__(self, sender: str, own: str | None) -> None:
        self.own = own
        who = sender or "the trigger"
        self.theirs = f"payload from {who}"
        self.quoted = f"quoted or forwarded in the message from {who}, not their own words"
        self.marks: dict[str, str] = {}  # source -> the opening of its `marked()` span
        self.foreign: dict[int, bool] = {}  # id of a literal of the plan -> not in own words
        self.their_mark = self.mark(self.theirs)

    def source(self, lit: Lit) -> str:
        """Whose words a literal claims to be, as the approver reads it."""
        if lit.origin == "payload":
            if self.own is not None:
                foreign = self.foreign.get(id(lit))
                if foreign is None:
                    foreign = self.foreign[id(lit)] = not occurs_in(lit, self.own)
                if foreign:
                    return self.quoted
            return self.theirs
        return _NAMED_SOURCES[lit.origin]

    def mark(self, source: str) -> str:
        """The opening of `marked(text, source)`: `«source: `, the source escaped."""
        mark = self.marks.get(source)
        if mark is None:
            mark = self.marks[source] = f"«{visible(source, 120)}: "
        return mark

    def lit(self, value: Any, lit: Lit, source: str, limit: int) -> str:
        if lit.origin == "payload":
            return f"{self.mark(source)}{quote(value, limit, ascii=True)}»"
        return f"{quote(value, limit, ascii=True)} ({source})"

    def describe(self, arg: Arg, limit: int) -> str:
        if isinstance(arg, Lit):  # self.lit(arg.literal, arg, self.source(arg), limit), inlined
            if arg.origin == "payload":
                mark = self.their_mark if self.own is None else self.mark(self.source(arg))
                return f"{mark}{quote(arg.literal, limit, ascii=True)}»"
            source = _NAMED_SOURCES[arg.origin]
            return f"{quote(arg.literal, limit, ascii=True)} ({source})"
        if isinstance(arg, Ref):
            # A path segment is any string a plan wrote: it is shown escaped like a value.
            shown = visible(arg.shown, 120, ascii=True)
            return f"<{shown}, known at run time>" if arg.ref != "trigger" else f"<{shown}>"
        if isinstance(arg, Concat):
            return " + ".join([self.describe(p, limit) for p in arg.concat])
        assert isinstance(arg, ListOf)
        return "[" + ", ".join([self.describe(i, limit) for i in arg.items]) + "]"

    def whole(self, arg: Arg, one: str, pad: str) -> list[str]:
        """An argument shown whole (`one` is it described at `WHOLE`), one line at most
        `WRAP` characters of its value each: a long text in numbered parts, each marked
        with whose words it is; concatenations and lists one part per line. Up to `WHOLE`
        characters of one text; beyond, the cut is said."""
        if len(one) <= WRAP:
            return [pad + one]
        if isinstance(arg, Lit) and isinstance(arg.literal, str):
            text, source = arg.literal, self.source(arg)
            shown = text[:WHOLE]
            parts = range(0, len(shown), WRAP)
            out = [f"{pad}{len(text)} characters in {len(parts)} parts:"]
            out.extend(f"{pad}  {self.lit(shown[i:i + WRAP], arg, f'{source}, part {n}', WRAP)}"
                       for n, i in enumerate(parts, 1))
            if len(text) > WHOLE:
                out.append(f"{pad}  ... and {len(text) - WHOLE} more characters, not shown")
            return out
        if isinstance(arg, Concat | ListOf):
            pieces = arg.concat if isinstance(arg, Concat) else arg.items
            out = [f"{pad}{'joined from' if isinstance(arg, Concat) else 'a list of'} {len(pieces)} parts:"]
            for piece in pieces:
                out.extend(self.whole(piece, self.describe(piece, WHOLE), pad + "  "))
            return out
        return [pad + one[:WRAP] + "..."]  # a Ref's shown path is already bounded


def describe_arg(arg: Arg, sender: str = "", *, limit: int = 60, own: str | None = None) -> str:
    """An argument as the approver reads it, on one line. `sender` is whose message
    `payload` literals came from, marked as theirs; `own` (normalised) is the sender's own
    words when the message also holds others' (quoted, forwarded, attached): a literal
    found only outside them is marked as someone else's words in that message."""
    return _Words(sender, own).describe(arg, limit)


#: Calls whose every argument the approver sees: what they send, pay, keep, run, delete or
#: change (a scale to 0 or a rollback to a named release is decided by its values).
_OUTWARD = frozenset({"egress", "payment", "persist", "execute", "delete", "write"})


def _has_ref(arg: Arg) -> bool:
    if isinstance(arg, Lit):  # a leaf is its own only leaf
        return False
    if isinstance(arg, Ref):
        return arg.ref != "trigger"
    return any(ref.ref != "trigger" for ref in iter_refs(arg))


def _an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def summarise(checked: CheckedPlan, catalog: Catalog, *, trust_class: str, principal: str,
              verdict: str, trigger: Trigger | None = None) -> str:
    rtype = checked.plan.request_type
    own = own_words_text(trigger) if trigger is not None else None
    # The trigger's words are marked with whose they are. The owner's too: the trust class
    # alone does not say the words are the owner's (a scheduled run's payload is not).
    sender = visible(principal, 80, ascii=True)
    lines = [f"{_an(trust_class)} {short(trust_class, 40)} trigger from {short(principal, 80)} asks for "
             f"{_an(rtype).lower()} {short(rtype, 64)} request; verdict: {verdict}."]
    words = _Words(sender, own)
    for scoped in checked.order:
        step = scoped.step
        indent = "  " * (len(scoped.loops) + 1)
        loop = f" (up to {scoped.repeat}x)" if scoped.repeat > 1 else ""
        if isinstance(step, CallStep):
            spec = catalog.tools[step.tool]
            effects = "/".join(spec.effects) or "no effect"
            # Sinks say where things go; arguments fed from earlier steps say what goes there.
            # A call that sends, pays, persists, runs, deletes or writes shows every argument:
            # a literal the planner wrote can carry what it saw, and the owner must see it.
            everything = not _OUTWARD.isdisjoint(spec.effects)
            args = step.args
            describe = words.describe
            head = f"{indent}- {step.id}: {step.tool} [{effects}]{loop}"
            if not everything:
                sinks = spec.sink_args
                shown = [f"{n}={describe(a, 60)}" for n, a in args.items()
                         if n in sinks or (not isinstance(a, Lit) and _has_ref(a))]
                lines.append(head + (f" -> {'; '.join(shown)}" if shown else ""))
                continue
            # Every argument whole: on one line when short enough to read there, else one
            # argument (or one part of a long one) a line.
            whole = []
            width = len(head)
            for n, a in args.items():
                one = describe(a, WHOLE)
                whole.append((n, a, one))
                width += len(n) + len(one) + 3  # "; n=one"
            if width <= WRAP:
                lines.append(head + (f" -> {'; '.join([f'{n}={one}' for n, _, one in whole])}" if whole else ""))
                continue
            lines.append(head + " ->")
            for n, a, one in whole:
                if len(one) <= WRAP:  # words.whole()'s first case, without the list
                    lines.append(f"{indent}    {n} = {one.lstrip()}")
                    continue
                value = words.whole(a, one, indent + "      ")
                if len(value) == 1:
                    lines.append(f"{indent}    {n} = {value[0].lstrip()}")
                else:
                    lines.append(f"{indent}    {n} =")
                    lines.extend(value)
        elif isinstance(step, ExtractStep):
            lines.append(f"{indent}- {step.id}: extract a {step.type.kind} from "
                         f"{words.describe(step.source, 60)} (no tools)")
        else:
            assert isinstance(step, ForEachStep)
            lines.append(f"{indent}- {step.id}: for each item of {words.describe(step.over, 60)}, "
                         f"at most {step.max}:")
    return "\n".join(lines)
