"""The JSON Claude Code sends a hook, parsed once, here.

Claude Code writes one JSON object to a command hook's stdin (an http hook gets it as the
POST body): `hook_event_name`, `session_id`, `transcript_path`, `cwd`, `permission_mode`
and, for tool events, `tool_name`, `tool_input`, `tool_use_id`; PostToolUse adds
`tool_response`, PostToolUseFailure `error`. Everything the hook decides on comes out of
`parse_hook_input`; anything that does not parse is a `HookInputError` with one line
naming the problem, and the caller denies.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from plangate.fronts.claude_code.fields import FieldError, mapping, text

#: Hook input over this many bytes is refused (a tool input that large is not reviewed).
MAX_INPUT_BYTES = 1_000_000

Event = Literal["PreToolUse", "PostToolUse", "PostToolUseFailure"]
EVENTS: tuple[str, ...] = ("PreToolUse", "PostToolUse", "PostToolUseFailure")


class HookInputError(ValueError):
    """The hook input cannot be read; the message is one line naming what is wrong."""


#: The session id names the state file: an id that is not a plain token is refused.
SESSION_ID = r"[A-Za-z0-9_-]{1,128}"


@dataclass(frozen=True, slots=True, kw_only=True)
class HookEvent:
    """One tool event from Claude Code."""

    event: Event
    session_id: str
    tool_name: str
    tool_input: dict[str, Any]
    tool_use_id: str = ""
    tool_response: Any = None
    error: str | None = None
    cwd: str | None = None


def _no_constants(name: str) -> Any:
    raise HookInputError(f"hook input: {name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HookInputError(f"hook input: the number {text[:40]} is out of range")
    return value


def parse_hook_input(raw: bytes | str, *, limit: int = MAX_INPUT_BYTES) -> HookEvent:
    """The event in `raw`, or a `HookInputError` naming the first problem."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > limit:
        raise HookInputError(f"hook input is over {limit} bytes; a call that large is not reviewed")
    if not data.strip():
        raise HookInputError("hook input is empty (expected Claude Code's JSON on stdin)")
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_no_constants, parse_float=_finite)
        # A string escape may name half a UTF-16 pair ("\ud800"): no file name or command is that.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError:
        raise HookInputError("hook input is not UTF-8") from None
    except UnicodeEncodeError:
        raise HookInputError("hook input holds a lone surrogate escape (not text)") from None
    except RecursionError:
        raise HookInputError("hook input is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise HookInputError(f"hook input is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except ValueError as exc:  # an integer over Python's 4300-digit conversion limit
        raise HookInputError(f"hook input: a number cannot be read ({str(exc)[:60]})") from None
    if not isinstance(value, dict):
        raise HookInputError(f"hook input must be a JSON object, not {type(value).__name__}")
    # Claude Code adds fields over time (transcript_path, permission_mode, agent ids...):
    # they are ignored, and only the ones below are read.
    try:
        name = str(text(value, "hook_event_name", max_len=64))
        session_id = str(text(value, "session_id", pattern=SESSION_ID))
        tool_name = str(text(value, "tool_name", min_len=1, max_len=200))
        tool_input = mapping(value, "tool_input")
        # Results are matched to the allowed call by this id: an event without one is refused.
        tool_use_id = str(text(value, "tool_use_id", min_len=1, max_len=200))
        cwd = text(value, "cwd", required=False, max_len=4096)
    except FieldError as exc:
        raise HookInputError(f"hook input: {exc}") from None
    if name not in EVENTS:
        raise HookInputError(f"hook input: hook_event_name {name[:64]!r} is not one of {', '.join(EVENTS)}")
    raw_error = value.get("error")
    error = raw_error if isinstance(raw_error, str) or raw_error is None else json.dumps(raw_error)[:2000]
    return HookEvent(event=name,  # type: ignore[arg-type]  # checked above
                     session_id=session_id, tool_name=tool_name, tool_input=tool_input,
                     tool_use_id=tool_use_id, tool_response=value.get("tool_response"), error=error, cwd=cwd)


__all__ = ["EVENTS", "MAX_INPUT_BYTES", "SESSION_ID", "HookEvent", "HookInputError", "parse_hook_input"]
