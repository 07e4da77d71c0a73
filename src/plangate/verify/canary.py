"""Canaries: unique, recognisable values that say where a piece of data came from.

Every argument of a call under test and every readable stored item in its scratch
environment gets its own canary. Anything that later turns up in an output, in stored
state or in an outbound message is traced back to where it was planted, by the canary's
text alone. Canaries are typed so that a tool accepts them: a word for free text, an
address for a recipient, a number that still carries a unique digit string, a date.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

OriginKind = Literal["arg", "resource"]

#: Text canaries: a fixed prefix and ten lowercase letters and digits. Lowercase, so a
#: tool that case-folds, URL-quotes or slugs text still shows them intact.
_PREFIX = "cnry"
_TEXT = re.compile(_PREFIX + r"[a-z0-9]{10}", re.IGNORECASE)
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
CANARY_DOMAIN = "canary.example"


@dataclass(frozen=True, slots=True, order=True)
class Origin:
    """Where a canary was planted: argument `name` of the call under test, or part
    `part` (subject, body, ...) of stored resource `name` (`mail:<id>`, `workspace:a.txt`)."""

    kind: OriginKind
    name: str
    part: str = ""

    def __str__(self) -> str:
        if self.kind == "arg":
            return f"argument {self.name!r}"
        return f"{self.name}" + (f" ({self.part})" if self.part else "")


class Canaries:
    """Mints canaries and finds them again. Seeded, so a run is reproducible."""

    def __init__(self, seed: str | int = 0) -> None:
        self._rng = random.Random(seed)
        self._texts: dict[str, Origin] = {}
        self._numbers: dict[str, Origin] = {}  # digit strings: integers, amounts, dates

    # ---- minting ----------------------------------------------------------------------
    def text(self, origin: Origin) -> str:
        """A word nothing else contains (`cnry` and ten letters/digits)."""
        while True:
            token = _PREFIX + "".join(self._rng.choice(_ALPHABET) for _ in range(10))
            if token not in self._texts:
                self._texts[token] = origin
                return token

    def email(self, origin: Origin, domain: str = CANARY_DOMAIN) -> str:
        """A valid address whose local part is a text canary."""
        return f"{self.text(origin)}@{domain}"

    def integer(self, origin: Origin, digits: int = 7) -> int:
        """A positive integer of `digits` digits (at least 6), found only as a whole number."""
        digits = max(digits, 6)
        while True:
            value = self._rng.randrange(10 ** (digits - 1), 10**digits)
            if str(value) not in self._numbers:
                self._numbers[str(value)] = origin
                return value

    def amount(self, origin: Origin, low: int = 100, high: int = 999) -> float:
        """A positive amount with two decimals; its integer part lies in [low, high] and the
        whole `NNN.NN` string is unique (tools that round to cents keep it)."""
        while True:
            cents = self._rng.randrange(1, 100)
            if cents % 10 == 0:
                continue  # 12.50 prints as 12.5: keep two significant decimals
            value = f"{self._rng.randrange(low, high + 1)}.{cents:02d}"
            if value not in self._numbers:
                self._numbers[value] = origin
                return float(value)

    def day(self, origin: Origin, start: date = date(2031, 1, 1), span: int = 3650) -> str:
        """A `YYYY-MM-DD` day no other canary of this run uses (weaker: any output that
        prints this day counts, so use it only where a tool needs a day)."""
        while True:
            value = (start + timedelta(days=self._rng.randrange(span))).isoformat()
            if value not in self._numbers:
                self._numbers[value] = origin
                return value

    def register(self, value: str, origin: Origin) -> str:
        """Trace an adapter-chosen value (an id the environment dictates) to `origin`."""
        target = self._texts if _TEXT.fullmatch(value) else self._numbers
        target[value.lower() if target is self._texts else value] = origin
        return value

    # ---- finding ----------------------------------------------------------------------
    def find(self, value: Any) -> set[Origin]:
        """Origins of every canary in `value` (any JSON-like data, or text)."""
        text = value if isinstance(value, str) else as_text(value)
        found = {self._texts[t.lower()] for t in _TEXT.findall(text) if t.lower() in self._texts}
        for number, origin in self._numbers.items():
            if number in text and re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", text):
                found.add(origin)
        return found

    def origins(self) -> list[Origin]:
        return sorted({*self._texts.values(), *self._numbers.values()})


def as_text(value: Any) -> str:
    """One searchable text for any output, stored item or message."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def all_text(values: Iterable[Any]) -> str:
    return "\n".join(as_text(v) for v in values)
