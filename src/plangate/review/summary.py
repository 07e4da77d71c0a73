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
from plangate.safetext import marked, quote, visible
from plangate.trigger import Trigger

#: How much of one argument of a call that sends, pays, keeps, runs, deletes or writes the
#: approver sees: all of it up to this many characters (a status post, a mail body), in
#: lines of `WRAP`; beyond it the cut is said with the full length.
WHOLE = 4000
WRAP = 240


def short(value: Any, limit: int = 60) -> str:
    """A value quoted for the approver: escaped, ASCII, at most `limit` characters."""
    return quote(value, limit, ascii=True)


def _source(lit: Lit, sender: str, own: str | None) -> str:
    """Whose words a literal claims to be, as the approver reads it."""
    if lit.origin == "payload":
        if own is not None and not occurs_in(lit, own):
            return f"quoted or forwarded in the message from {sender or 'the trigger'}, not their own words"
        return f"payload from {sender or 'the trigger'}"
    return {"instruction": "your instruction", "planner": "chosen by the agent"}[lit.origin]


def _lit(value: Any, lit: Lit, source: str, limit: int) -> str:
    if lit.origin == "payload":
        return marked(short(value, limit), source)
    return f"{short(value, limit)} ({source})"


def describe_arg(arg: Arg, sender: str = "", *, limit: int = 60, own: str | None = None) -> str:
    """An argument as the approver reads it, on one line. `sender` is whose message
    `payload` literals came from, marked as theirs; `own` (normalised) is the sender's own
    words when the message also holds others' (quoted, forwarded, attached): a literal
    found only outside them is marked as someone else's words in that message."""
    if isinstance(arg, Lit):
        return _lit(arg.literal, arg, _source(arg, sender, own), limit)
    if isinstance(arg, Ref):
        # A path segment is any string a plan wrote: it is shown escaped like a value.
        shown = visible(arg.shown, 120, ascii=True)
        return f"<{shown}, known at run time>" if arg.ref != "trigger" else f"<{shown}>"
    if isinstance(arg, Concat):
        return " + ".join(describe_arg(p, sender, limit=limit, own=own) for p in arg.concat)
    assert isinstance(arg, ListOf)
    return "[" + ", ".join(describe_arg(i, sender, limit=limit, own=own) for i in arg.items) + "]"


def _whole(arg: Arg, sender: str, own: str | None, pad: str) -> list[str]:
    """An argument shown whole, one line at most `WRAP` characters of its value each:
    a long text in numbered parts, each marked with whose words it is; concatenations and
    lists one part per line. Up to `WHOLE` characters of one text; beyond, the cut is said."""
    one = describe_arg(arg, sender, limit=WHOLE, own=own)
    if len(one) <= WRAP:
        return [pad + one]
    if isinstance(arg, Lit) and isinstance(arg.literal, str):
        text, source = arg.literal, _source(arg, sender, own)
        shown = text[:WHOLE]
        parts = range(0, len(shown), WRAP)
        out = [f"{pad}{len(text)} characters in {len(parts)} parts:"]
        out.extend(f"{pad}  {_lit(shown[i:i + WRAP], arg, f'{source}, part {n}', WRAP)}"
                   for n, i in enumerate(parts, 1))
        if len(text) > WHOLE:
            out.append(f"{pad}  ... and {len(text) - WHOLE} more characters, not shown")
        return out
    if isinstance(arg, Concat | ListOf):
        pieces = arg.concat if isinstance(arg, Concat) else arg.items
        out = [f"{pad}{'joined from' if isinstance(arg, Concat) else 'a list of'} {len(pieces)} parts:"]
        for piece in pieces:
            out.extend(_whole(piece, sender, own, pad + "  "))
        return out
    return [pad + one[:WRAP] + "..."]  # a Ref's shown path is already bounded


#: Calls whose every argument the approver sees: what they send, pay, keep, run, delete or
#: change (a scale to 0 or a rollback to a named release is decided by its values).
_OUTWARD = frozenset({"egress", "payment", "persist", "execute", "delete", "write"})


def _has_ref(arg: Arg) -> bool:
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
            everything = bool(_OUTWARD & set(spec.effects))
            names = [n for n, a in step.args.items() if everything or n in spec.sink_args or _has_ref(a)]
            shown = [f"{n}={describe_arg(step.args[n], sender, own=own)}" for n in names]
            head = f"{indent}- {step.id}: {step.tool} [{effects}]{loop}"
            whole = [f"{n}={describe_arg(step.args[n], sender, limit=WHOLE, own=own)}" for n in names]
            if not everything or len(head) + sum(len(w) + 2 for w in whole) <= WRAP:
                # Short enough to read on one line (an outward call's values whole).
                lines.append(head + (f" -> {'; '.join(whole if everything else shown)}" if shown else ""))
            else:  # a call that sends, pays, keeps, runs, deletes or writes: every argument whole
                lines.append(head + " ->")
                for n in names:
                    value = _whole(step.args[n], sender, own, indent + "      ")
                    if len(value) == 1:
                        lines.append(f"{indent}    {n} = {value[0].lstrip()}")
                    else:
                        lines.append(f"{indent}    {n} =")
                        lines.extend(value)
        elif isinstance(step, ExtractStep):
            lines.append(f"{indent}- {step.id}: extract a {step.type.kind} from "
                         f"{describe_arg(step.source, sender, own=own)} (no tools)")
        else:
            assert isinstance(step, ForEachStep)
            lines.append(f"{indent}- {step.id}: for each item of {describe_arg(step.over, sender, own=own)}, "
                         f"at most {step.max}:")
    return "\n".join(lines)
