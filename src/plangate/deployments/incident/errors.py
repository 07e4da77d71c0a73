"""Why an incident tool refused or failed, naming the tool and the argument.

`ToolCallError` is a `PlangateError`: the executor turns it into a clean halt of the
step, and its message (tool, argument, reason) is what the audit log and the engineer see.
"""

from __future__ import annotations

from plangate.errors import PlangateError


class ToolCallError(PlangateError):
    """A tool call was refused (bad argument, outside a runbook's bounds) or failed."""

    def __init__(self, tool: str, message: str, *, arg: str | None = None) -> None:
        self.tool = tool
        self.arg = arg
        where = f"tool {tool!r}" + (f" argument {arg!r}" if arg else "")
        super().__init__(message, where=where)


class IntakeError(PlangateError):
    """A webhook body is not an Alertmanager notification plangate can read."""
