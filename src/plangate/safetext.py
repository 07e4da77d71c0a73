"""Approver-safe text: what a person reads shows every character it contains.

Values that reach a terminal, an HTML report or a note to the owner may come from a
stranger: a display name, a reference path, a literal, a tool's output. Printed raw, an
ANSI escape can recolour or erase lines, a carriage return or newline can forge a
`verdict: approve` line, a bidi override can make `evil.example` read as
`elpmaxe.live`, and a 10,000-character value can push the real content off screen.

`visible()` makes such characters show instead of act, and bounds the length:

* C0 and C1 controls, DEL: `\\n`, `\\r`, `\\t`, `\\x1b` ...;
* bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C), zero-width and other
  format characters, line and paragraph separators, and a few invisible letters
  (Hangul fillers): `\\u202e` ...;
* surrogates, private-use and unassigned code points likewise;
* optionally (`ascii=True`) every other non-ASCII character, so a homoglyph (a
  Cyrillic o, U+043E, in `home.example`) shows as `\\u043e`.

`quote()` is the same inside quotes (the quote, `«` and `»` escaped too, so a value
cannot close its own quotes or a `marked()` span); `marked()` wraps text in `«...»`
with the source it came from, for values an attacker may have written.

A leaf module: it imports nothing from plangate, so every stage may use it. Pinned by
`tests/core/test_safetext.py`.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

ELLIPSIS = "…"
DEFAULT_LIMIT = 200

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Letters that render as nothing: used to pad or hide text; Unicode calls them Lo/So.
_INVISIBLE = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})
# Categories that never belong in text a person reads: controls, format characters
# (bidi, zero-width, soft hyphen), line/paragraph separators, surrogates, private use,
# unassigned.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _escape_char(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _shows(ch: str, *, ascii: bool, newlines: bool) -> bool:
    """Whether `ch` may be printed as itself."""
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return True
    if ch == "\n":
        return newlines
    if ascii or code < 0xA0 or code in _INVISIBLE:
        return False
    return unicodedata.category(ch) not in _HIDDEN_CATEGORIES


def _render(text: str, limit: int | None, *, ascii: bool, newlines: bool,
            specials: str = "") -> tuple[str, bool]:
    """The escaped text cut to at most `limit` characters (escapes are never split), and
    whether anything was cut."""
    if text.isascii() and text.isprintable() and not _has_special(text, specials):
        # Printable ASCII with no special: every character shows as itself, one piece each
        # (what the loop below computes, without the loop; tests/core/test_perf_paths.py).
        if limit is None or len(text) <= max(limit, 0):
            return text, False
        return text[:max(limit, 0)], True
    return _render_each(text, limit, ascii=ascii, newlines=newlines, specials=specials)


def _has_special(text: str, specials: str) -> bool:
    """Whether an ASCII `text` holds a special (or a backslash, which `'` makes one)."""
    if specials == "'«»":  # quote(): « and » are not ASCII
        return "'" in text or "\\" in text
    if not specials or specials == "«»":
        return False
    return any(ch in text for ch in specials) or ("'" in specials and "\\" in text)


def _render_each(text: str, limit: int | None, *, ascii: bool, newlines: bool,
                 specials: str = "") -> tuple[str, bool]:
    out: list[str] = []
    used = 0
    for ch in text:
        if ch in specials or (ch == "\\" and "'" in specials):
            piece = "\\" + ch if ch in "\\'" else _escape_char(ch)
        else:
            piece = ch if _shows(ch, ascii=ascii, newlines=newlines) else _escape_char(ch)
        if limit is not None and used + len(piece) > limit:
            return "".join(out), True
        out.append(piece)
        used += len(piece)
    return "".join(out), False


def visible(value: Any, limit: int | None = DEFAULT_LIMIT, *, ascii: bool = False,
            newlines: bool = False) -> str:
    """`value` as text with every hidden or acting character escaped, at most `limit`
    characters long plus an ellipsis when cut. `newlines=True` keeps `\\n` (for bodies of
    notes that are meant to have lines); every other control still shows escaped.
    Idempotent on its own output."""
    text = value if isinstance(value, str) else str(value)
    shown, cut = _render(text, None if limit is None else max(limit - 1, 0),
                         ascii=ascii, newlines=newlines)
    if cut:
        return shown + ELLIPSIS
    if limit is not None and len(shown) > limit:  # only when limit < 1
        return ELLIPSIS
    return shown


def quote(value: Any, limit: int | None = 60, *, ascii: bool = False) -> str:
    """A value as an approver reads it: a string in single quotes, escaped as `visible()`
    does plus the backslash, the quote and `«»`; anything else as JSON. When cut, the
    ellipsis and the full length follow: `'Dear…' (10000 chars)`."""
    if not isinstance(value, str):
        try:
            text = json.dumps(value, ensure_ascii=ascii, default=repr)
        except (ValueError, RecursionError):  # circular or too deep: a name is enough
            text = f"<{type(value).__name__}>"
        shown, cut = _render(text, limit, ascii=ascii, newlines=False, specials="«»")
        return f"{shown}{ELLIPSIS} ({len(text)} chars)" if cut else shown
    if value.isascii() and value.isprintable() and "'" not in value and "\\" not in value:
        # Shows as itself (`_render`'s fast path, inlined: the summary quotes every value;
        # equal to the general loop, tests/core/test_summary_speed.py).
        if limit is None or len(value) <= max(limit, 0):
            return f"'{value}'"
        return f"'{value[:max(limit, 0)]}'{ELLIPSIS} ({len(value)} chars)"
    shown, cut = _render(value, limit, ascii=ascii, newlines=False, specials="'«»")
    return f"'{shown}'{ELLIPSIS} ({len(value)} chars)" if cut else f"'{shown}'"


def pieces(text: str, width: int, *, ascii: bool = False) -> list[str]:
    """`text` cut into consecutive pieces that `quote(piece, width)` shows whole: escapes
    count at their shown length and are never split, so no piece loses characters (an
    emoji shows as 10). `width` is at least 10, the longest escape."""
    if text.isascii() and text.isprintable() and "'" not in text and "\\" not in text:
        return [text[i:i + width] for i in range(0, len(text), width)] or [""]
    out: list[str] = []
    start = used = 0
    for i, ch in enumerate(text):
        size = len(_render(ch, None, ascii=ascii, newlines=False, specials="'«»")[0])
        if used + size > width and i > start:
            out.append(text[start:i])
            start, used = i, 0
        used += size
    out.append(text[start:])
    return out


def marked(text: str, source: str) -> str:
    """Text an attacker may have written, marked with where it came from:
    `«payload from carol@new.example: 'Dear owner...'»`. `text` is already rendered
    (`quote()`); the source is escaped here."""
    return f"«{visible(source, 120)}: {text}»"


def visible_lines(text: str, *, width: int | None = 400, max_lines: int | None = 200) -> list[str]:
    """A multi-line text (a summary) as lines that are each safe and bounded. Only `\\n`
    separates lines; a `\\r` or U+2028 inside a line shows escaped."""
    lines = text.split("\n")
    out = [visible(line, width) for line in (lines if max_lines is None else lines[:max_lines])]
    if max_lines is not None and len(lines) > max_lines:
        out.append(f"{ELLIPSIS} ({len(lines) - max_lines} more lines)")
    return out


__all__ = ["DEFAULT_LIMIT", "ELLIPSIS", "marked", "pieces", "quote", "visible", "visible_lines"]
