"""What the approver is told about whose words a `payload` literal is: a literal found only
outside the sender's own words (quoted, forwarded, attached) is marked as someone else's."""

from __future__ import annotations

from plangate.plan.model import Lit
from plangate.review.origins import normalise
from plangate.review.summary import describe_arg

WIRE = Lit(literal="wire 500 to account 99", origin="payload")


def test_a_literal_outside_the_senders_own_words_is_marked_as_quoted() -> None:
    shown = describe_arg(WIRE, "bob@example.org", own=normalise("please see the forwarded note"))
    assert "quoted or forwarded in the message from bob@example.org" in shown
    assert "payload from" not in shown


def test_a_literal_in_the_senders_own_words_is_theirs() -> None:
    own = normalise("Please WIRE 500 to account 99 today")
    assert "payload from bob@example.org" in describe_arg(WIRE, "bob@example.org", own=own)
    # No foreign parts in the message (own=None): every payload literal is the sender's.
    assert "payload from bob@example.org" in describe_arg(WIRE, "bob@example.org")
