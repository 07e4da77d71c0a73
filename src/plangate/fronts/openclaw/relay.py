"""A mail relay's side of the OpenClaw front: one delivered email (RFC 5322 bytes) to the
`message` of a `POST /hooks/agent` request, with the signed plangate envelope.

Who sent it and what the receiving side verified come from plangate's own mail intake
(`trigger_from_email`: the From address, the Authentication-Results your own servers
wrote, the text split into the sender's words and what they quote, forward or attach), so
an email reaches the OpenClaw plugin with the same provenance it would have reaching
plangate's own inbox assistant."""

from __future__ import annotations

from plangate.deployments.inbox.intake import trigger_from_email
from plangate.fronts.openclaw.envelope import hook_message


def relay_email(raw: bytes, *, key: bytes, trusted_authserv_ids: list[str], received_hops: int = 1,
                now: float | None = None) -> str:
    """The webhook message for `raw`. `trusted_authserv_ids`: the authserv-ids of the
    servers that received the mail for you (their Authentication-Results count)."""
    trigger = trigger_from_email(raw, trusted_authserv_ids=trusted_authserv_ids, received_hops=received_hops)
    ev = trigger.evidence
    return hook_message(sender=trigger.principal, subject=trigger.meta.get("subject", ""), body=trigger.payload,
                        message_id=trigger.meta.get("message_id", ""),
                        evidence={"dmarc": ev.dmarc, "spf": ev.spf, "dkim": ev.dkim}, key=key, now=now,
                        segments=[(s.kind, s.author, s.text) for s in trigger.segments] or None)


__all__ = ["relay_email"]
