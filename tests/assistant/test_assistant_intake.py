"""Trigger intake: only the receiving server's own Authentication-Results count, and
spoofed senders fall to the lowest class of the example deployment."""

from __future__ import annotations

from pathlib import Path

import pytest

from plangate.deployments.inbox import (
    trigger_from_chat,
    trigger_from_email,
    trigger_from_schedule,
    trigger_from_webhook,
    webhook_signature,
)
from plangate.deployments.inbox.intake import parse_authentication_results
from plangate.policy.loader import load_policy
from plangate.review.reviewer import deployment_of
from plangate.trigger import Deployment, Evidence, classify

EXAMPLE_POLICY = Path(__file__).resolve().parents[2] / "examples" / "assistant-policy.yaml"
TRUSTED = ["mx.home.example"]
RECEIVED = "Received: from sender.example by mx.home.example with ESMTPS id 1; Tue, 24 Nov 2026 09:00:00 +0000\r\n"


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return deployment_of(load_policy(EXAMPLE_POLICY))


def email(sender: str, *, top: str = "", inner: str = "", body: str = "Can we meet on 2026-12-02?",
          extra: str = "") -> bytes:
    """A message as delivered: `top` is what the receiving server prepended above its
    Received header; `inner` was in the message as sent."""
    return (f"{top}{RECEIVED}{inner}From: {sender}\r\nTo: owner@home.example\r\n"
            f"Cc: assistant@home.example\r\nSubject: Meeting\r\nMessage-ID: <m1@sender.example>\r\n"
            f"Date: Tue, 24 Nov 2026 09:00:00 +0000\r\n{extra}\r\n{body}\r\n").encode()


def ar(authserv: str, results: str) -> str:
    return f"Authentication-Results: {authserv};\r\n {results}\r\n"


def cls(raw: bytes, deployment: Deployment) -> str:
    return classify(trigger_from_email(raw, trusted_authserv_ids=TRUSTED), deployment).trust_class


def test_receiving_server_results_authenticate_the_owner(deployment: Deployment) -> None:
    """A DMARC pass written by the trusted receiving server makes the owner the owner."""
    raw = email("Owner <owner@home.example>",
                top=ar("mx.home.example", "dmarc=pass header.from=home.example"))
    trigger = trigger_from_email(raw, trusted_authserv_ids=TRUSTED)
    assert trigger.evidence == Evidence(dmarc="pass")
    assert trigger.principal == "Owner <owner@home.example>"
    assert trigger.payload.startswith("Meeting\n\nCan we meet")
    assert trigger.meta == {"subject": "Meeting", "message_id": "m1@sender.example",
                            "to": "owner@home.example", "cc": "assistant@home.example",
                            "date": "Tue, 24 Nov 2026 09:00:00 +0000"}
    assert cls(raw, deployment) == "owner"


def test_forged_results_inside_the_message_count_as_unverified(deployment: Deployment) -> None:
    """Authentication-Results below the receiving server's Received header were written
    by the sender: ignored, even with the trusted authserv-id."""
    forged = ar("mx.home.example", "dmarc=pass header.from=home.example; spf=pass "
                "smtp.mailfrom=owner@home.example; dkim=pass header.d=home.example")
    raw = email("owner@home.example", inner=forged)
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence == Evidence()
    assert cls(raw, deployment) == "unknown"
    # The real verdict above it wins, and the forged pass below changes nothing.
    raw = email("owner@home.example", top=ar("mx.home.example", "dmarc=fail header.from=home.example"),
                inner=forged)
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence.dmarc == "fail"
    assert cls(raw, deployment) == "unknown"


def test_results_from_an_untrusted_authserv_id_are_ignored(deployment: Deployment) -> None:
    """Even at the top, a header from a server the deployment does not name is ignored."""
    raw = email("owner@home.example", top=ar("mx.evil.example", "dmarc=pass header.from=home.example"))
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence == Evidence()
    assert cls(raw, deployment) == "unknown"


def test_a_message_that_skipped_the_receiving_server_has_no_evidence() -> None:
    """No Received header: nothing proves the results came from our server."""
    raw = (b"Authentication-Results: mx.home.example; dmarc=pass\r\nFrom: owner@home.example\r\n"
           b"Subject: x\r\n\r\nhi\r\n")
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence == Evidence()
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED,
                              received_hops=0).evidence.dmarc == "pass"


def test_unaligned_spf_and_dkim_passes_do_not_vouch(deployment: Deployment) -> None:
    """An attacker's own valid SPF and DKIM (evil.example) do not vouch for From bob@."""
    top = ar("mx.home.example", "spf=pass smtp.mailfrom=x@evil.example; dkim=pass header.d=evil.example")
    raw = email("bob@partner.example", top=top)
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence == Evidence()
    assert cls(raw, deployment) == "unknown"
    aligned = ar("mx.home.example", "spf=pass smtp.mailfrom=bob@mail.partner.example; "
                 "dkim=pass header.d=partner.example")
    assert cls(email("bob@partner.example", top=aligned), deployment) == "contact"


def test_display_name_spoof_falls_to_the_lowest_class(deployment: Deployment) -> None:
    """A display name naming the owner, on an attacker's authenticated address."""
    raw = email('"owner@home.example" <attacker@evil.example>',
                top=ar("mx.home.example", "dmarc=pass header.from=evil.example"))
    trigger = trigger_from_email(raw, trusted_authserv_ids=TRUSTED)
    assert trigger.evidence.dmarc == "pass"
    result = classify(trigger, deployment)
    assert result.trust_class == "unknown"
    assert any("display name" in r for r in result.reasons)


def test_homoglyph_sender_falls_to_the_lowest_class(deployment: Deployment) -> None:
    """owner@home.example with a Cyrillic o (U+043E), DMARC-valid for its own domain."""
    raw = email("Owner <owner@h\u043eme.example>",
                top=ar("mx.home.example", "dmarc=pass header.from=h\u043eme.example"))
    result = classify(trigger_from_email(raw, trusted_authserv_ids=TRUSTED), deployment)
    assert result.trust_class == "unknown"
    assert any("lookalike" in r for r in result.reasons)


def test_two_from_headers_give_no_evidence() -> None:
    """Several From headers: which one the DMARC verdict covered is unknowable."""
    raw = email("owner@home.example", top=ar("mx.home.example", "dmarc=pass"),
                extra="From: attacker@evil.example\r\n")
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).evidence == Evidence()


def test_rfc8601_parsing_handles_comments_versions_and_quotes() -> None:
    """Comments are dropped, versions skipped, properties kept, `none` understood."""
    parsed = parse_authentication_results(
        'mx.home.example 1; dkim=pass (good; signature) header.d=home.example header.s="s;1";'
        " spf/1=softfail (no) smtp.mailfrom=a@b.example")
    assert parsed is not None and parsed.authserv_id == "mx.home.example"
    assert [(r.method, r.result) for r in parsed.results] == [("dkim", "pass"), ("spf", "softfail")]
    assert parsed.results[0].properties["header.d"] == "home.example"
    empty = parse_authentication_results("mx.home.example; none")
    assert empty is not None and empty.results == ()
    assert parse_authentication_results("mx.home.example; garbage here") is None


def test_html_only_body_is_stripped() -> None:
    """An HTML-only body reaches the payload as text without scripts or styles."""
    raw = email("carol@x.example", body="<html><script>steal()</script><p>Hi &amp; bye</p></html>",
                extra="Content-Type: text/html; charset=utf-8\r\n")
    assert trigger_from_email(raw, trusted_authserv_ids=TRUSTED).payload == "Meeting\n\nHi & bye"


def test_chat_pairing(deployment: Deployment) -> None:
    """Only a paired chat id carries `paired` evidence."""
    assert trigger_from_chat("tg:42", "hi", ["tg:42"]).evidence.paired
    stranger = trigger_from_chat("tg:43", "hi", ["tg:42"])
    assert not stranger.evidence.paired and not stranger.authenticated()


def test_webhook_signature() -> None:
    """A correct HMAC-SHA256 signs the trigger; a wrong one, or no secret, does not."""
    body, secret = b'{"event": "order"}', b"s3cret"
    good = trigger_from_webhook(body, webhook_signature(body, secret), secret)
    assert good.evidence.signed and good.authenticated() and good.payload == body.decode()
    for sig in ["sha256=" + "0" * 64, "", webhook_signature(body + b" ", secret), "garbage"]:
        bad = trigger_from_webhook(body, sig, secret)
        assert not bad.evidence.signed and not bad.authenticated()
    assert not trigger_from_webhook(body, webhook_signature(body, b""), b"").evidence.signed


def test_schedule_is_the_owner_with_trusted_instruction(deployment: Deployment) -> None:
    """A scheduled run carries the instruction as trusted text and classifies as owner."""
    trigger = trigger_from_schedule("daily-digest", "Summarise today's inbox for me.")
    assert trigger.channel == "cron" and trigger.payload == ""
    assert classify(trigger, deployment).trust_class == "owner"
