"""Gate-checked tools for agent frameworks: a wrapper, not a new class hierarchy.

    from plangate.fronts.adapters import gated, gated_function_tool

    agent = pydantic_ai.Agent(model, tools=[gated(send_email, grant)])     # pydantic-ai
    tool = gated_function_tool(agents.function_tool(send_email), grant)    # OpenAI Agents SDK

`gated(func, grant)` returns a function with `func`'s signature, name and docstring (so a
framework builds the same schema from it) that, on every call, binds the arguments, asks
the grant whether this exact call may run (`CallBlocked` if not: the function is not
called), runs it and reports the result. A first parameter annotated as the framework's
run context (pydantic-ai's `RunContext`) is passed through and not sent to the gate.
`gated_function_tool(tool, grant)` does the same around an Agents SDK `FunctionTool`'s
`on_invoke_tool` and returns a copy of the tool.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, TypeVar

from plangate.fronts.adapters.grant import CallBlocked, Grant

F = TypeVar("F", bound=Callable[..., Any])


def _plain(value: Any) -> Any:
    """JSON-able form of a validated argument (pydantic models, dates, ...)."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value, fallback=str)


def _context_classes() -> tuple[type, ...]:
    """The frameworks' run-context types, from the frameworks already loaded (a function
    annotated with one was defined after its framework was imported)."""
    import sys

    found: list[type] = []
    for module, names in (("pydantic_ai", ("RunContext",)), ("agents", ("RunContextWrapper", "ToolContext"))):
        loaded = sys.modules.get(module)
        found += [c for c in (getattr(loaded, n, None) for n in names) if isinstance(c, type)]
    return tuple(found)


def _is_context(func: Callable[..., Any], param: inspect.Parameter) -> bool:
    """Whether the framework passes `param` itself (its run context) rather than asking the
    model for it — decided as the frameworks decide it, by the resolved type (a name with
    "RunContext" in it is not enough: that argument would reach the tool unchecked). An
    annotation that cannot be resolved is not a context, so it goes to the gate."""
    import typing

    try:
        annotation = typing.get_type_hints(func).get(param.name, param.annotation)
    except Exception:
        return False
    origin = typing.get_origin(annotation) or annotation
    return any(origin is c for c in _context_classes())


def gated(func: F, grant: Grant, *, name: str | None = None) -> F:
    """`func` behind `grant` (see the module's docstring); `name` is the catalog's tool name
    (default: the function's name, which is also the framework's tool name)."""
    tool = name or func.__name__
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    skip = params[0].name if params and _is_context(func, params[0]) else None

    def gate_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        bound = signature.bind(*args, **kwargs)
        return {k: _plain(v) for k, v in bound.arguments.items() if k != skip}

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            call = await asyncio.to_thread(grant.check, tool, gate_args(args, kwargs))
            try:
                result = await func(*args, **kwargs)
            except Exception as exc:
                await asyncio.to_thread(grant.report, call, ok=False, error=f"{type(exc).__name__}: {exc}")
                raise
            await asyncio.to_thread(grant.report, call, ok=True, value=_plain(result))
            return result
        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        call = grant.check(tool, gate_args(args, kwargs))
        try:
            result = func(*args, **kwargs)
        except Exception as exc:
            grant.report(call, ok=False, error=f"{type(exc).__name__}: {exc}")
            raise
        grant.report(call, ok=True, value=_plain(result))
        return result
    return wrapper  # type: ignore[return-value]


def gated_function_tool(tool: Any, grant: Grant, *, name: str | None = None) -> Any:
    """A copy of an OpenAI Agents SDK `FunctionTool` whose every invocation goes through
    `grant` first. The arguments checked are the JSON the model sent, parsed."""
    tool_name = name or tool.name
    inner = tool.on_invoke_tool

    async def on_invoke_tool(ctx: Any, input_json: str) -> Any:
        try:
            args = json.loads(input_json or "{}")
        except ValueError:
            raise CallBlocked(f"plangate blocked {tool_name}: its arguments are not JSON") from None
        if not isinstance(args, dict):
            raise CallBlocked(f"plangate blocked {tool_name}: its arguments are not a JSON object")
        call = await asyncio.to_thread(grant.check, tool_name, args)
        try:
            result = await inner(ctx, input_json)
        except Exception as exc:
            await asyncio.to_thread(grant.report, call, ok=False, error=f"{type(exc).__name__}: {exc}")
            raise
        await asyncio.to_thread(grant.report, call, ok=True, value=_plain(result))
        return result

    gated_tool = copy.copy(tool)
    gated_tool.on_invoke_tool = on_invoke_tool
    return gated_tool


__all__ = ["gated", "gated_function_tool"]
