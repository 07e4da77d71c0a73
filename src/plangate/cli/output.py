"""What the command line prints, and the exit codes scripts can rely on.

Text goes to stdout for the result and stderr for errors and progress. Text mode prints
lines composed from values already made safe (`plangate.safetext`); JSON mode escapes
every non-ASCII character, so neither can carry a raw control or bidi character.
"""

from __future__ import annotations

import contextlib
import json
import sys
from enum import IntEnum
from typing import Any

from plangate.safetext import visible


class Exit(IntEnum):
    """Exit codes, documented in `plangate --help` and docs/cli.md."""

    OK = 0            # approved, done
    FAILED = 1        # a check failed: tampered log, --strict warnings, a tool failed, an attack landed
    USAGE = 2         # usage or input error; nothing was reviewed or run
    DENY = 3          # denied at review, or blocked at run time
    ESCALATE = 4      # waiting for the owner
    INTERNAL = 70     # a bug (EX_SOFTWARE)
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # 128 + SIGPIPE, as for any Unix tool whose reader went away


EXIT_FOR_VERDICT = {"approve": Exit.OK, "deny": Exit.DENY, "escalate": Exit.ESCALATE}


def say(*lines: str) -> None:
    """Print lines that were composed from safe parts."""
    for line in lines:
        print(line)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=True, default=str))


def error_line(message: str) -> str:
    """Any error as one safe line: a multi-line message (several validation errors) is
    joined with `; `."""
    parts = dict.fromkeys(part.strip() for part in str(message).splitlines() if part.strip())
    joined = "; ".join(parts)  # the same problem found twice (once per tool) is said once
    return visible(joined or "unknown error", 2000)


def print_error(message: str, *, prefix: str = "plangate: error: ") -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr closed: the exit code still says it
        print(prefix + error_line(message), file=sys.stderr)


__all__ = ["EXIT_FOR_VERDICT", "Exit", "error_line", "print_error", "print_json", "say"]
