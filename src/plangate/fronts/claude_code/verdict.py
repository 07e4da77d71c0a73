"""A hook decision as a value. No imports: the watchdog and the entry point need it before
anything heavy is loaded (`entry.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: Literal["allow", "deny", "none"]   # "none": a post event, nothing to decide
    reason: str


def plain(text: str) -> str:
    """`text` as one line a terminal shows as written: whitespace runs become one space, and
    control and format characters (ESC sequences, bidi overrides, zero-width marks) are
    written as `\\uXXXX`. Claude Code shows a reason to the user and to the model; a file
    name or an error text in it may be anyone's."""
    out = []
    for ch in " ".join(text.split()):
        code = ord(ch)
        if code < 0x20 or 0x7F <= code < 0xA0 or code in _FORMAT:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


_FORMAT = frozenset([0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029, 0xFEFF,
                     *range(0x202A, 0x202F), *range(0x2060, 0x2070)])


def deny(reason: str) -> Verdict:
    """A deny whose reason is one plain line of at most ~500 characters."""
    return Verdict("deny", "plangate: " + plain(reason)[:500])


def allow(reason: str) -> Verdict:
    return Verdict("allow", "plangate: " + plain(reason)[:500])


__all__ = ["Verdict", "allow", "deny", "plain"]
