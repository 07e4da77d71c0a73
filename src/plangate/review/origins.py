"""Verifying literal origins: a literal that claims to come from a text must occur in it.

A hijacked planner may launder the attacker's values by labelling them as the owner's
instruction; this check turns that lie into a deny. Matching is on normalised text
(NFKC, case-folded, whitespace collapsed); numbers match any of their usual spellings.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from plangate.plan.model import Lit


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _number_forms(value: int | float) -> set[str]:
    forms = {repr(value), str(value)}
    if isinstance(value, float) and value.is_integer():
        forms.add(str(int(value)))
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        forms.add(f"{int(value):,}")
    else:
        forms.add(f"{value:,.2f}".rstrip("0").rstrip("."))
    forms.add(f"{value:.2f}")   # money: "10.00"
    forms.add(f"{value:,.2f}")  # "1,500.00"
    return forms


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield k  # keys are text a literal carries too
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def occurs_in(lit: Lit, normalised_text: str) -> bool:
    """Whether every leaf of the literal occurs in the (already normalised) text."""
    for leaf in _leaves(lit.literal):
        if leaf is None or isinstance(leaf, bool):
            continue  # no room for a payload in a bool or null
        if isinstance(leaf, int | float):
            if not any(_bounded_number(form, normalised_text) for form in _number_forms(leaf)):
                return False
            continue
        if not text_occurs(str(leaf), normalised_text):
            return False
    return True


# A claimed piece must stand as whole words in the text: "b@partner.example" does not
# occur in "bob@partner.example", nor "r.example", nor "invoice" in "invoices". On the
# right a dot may follow (the text is case-folded, so "www.x.com.They" cannot be told
# from a longer host name; a cut-off suffix names a parent domain at worst).
_LEFT = r"(?<![\w@.+\-/])"
_RIGHT = r"(?![\w@])"


def text_occurs(value: str, normalised_text: str) -> bool:
    needle = normalise(value)
    if not needle:
        return True
    return re.search(_LEFT + re.escape(needle) + _RIGHT, normalised_text) is not None


def _bounded_number(form: str, text: str) -> bool:
    # "10" must not be found inside "100", nor "500" inside "1,500" or "1.500".
    return re.search(rf"(?<![\d.,]){re.escape(form)}(?!\d|[.,]\d)", text) is not None
