"""Where values live: leaves of tool outputs, places a value can be referenced or copied
from, and how a goal's value splits into attacker text and private pieces.

Everything here is pure and generic (JSON data in, paths and pieces out); the worlds
(`agentdojo.py`, `inbox.py`) decide what is probed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from plangate.execute.values import copied_from
from plangate.plan.model import PATH, Lit
from plangate.review.origins import normalise, occurs_in

Json = dict[str, Any]
Path = tuple[str | int, ...]

_PATH_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")
_PATH_RE = re.compile(PATH)


def leaves(value: Any, path: Path = (), depth: int = 0) -> Iterator[tuple[Path, Any]]:
    """Every (path, leaf) of JSON data, and every (path, subtree): a reference may take a
    whole item as well as one field."""
    if depth > 12:
        return
    if isinstance(value, Mapping):
        yield path, value
        for key, item in value.items():
            yield from leaves(item, (*path, str(key)), depth + 1)
    elif isinstance(value, list):
        yield path, value
        for n, item in enumerate(value):
            yield from leaves(item, (*path, n), depth + 1)
    else:
        yield path, value


def path_arg(path: Path) -> str | list[str | int]:
    """A plan `path`: dotted when every segment allows it, else the list form."""
    if all(isinstance(p, int) or _PATH_SEGMENT.match(str(p)) for p in path):
        dotted = ".".join(str(p) for p in path)
        if _PATH_RE.match(dotted):
            return dotted
    return list(path)


def same_value(a: Any, b: Any) -> bool:
    """Equal as JSON values, numbers compared by value (not bools)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(type(a) is type(b) and a == b)


def find_paths(output: Any, value: Any, limit: int = 3) -> list[Path]:
    """Paths in `output` whose value equals `value` (shortest first)."""
    found = [p for p, leaf in leaves(output) if same_value(leaf, value)]
    return sorted(found, key=lambda p: (len(p), [str(s) for s in p]))[:limit]


def copyable(value: Any, output: Any) -> bool:
    """Whether a `copy` extraction may return `value` out of `output` (the executor's rule)."""
    return bool(value not in ("", None)) and copied_from(value, output)


def claim_holds(value: Any, text: str) -> bool:
    """Whether a literal of `value` claiming to come from `text` passes the origin check."""
    if not text:
        return False
    return occurs_in(Lit(literal=value, origin="instruction"), normalise(text))


def parses_as(text: str, kind: str) -> bool:
    """Whether `text` is an ISO `day` (YYYY-MM-DD exactly) or any ISO `time`."""
    import datetime as dt

    parse = dt.date.fromisoformat if kind == "day" else dt.datetime.fromisoformat
    try:
        parse(text)
    except ValueError:
        return False
    return kind != "day" or len(text) == 10


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# ---------------------------------------------------------------------------- pieces

_TOKEN = re.compile(r"[\w@+\-.]+")
#: Words that occur in any text: never a private piece on their own.
_COMMON = frozenset({
    "about", "after", "again", "also", "because", "been", "before", "being", "between", "both", "could",
    "does", "down", "each", "every", "from", "have", "here", "into", "just", "like", "made", "make", "more",
    "most", "much", "must", "only", "other", "over", "same", "should", "some", "such", "than", "that",
    "their", "them", "then", "there", "these", "they", "this", "those", "through", "under", "very", "want",
    "were", "what", "when", "where", "which", "while", "will", "with", "would", "your", "yours"
})


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of a goal value: attacker text (`private` False) or data the attacker must
    take from the owner's data (`private` True)."""

    text: str
    private: bool


def split_value(value: str, find: Any, is_attacker: Any, max_words: int = 40) -> list[Piece] | None:
    """Split `value` into attacker text and private pieces: the longest runs of tokens that
    `find(text)` finds in the owner's data (it returns them as the data spells them) and
    `is_attacker(text)` does not find in the attacker's own text. None when no private
    piece is found (the whole value is the attacker's, or unknown)."""
    tokens = [(m.start(), m.end()) for m in _TOKEN.finditer(value)]
    pieces: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        best = None
        for j in range(min(len(tokens), i + max_words) - 1, i - 1, -1):
            start, end = tokens[i][0], tokens[j][1]
            text = value[start:end].rstrip(".,;:-")
            if len(text) < 4 or text.casefold() in _COMMON or is_attacker(text):
                continue
            found = find(text)
            if found is not None:
                best = (start, start + len(text), j, found)
                break
        if best is None:
            i += 1
            continue
        pieces.append((best[0], best[1], best[3]))
        i = best[2] + 1
    if not pieces:
        return None
    out: list[Piece] = []
    pos = 0
    for start, end, found in pieces:
        if start > pos:
            out.append(Piece(value[pos:start], False))
        out.append(Piece(found, True))
        pos = end
    if pos < len(value):
        out.append(Piece(value[pos:], False))
    return out


@dataclass(frozen=True, slots=True)
class Source:
    """A place data can be read from in a plan: a call the route adds (`call`), an output
    of the user's own plan (`step`), or the trigger."""

    desc: str
    output: Any
    call: tuple[str, Json] | None = None   # (tool, args as plan Arg forms)
    step: str | None = None                # an existing step id (user plan, trigger)
    private: bool = True
    #: The output of the goal's own target call number `after_call`: usable only by the
    #: needs of later target calls.
    after_call: int | None = None

    def usable_by(self, call: int | None) -> bool:
        return self.after_call is None or (call is not None and call > self.after_call)


@dataclass(slots=True)
class Index:
    """The sources of one context, and the lookups recipes use (memoised: the recipes ask
    the same questions many times)."""

    sources: list[Source]
    _memo: dict[tuple[str, str, int | None], Any] = field(default_factory=dict)

    def _key(self, kind: str, value: Any, call: int | None) -> tuple[str, str, int | None]:
        return kind, f"{type(value).__name__}:{as_text(value)}", call

    def ref_locations(self, value: Any, limit: int = 3, call: int | None = None) -> list[tuple[Source, Path]]:
        key = self._key("ref", value, call)
        if key not in self._memo:
            out: list[tuple[Source, Path]] = []
            for src in self.sources:
                if src.usable_by(call):
                    paths = find_paths(src.output, value, limit=1)
                    if paths:
                        out.append((src, paths[0]))
            self._memo[key] = out
        found: list[tuple[Source, Path]] = self._memo[key]
        return found[:limit]

    def copy_locations(self, value: Any, limit: int = 3, call: int | None = None) -> list[Source]:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            return []
        key = self._key("copy", value, call)
        if key not in self._memo:
            self._memo[key] = [s for s in self.sources if s.usable_by(call) and copyable(value, s.output)]
        found: list[Source] = self._memo[key]
        return found[:limit]

    def contains(self, text: str) -> bool:
        return self.find_text(text) is not None

    def find_text(self, text: str) -> str | None:
        """`text` as it stands in the data (whole words, any letter case), or None."""
        key = self._key("text", text, None)
        if key not in self._memo:
            self._memo[key] = self._find_text(text)
        found: str | None = self._memo[key]
        return found

    def _blob(self) -> str:
        key = ("blob", "", None)
        if key not in self._memo:
            self._memo[key] = "\n".join(as_text(s.output) for s in self.sources if s.private).casefold()
        blob: str = self._memo[key]
        return blob

    def _find_text(self, text: str) -> str | None:
        if text.casefold() not in self._blob():
            return None
        for s in self.sources:
            if not s.private:
                continue
            if copyable(text, s.output) or find_paths(s.output, text, 1):
                return text
        pattern = re.compile(r"(?<![\w@.+\-/])" + re.escape(text) + r"(?![\w@])", re.IGNORECASE)
        for s in self.sources:
            if not s.private:
                continue
            for _path, leaf in leaves(s.output):
                if isinstance(leaf, str):
                    m = pattern.search(leaf)
                    if m and copyable(m.group(0), s.output):
                        return m.group(0)
        return None

    def first_private(self, call: int | None = None) -> Source | None:
        usable = [s for s in self.sources if s.usable_by(call)]
        return next((s for s in usable if s.private), usable[0] if usable else None)


def flatten_values(value: Any) -> list[Any]:
    """The scalar values a list argument carries (a list's items; anything else itself)."""
    if isinstance(value, list):
        return [v for v in value if not isinstance(v, list | dict)]
    return [value]


def text_of(sources: Sequence[Source]) -> str:
    return "\n".join(as_text(s.output) for s in sources)
