"""Who wrote which part of a message, as the inbox's intake cuts it: mail bodies by the
mail conventions of `plangate.quoting` (`split_text`), webhook JSON by the paths the
deployment names as third-party text (`json_segments`), and payloads capped to what a
trigger holds (`cap`).

    segments = split_text(body)        # () when it is all the sender's own words

Pieces are consecutive and join back to exactly the text they were cut from, so every
character of a payload is in exactly one segment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from plangate.quoting import author_in, lines_of, split_pieces
from plangate.trigger import Segment, SegmentKind, assemble

__all__ = ["assemble", "author_in", "cap", "json_segments", "lines_of", "split_text"]


def split_text(text: str) -> tuple[Segment, ...]:
    """The sender's own words and the quoted or forwarded parts after them; `()` when the
    text has no such part (all of it is the sender's own words). `plangate.quoting`."""
    return assemble(split_pieces(text))


def cap(segments: Sequence[Segment], limit: int) -> tuple[Segment, ...]:
    """The segments cut to `limit` characters in all (a payload's maximum)."""
    out: list[Segment] = []
    left = limit
    for seg in segments:
        if left <= 0:
            break
        out.append(seg if len(seg.text) <= left else seg.model_copy(update={"text": seg.text[:left]}))
        left -= len(seg.text)
    return tuple(out)


# ---- webhooks -------------------------------------------------------------------------

_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")
_WS = re.compile(r"[ \t\r\n]*")
_MAX_DEPTH = 64


def json_segments(text: str, paths: Sequence[str]) -> tuple[Segment, ...]:
    """A JSON body whose values at `paths` (dot-separated keys and indexes, `*` for any)
    are third-party text: those values are `embedded` segments, the rest is the sender's.
    A body that is not JSON is all `embedded`: the deployment said it carries
    someone else's text and where cannot be told."""
    patterns = [tuple(p.split(".")) for p in paths]
    spans: list[tuple[int, int]] = []
    try:
        if _skip(text, _json_value(text, _skip(text, 0), (), patterns, spans, 0)) != len(text):
            raise ValueError("trailing data")
    except (ValueError, IndexError, RecursionError):
        return assemble([("embedded", "", text)])
    pieces: list[tuple[SegmentKind, str, str]] = []
    at = 0
    for start, stop in sorted(spans):
        if start < at:  # inside a span already taken
            continue
        pieces += [("own", "", text[at:start]), ("embedded", "", text[start:stop])]
        at = stop
    pieces.append(("own", "", text[at:]))
    return assemble(pieces)


def _json_value(text: str, i: int, path: tuple[str, ...], patterns: list[tuple[str, ...]],
                spans: list[tuple[int, int]], depth: int) -> int:
    """Scan one JSON value at `i`; record its span if its path matches; return its end."""
    if depth > _MAX_DEPTH:
        raise ValueError("nested too deeply")
    start = i
    char = text[i]
    if char in "{[":
        close = "}" if char == "{" else "]"
        i = _skip(text, i + 1)
        index = 0
        while text[i] != close:
            if char == "{":
                if text[i] != '"':
                    raise ValueError("expected a key")
                key, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
                i = _skip(text, i)
                if text[i] != ":":
                    raise ValueError("expected ':'")
                i = _skip(text, i + 1)
            else:
                key = str(index)
                index += 1
            i = _skip(text, _json_value(text, i, (*path, key), patterns, spans, depth + 1))
            if text[i] == ",":
                i = _skip(text, i + 1)
            elif text[i] != close:
                raise ValueError("expected ',' or a closing bracket")
        i += 1
    elif char == '"':
        _, i = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
    else:
        found = _SCALAR.match(text, i)
        if not found:
            raise ValueError("not JSON")
        i = found.end()
    if any(len(p) == len(path) and all(a in ("*", b) for a, b in zip(p, path, strict=True))
           for p in patterns):
        spans.append((start, i))
    return i


def _skip(text: str, i: int) -> int:
    found = _WS.match(text, i)
    return found.end() if found else i
