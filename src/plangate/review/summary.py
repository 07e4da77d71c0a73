"""The plain-language account of WHAT a plan will do, for the person asked to approve it.

It renders actions, destinations and where each sink's value comes from; it quotes values
shortened and escaped, and says which values stay open until the run. It never renders
the planner's reasons: the approver judges what, not why.
"""

from __future__ import annotations

from typing import Any

from plangate.catalog import Catalog
from plangate.plan.codec import CheckedPlan, iter_refs
from plangate.plan.model import Arg, CallStep, Concat, ExtractStep, ForEachStep, ListOf, Lit, Ref


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return repr(text[:limit] + "…") if len(text) > limit else repr(text)


def describe_arg(arg: Arg) -> str:
    if isinstance(arg, Lit):
        who = {"instruction": "your instruction", "payload": "the trigger's message",
               "planner": "chosen by the agent"}[arg.origin]
        return f"{short(arg.literal)} ({who})"
    if isinstance(arg, Ref):
        return f"<{arg.shown}, known at run time>" if arg.ref != "trigger" else f"<{arg.shown}>"
    if isinstance(arg, Concat):
        return " + ".join(describe_arg(p) for p in arg.concat)
    assert isinstance(arg, ListOf)
    return "[" + ", ".join(describe_arg(i) for i in arg.items) + "]"


def _has_ref(arg: Arg) -> bool:
    return any(ref.ref != "trigger" for ref in iter_refs(arg))


def _an(word: str) -> str:
    return "An" if word[:1].lower() in "aeiou" else "A"


def summarise(checked: CheckedPlan, catalog: Catalog, *, trust_class: str, principal: str,
              verdict: str) -> str:
    rtype = checked.plan.request_type
    lines = [f"{_an(trust_class)} {trust_class!r} trigger from {short(principal, 80)} asks for "
             f"{_an(rtype).lower()} {rtype!r} request; verdict: {verdict}."]
    for scoped in checked.order:
        step = scoped.step
        indent = "  " * (len(scoped.loops) + 1)
        loop = f" (up to {scoped.repeat}x)" if scoped.repeat > 1 else ""
        if isinstance(step, CallStep):
            spec = catalog.tools[step.tool]
            effects = "/".join(spec.effects) or "no effect"
            # Sinks say where things go; arguments fed from earlier steps say what goes there.
            shown = [f"{n}={describe_arg(a)}" for n, a in step.args.items()
                     if n in spec.sink_args or _has_ref(a)]
            lines.append(f"{indent}- {step.id}: {step.tool} [{effects}]{loop}"
                         + (f" -> {'; '.join(shown)}" if shown else ""))
        elif isinstance(step, ExtractStep):
            lines.append(f"{indent}- {step.id}: extract a {step.type.kind} from "
                         f"{describe_arg(step.source)} (no tools)")
        else:
            assert isinstance(step, ForEachStep)
            lines.append(f"{indent}- {step.id}: for each item of {describe_arg(step.over)}, "
                         f"at most {step.max}:")
    return "\n".join(lines)
