"""The HTTP API's request and response bodies: parsed here, once (pydantic at the edge).

Triggers and plans are passed on as JSON objects and parsed by plangate's own codecs (a
plan that does not check is a verdict, deny `plangate:malformed-plan`, as in the library).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_STRICT = ConfigDict(extra="forbid")


_NUL = "a NUL character (\\u0000), which PostgreSQL cannot store in text"
_SURROGATE = "a lone surrogate (\\ud800-\\udfff), which has no UTF-8 form"


def _unstorable(value: Any, where: str) -> tuple[str, str] | None:
    """(where, what) of the first string (a key or a value) no database could store, or None.
    JSON lets a body spell both: a lone surrogate (`"\\ud800"`) has no UTF-8 form, and
    PostgreSQL keeps neither a NUL in text nor either of them in its JSON (the audit's records
    are indexed as JSON), so such a request failed there as "storage unavailable". A walk
    with its own stack: any depth a JSON parser returned is walked, without recursion."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return at or "the body", _NUL
            if not item.isascii():
                try:
                    item.encode()
                except UnicodeEncodeError:
                    return at or "the body", _SURROGATE
        elif isinstance(item, dict):
            for key, inner in reversed(item.items()):
                stack.append((inner, f"{at}.{key}" if at else str(key)))
                stack.append((key, at))
        elif isinstance(item, list):
            stack.extend((inner, f"{at}.{n}") for n, inner in reversed(list(enumerate(item))))
    return None


def _all_storable(values: list[Any]) -> bool:
    """True when no string in `values` holds a NUL or a lone surrogate: one pass of the C
    JSON encoder instead of `_unstorable`'s walk (a NUL is written `\\u0000`, a lone
    surrogate raw, which then has no UTF-8 form). False means: walk to find out (and where)."""
    try:
        text = json.dumps(values, ensure_ascii=False, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return False
    if "\\u0000" in text:  # or a backslash before "u0000": the walk tells
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


class _Request(BaseModel):
    """A request body: no unknown fields, and only text a database can store."""

    model_config = _STRICT

    @model_validator(mode="after")
    def _storable(self) -> _Request:
        names = type(self).model_fields
        if _all_storable([getattr(self, name) for name in names]):
            return self
        for name in names:
            try:
                found = _unstorable(getattr(self, name), name)
            except Exception as exc:  # a 422, never a 500: the request is counted and refused
                raise ValueError(f"{name} cannot be checked: {type(exc).__name__}") from None
            if found:
                raise ValueError(f"{found[0]} holds {found[1]}")
        return self


class PlanRequest(_Request):
    trigger: dict[str, Any] = Field(description="the trigger: channel, principal, evidence, payload, and id (the "
                                                "message's own id: one message's runs share its budget)")
    plan: dict[str, Any] = Field(description="the plan (see `plangate schema plan`)")
    run_id: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                               description="the caller's run id (default: a new one)")
    session: str | None = Field(None, max_length=128, pattern=r"^[A-Za-z0-9_.:@/-]+$",
                                description="the agent's session (one model context): the plan is reviewed "
                                            "with everything that session's planner was shown before "
                                            "(triggers, results of its grants). Counts only for a "
                                            "credential with `sessions = true`; otherwise, and by default, "
                                            "the credential's one session, which keeps everything")


class PlanResponse(BaseModel):
    run_id: str
    verdict: Literal["approve", "deny", "escalate"]
    rules: list[str]
    summary: str
    grant: str | None = Field(None, description="approved: check each call against this grant")
    approval: str | None = Field(None, description="escalated: the approval the owner decides")
    review: dict[str, Any]


class CheckRequest(_Request):
    step: str = Field(max_length=200)
    tool: str = Field(max_length=200)
    args: dict[str, Any] = Field(description="the concrete arguments the agent is about to use")


class CheckResponse(BaseModel):
    allowed: bool
    grant: str | None = None
    call: int | None = Field(None, description="report the result under this number")
    step: str | None = None
    run_id: str | None = None
    repeated: bool = False


class ResultRequest(_Request):
    call: int | None = Field(None, ge=0, description="the number `check` returned")
    ok: bool = True
    value: Any = None
    error: str | None = Field(None, max_length=2000)
    readers: list[str] | None = Field(None, max_length=1000,
                                      description="exact readers the tool knows (may only narrow)")
    extraction: Any = Field(None, description="the answer to an extraction step, instead of a call result")
    is_extraction: bool = False


class ResultResponse(BaseModel):
    grant: str
    run_id: str
    label: dict[str, Any] | None = Field(None, description="the label of the reported output")
    run_status: str
    needs_extraction: bool = False


class Decision(_Request):
    decision: Literal["approve", "deny"]
    reason: str = Field("", max_length=2000)


class ErrorBody(BaseModel):
    error: str


__all__ = ["CheckRequest", "CheckResponse", "Decision", "ErrorBody", "PlanRequest", "PlanResponse",
           "ResultRequest", "ResultResponse"]
