"""Why an assistant tool refused or failed, naming the tool and the argument.

`ToolCallError` is a `PlangateError`, so callers catch one tree; the executor turns any
tool exception into a clean halt, and the message is what the audit log and the owner
see, so it says which tool and which argument was wrong and why.
"""

from __future__ import annotations

from plangate.errors import PlangateError


class ToolCallError(PlangateError):
    """A tool call was refused (bad argument, confinement) or its backend failed."""

    def __init__(self, tool: str, message: str, *, arg: str | None = None) -> None:
        self.tool = tool
        self.arg = arg
        where = f"tool {tool!r}" + (f" argument {arg!r}" if arg else "")
        super().__init__(message, where=where)
