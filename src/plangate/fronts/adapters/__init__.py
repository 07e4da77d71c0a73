"""Framework adapters: tools written for pydantic-ai and the OpenAI Agents SDK, run through a
plangate grant by a wrapper (`gated`, `gated_function_tool`); the frameworks themselves are
optional (`pip install 'plangate[adapters]'`) and imported by the caller, not here.
Guide: docs/adapters.md."""

from __future__ import annotations

from plangate.fronts.adapters.grant import CallBlocked, Grant, ServiceGrant
from plangate.fronts.adapters.wrap import gated, gated_function_tool

__all__ = ["CallBlocked", "Grant", "ServiceGrant", "gated", "gated_function_tool"]
