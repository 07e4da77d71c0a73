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
from plangate.safetext import marked, quote, visible


def short(value: Any, limit: int = 60) -> str:
    """A value quoted for the approver: escaped, ASCII, at most `limit` characters."""
    return quote(value, limit, ascii=True)


def describe_arg(arg: Arg, sender: str = "") -> str:
    """An argument as the approver reads it. `sender` is whose message `payload` literals
    came from, marked as theirs."""
    if isinstance(arg, Lit):
        if arg.origin == "payload":
            return marked(short(arg.literal), f"payload from {sender or 'the trigger'}")
        who = {"instruction": "your instruction", "planner": "chosen by the agent"}[arg.origin]
        return f"{short(arg.literal)} ({who})"
    if isinstance(arg, Ref):
        # A path segment is any string a plan wrote: it is shown escaped like a value.
        shown = visible(arg.shown, 120, ascii=True)
        return f"<{shown}, known at run time>" if arg.ref != "trigger" else f"<{shown}>"
    if isinstance(arg, Concat):
        return " + ".join(describe_arg(p, sender) for p in arg.concat)
    assert isinstance(arg, ListOf)
    return "[" + ", ".join(describe_arg(i, sender) for i in arg.items) + "]"


#: Calls whose every argument the approver sees: what they send, pay, keep, run, delete or
#: change (a scale to 0 or a rollback to a named release is decided by its values).
_OUTWARD = frozenset({"egress", "payment", "persist", "execute", "delete", "write"})


def _has_ref(arg: Arg) -> bool:
    return any(ref.ref != "trigger" for ref in iter_refs(arg))


def _an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def summarise(checked: CheckedPlan, catalog: Catalog, *, trust_class: str, principal: str,
              verdict: str) -> str:
    rtype = checked.plan.request_type
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
            shown = [f"{n}={describe_arg(a, sender)}" for n, a in step.args.items()
                     if everything or n in spec.sink_args or _has_ref(a)]
            lines.append(f"{indent}- {step.id}: {step.tool} [{effects}]{loop}"
                         + (f" -> {'; '.join(shown)}" if shown else ""))
        elif isinstance(step, ExtractStep):
            lines.append(f"{indent}- {step.id}: extract a {step.type.kind} from "
                         f"{describe_arg(step.source, sender)} (no tools)")
        else:
            assert isinstance(step, ForEachStep)
            lines.append(f"{indent}- {step.id}: for each item of {describe_arg(step.over, sender)}, "
                         f"at most {step.max}:")
    return "\n".join(lines)
