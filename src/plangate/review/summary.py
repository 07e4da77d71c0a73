"""The plain-language account of WHAT a plan will do, for the person asked to approve it.

It renders every step with every argument: actions, destinations, what each call reads
and sends, and where each value comes from. Values are escaped (`plangate.safetext`: no
control, bidi or zero-width character acts; non-ASCII shows as `\\uXXXX` so a homoglyph is
visible) and shown whole: a long text in parts, a long list item by item, and where a
value is longer than `WHOLE` the cut is said ("... and N more ..., not shown"). Words
someone other than the owner chose are marked with whose they are, `«payload from
carol@new.example: '...'»`, `«chosen by the agent: '...'»`; a reference into the trigger
shows the trigger's value, marked the same way. Values known only at run time are said
to be. It never renders the planner's reasons: the approver judges what, not why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plangate.catalog import Catalog
from plangate.plan.codec import CheckedPlan
from plangate.plan.model import Arg, CallStep, Concat, ExtractStep, ForEachStep, ListOf, Lit, Ref
from plangate.review.flow import PathError, follow, trigger_fields
from plangate.review.origins import occurs_in, own_words_text
from plangate.safetext import pieces, quote, visible
from plangate.trigger import Trigger

#: How much of one value the approver sees: all of it up to this many characters (a text)
#: or this many characters of items (a list, a dict), in lines of about `WRAP`; beyond it
#: the cut is said with what is left.
WHOLE = 4000
WRAP = 240


def short(value: Any, limit: int = 60) -> str:
    """A value quoted for the approver: escaped, ASCII, at most `limit` characters."""
    return quote(value, limit, ascii=True)


_INSTRUCTION = "your instruction"
_NAMED_SOURCES = {"instruction": _INSTRUCTION, "planner": "chosen by the agent"}


class _Words:
    """How one summary renders arguments: whose words each value is, and its lines. The
    marks and whether a `payload` literal is in the sender's own words are memoised for
    one summary. tests/core/test_summary_speed.py keeps a plain reference of it."""

    __slots__ = ("fields", "foreign", "marks", "own", "quoted", "theirs")

    def __init__(self, sender: str, own: str | None, fields: dict[str, Any] | None = None) -> None:
        self.own = own
        self.fields = fields  # the trigger as references read it; None: not known here
        who = sender or "the trigger"
        self.theirs = f"payload from {who}"
        self.quoted = f"quoted or forwarded in the message from {who}, not their own words"
        self.marks: dict[str, str] = {}  # source -> `«source: `, escaped
        self.foreign: dict[int, bool] = {}  # id of a literal of the plan -> not in own words

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

    def trigger_source(self, path: tuple[str | int, ...]) -> str:
        """Whose words a field of the trigger is: the sender's own, or not (a quoted or
        forwarded part, or a whole that holds one)."""
        head = str(path[0]) if path else ""
        if head == "instruction":
            return _INSTRUCTION
        if self.own is None or head == "own":
            return self.theirs
        if head == "segments" and len(path) > 1 and self.fields is not None:
            try:
                if follow(self.fields, ("segments", path[1], "kind")) == "own":
                    return self.theirs
            except PathError:
                pass
        return self.quoted

    def known(self, ref: Ref) -> tuple[Any, str] | None:
        """A trigger reference's value and whose words it is; None when not known here."""
        if ref.ref != "trigger" or self.fields is None:
            return None
        try:
            return follow(self.fields, ref.segments), self.trigger_source(ref.segments)
        except PathError:
            return None

    def show(self, rendered: str, source: str) -> str:
        """A rendered value with whose words it is: marked `«...»` unless the owner's."""
        if source == _INSTRUCTION:
            return f"{rendered} ({source})"
        mark = self.marks.get(source)
        if mark is None:
            mark = self.marks[source] = f"«{visible(source, 120)}: "
        return f"{mark}{rendered}»"

    def describe(self, arg: Arg, limit: int) -> str:
        """An argument on one line, each value at most `limit` characters."""
        if isinstance(arg, Lit):
            return self.show(quote(arg.literal, limit, ascii=True), self.source(arg))
        if isinstance(arg, Ref):
            # A path segment is any string a plan wrote: it is shown escaped like a value.
            shown = visible(arg.shown, 120, ascii=True)
            if arg.ref != "trigger":
                return f"<{shown}, known at run time>"
            known = self.known(arg)
            if known is None:
                return f"<{shown}>"
            return f"<{shown}> = {self.show(quote(known[0], limit, ascii=True), known[1])}"
        if isinstance(arg, Concat):
            return " + ".join([self.describe(p, limit) for p in arg.concat])
        assert isinstance(arg, ListOf)
        return "[" + ", ".join([self.describe(i, limit) for i in arg.items]) + "]"

    def whole(self, arg: Arg, pad: str) -> list[str]:
        """An argument too long for one line, in lines of about `WRAP` characters."""
        if isinstance(arg, Lit):
            return self.value(arg.literal, self.source(arg), pad)
        if isinstance(arg, Ref):
            known = self.known(arg)
            if known is None:  # a placeholder: always short
                return [pad + self.describe(arg, WRAP)]
            return self.value(*known, pad, label=f"<{visible(arg.shown, 120, ascii=True)}> = ")
        parts = arg.concat if isinstance(arg, Concat) else arg.items
        head = "joined from" if isinstance(arg, Concat) else "a list of"
        return [f"{pad}{head} {len(parts)} parts:",
                *self.pack([(p, self.describe(p, WHOLE)) for p in parts],
                           " + " if isinstance(arg, Concat) else ", ", pad + "  ")]

    def pack(self, parts: list[tuple[Arg, str]], sep: str, pad: str) -> list[str]:
        """Parts several to a line up to `WRAP`; a part too long for one, on its own lines."""
        out: list[str] = []
        line = ""
        for part, one in parts:
            if len(one) > WRAP:
                if line:
                    out.append(pad + line)
                    line = ""
                out.extend(self.whole(part, pad))
            elif line and len(line) + len(sep) + len(one) <= WRAP:
                line += sep + one
            else:
                if line:
                    out.append(pad + line)
                line = one
        if line:
            out.append(pad + line)
        return out

    def value(self, value: Any, source: str, pad: str, label: str = "") -> list[str]:
        """A value too long for one line: a text in parts, a list or dict item by item,
        up to `WHOLE` characters; what is left is said."""
        if isinstance(value, str):
            cut = pieces(value[:WHOLE], WRAP, ascii=True)
            out = [f"{pad}{label}{len(value)} characters in {len(cut)} parts:"]
            out.extend(f"{pad}  {self.show(quote(p, None, ascii=True), f'{source}, part {n}')}"
                       for n, p in enumerate(cut, 1))
            if len(value) > WHOLE:
                out.append(f"{pad}  ... and {len(value) - WHOLE} more characters, not shown")
            return out
        if not isinstance(value, list | tuple | dict) or not value:  # a number of many digits
            return self.value(quote(value, None, ascii=True), f"{source}, as JSON", pad, label)
        is_dict = isinstance(value, dict)
        items = list(value.items()) if isinstance(value, dict) else list(value)
        noun = "entries" if is_dict else "items"
        out = [f"{pad}{label}a {'dict' if is_dict else 'list'} of {len(items)} {noun}:"]
        line: list[str] = []
        used = 0
        for n, item in enumerate(items):
            if used >= WHOLE:
                out.append(f"{pad}  ... and {len(items) - n} more {noun}, not shown")
                break
            text = quote(dict([item]), None, ascii=True)[1:-1] if is_dict else quote(item, None, ascii=True)
            used += len(text)
            if line and (len(text) > WRAP or len(", ".join([*line, text])) > WRAP):
                out.append(f"{pad}  {self.show(', '.join(line), source)}")
                line = []
            if len(text) > WRAP:  # an item too long for a line: on lines of its own
                key, inner = item if is_dict else (n + 1, item)
                head = f"{quote(key, None, ascii=True)}: " if is_dict else f"item {key}: "
                out.extend(self.value(inner, source, pad + "  ", head))
            else:
                line.append(text)
        if line:
            out.append(f"{pad}  {self.show(', '.join(line), source)}")
        return out

    def step(self, head: str, args: list[tuple[str, Arg]], indent: str) -> list[str]:
        """A step's line with its arguments, or, when they do not fit on it, one argument
        (or one line of a long one) a line below it."""
        whole = [(n, a, self.describe(a, WHOLE)) for n, a in args]
        line = head + (f" -> {'; '.join([f'{n}={one}' for n, _, one in whole])}" if whole else "")
        if len(line) <= WRAP:
            return [line]
        out = [head + " ->"]
        for n, a, one in whole:
            if len(one) <= WRAP:
                out.append(f"{indent}    {n} = {one}")
            else:
                out.append(f"{indent}    {n} =")
                out.extend(self.whole(a, indent + "      "))
        return out


def describe_arg(arg: Arg, sender: str = "", *, limit: int = 60, own: str | None = None) -> str:
    """An argument as the approver reads it, on one line. `sender` is whose message
    `payload` literals came from, marked as theirs; `own` (normalised) is the sender's own
    words when the message also holds others' (quoted, forwarded, attached): a literal
    found only outside them is marked as someone else's words in that message."""
    return _Words(sender, own).describe(arg, limit)


def describe_values(values: Mapping[str, Any], sources: Mapping[str, str], indent: str = "") -> list[str]:
    """Concrete values (a call's arguments at run time) as the summary shows a value:
    whole (up to `WHOLE`, the rest said), each marked with its `sources` entry."""
    words = _Words("", None)
    out = []
    for name, value in values.items():
        source = sources[name]
        one = words.show(quote(value, WHOLE, ascii=True), source)
        if len(one) <= WRAP:
            out.append(f"{indent}{visible(name, 120, ascii=True)} = {one}")
        else:
            out.append(f"{indent}{visible(name, 120, ascii=True)} =")
            out.extend(words.value(value, source, indent + "  "))
    return out


def _an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def _extract_args(step: ExtractStep) -> list[tuple[str, Arg]]:
    """What bounds an extraction's answer, as arguments: the planner wrote each."""
    t = step.type
    args: list[tuple[str, Arg]] = []
    if t.values is not None:
        args.append(("values", Lit(literal=list(t.values), origin="planner")))
    if t.choices is not None:
        args.append(("choices", t.choices))
    for name, bound in (("min", t.min), ("max", t.max)):
        if bound is not None:
            args.append((name, Lit(literal=bound, origin="planner")))
    return args


def summarise(checked: CheckedPlan, catalog: Catalog, *, trust_class: str, principal: str,
              verdict: str, trigger: Trigger | None = None) -> str:
    rtype = checked.plan.request_type
    own = own_words_text(trigger) if trigger is not None else None
    # The trigger's words are marked with whose they are. The owner's too: the trust class
    # alone does not say the words are the owner's (a scheduled run's payload is not).
    sender = visible(principal, 80, ascii=True)
    lines = [f"{_an(trust_class)} {short(trust_class, 40)} trigger from {short(principal, 80)} asks for "
             f"{_an(rtype).lower()} {short(rtype, 64)} request; verdict: {verdict}."]
    words = _Words(sender, own, trigger_fields(trigger, principal) if trigger is not None else None)
    for scoped in checked.order:
        step = scoped.step
        indent = "  " * (len(scoped.loops) + 1)
        loop = f" (up to {scoped.repeat}x)" if scoped.repeat > 1 else ""
        if isinstance(step, CallStep):
            # Every argument of every call: what a read selects decides what later leaves.
            effects = "/".join(catalog.tools[step.tool].effects) or "no effect"
            lines.extend(words.step(f"{indent}- {step.id}: {step.tool} [{effects}]{loop}",
                                    list(step.args.items()), indent))
        elif isinstance(step, ExtractStep):
            # The values or choices an answer is picked from say what it can become.
            head = f"{indent}- {step.id}: extract a {step.type.kind}"
            source = words.describe(step.source, WHOLE)
            bounds = _extract_args(step)
            if len(source) <= WRAP:
                lines.extend(words.step(f"{head} from {source} (no tools)", bounds, indent))
            else:
                lines.extend(words.step(f"{head} (no tools)", [("from", step.source), *bounds], indent))
        else:
            assert isinstance(step, ForEachStep)
            over = words.describe(step.over, WHOLE)
            if len(over) <= WRAP:
                lines.append(f"{indent}- {step.id}: for each item of {over}, at most {step.max}:")
            else:
                lines.append(f"{indent}- {step.id}: for each item of the value below, at most {step.max}:")
                lines.extend(words.whole(step.over, indent + "      "))
    return "\n".join(lines)
