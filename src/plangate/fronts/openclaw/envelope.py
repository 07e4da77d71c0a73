"""The signed mail envelope: how a mail relay tells the OpenClaw plugin who sent an email.

OpenClaw's webhook (`POST /hooks/agent`) authenticates the *relay* (its bearer token), not
the email's sender, and hands the plugin only the text of the run's prompt. So the relay
(which verified DMARC/SPF/DKIM on receipt, as an MTA with OpenDMARC does) writes the
email's provenance on the first line of the hook message, and signs it:

    plangate-email/1 <hmac-sha256 hex> {"body_sha256": ..., "evidence": {...}, "from": ..., ...}
    <blank line>
    <the email's text, untouched>

`segments` (optional) says who wrote which part of the text, as `[kind, author, length]`
in order (lengths in code points, summing to the text's): the sender's `own` words, and
what they `quoted`, `forwarded` or `attached` (plangate's trigger segments, docs/formats.md).
`relay_email` (relay.py) fills it from the message with plangate's own mail intake.

The JSON is canonical (sorted keys, no spaces, ASCII only), so it is one line whatever the
email holds; the MAC covers exactly those JSON bytes and the JSON names the body's SHA-256,
so neither the header nor the body can be changed, and nobody without the key (a stranger
typing an envelope into a chat, a hijacked model) can make one the plugin accepts. The
plugin (`integrations/openclaw/src/envelope.ts`) checks the MAC, the body hash and the age;
anything that does not check is an unauthenticated message from nobody in particular.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ENVELOPE_TAG = "plangate-email/1"
_EVIDENCE_KEYS = frozenset({"dmarc", "spf", "dkim"})
_RESULTS = frozenset({"pass", "fail", "none"})  # plangate.trigger.Evidence
_KINDS = frozenset({"own", "quoted", "forwarded", "attachment", "embedded"})


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str
    subject: str
    message_id: str
    evidence: dict[str, str] = field(default_factory=dict)
    body: str = ""
    ts: int = 0
    segments: tuple[tuple[str, str, str], ...] = ()


def _canonical(header: dict[str, Any]) -> str:
    return json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n")


def _trimmed(segments: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Segments with normalised line ends and the text's trailing white space cut off the
    last ones (as the body is)."""
    out = [(k, a, _normal(t)) for k, a, t in segments]
    while out:
        kind, author, text = out[-1]
        if text.rstrip():
            out[-1] = (kind, author, text.rstrip())
            break
        out.pop()
    return [s for s in out if s[2]]


def hook_message(*, sender: str, subject: str, body: str, message_id: str, evidence: dict[str, str],
                 key: bytes, now: float | None = None,
                 segments: Sequence[tuple[str, str, str]] | None = None) -> str:
    """The webhook `message` for one email. `evidence` is what the relay verified
    (`dmarc`/`spf`/`dkim`: pass, fail or none); `key` is shared with the plugin. Line
    ends become `\n` and trailing white space is dropped (OpenClaw trims the message)."""
    body = _normal(body).rstrip()
    parts = _trimmed(segments) if segments else []
    if segments and "".join(t for _k, _a, t in parts) != body:
        raise ValueError("segments joined must be exactly the body")
    for kind, author, _text in parts:
        if kind not in _KINDS or (kind == "own" and author):
            raise ValueError(f"segment kind {kind!r} with author {author!r} is not valid")
    if len(key) < 16:
        raise ValueError("the envelope key must be at least 16 bytes")
    unknown = set(evidence) - _EVIDENCE_KEYS
    if unknown:
        raise ValueError(f"evidence: unknown keys {sorted(unknown)} (known: dkim, dmarc, spf)")
    bad = {k: v for k, v in evidence.items() if v not in _RESULTS}
    if bad:
        raise ValueError(f"evidence: unknown results {bad}")
    header = {"body_sha256": hashlib.sha256(body.encode()).hexdigest(), "evidence": dict(evidence),
              "from": sender, "message_id": message_id, "subject": subject,
              "ts": int(now if now is not None else time.time())}
    if parts:
        header["segments"] = [[kind, author, len(text)] for kind, author, text in parts]
    text = _canonical(header)
    mac = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    return f"{ENVELOPE_TAG} {mac} {text}\n\n{body}"


def parse_hook_message(message: str, key: bytes, *, max_age: float = 600.0,
                       now: float | None = None) -> Envelope | None:
    """The envelope of a hook message, or None if it has none or it does not check (the
    same rules as the plugin's; used by tests and by relays checking their own output)."""
    first, sep, body = message.replace("\r\n", "\n").rstrip().partition("\n\n")
    parts = first.split(" ", 2)
    if not sep or len(parts) != 3 or parts[0] != ENVELOPE_TAG:
        return None
    mac, text = parts[1], parts[2]
    if not hmac.compare_digest(mac, hmac.new(key, text.encode(), hashlib.sha256).hexdigest()):
        return None
    try:
        header = json.loads(text)
    except ValueError:
        return None
    if not isinstance(header, dict) or header.get("body_sha256") != hashlib.sha256(body.encode()).hexdigest():
        return None
    ts = header.get("ts")
    current = now if now is not None else time.time()
    if not isinstance(ts, int) or abs(current - ts) > max_age:
        return None
    segments: list[tuple[str, str, str]] = []
    at = 0
    for kind, author, length in header.get("segments") or []:
        segments.append((str(kind), str(author), body[at:at + int(length)]))
        at += int(length)
    if segments and at != len(body):
        return None
    return Envelope(sender=str(header.get("from", "")), subject=str(header.get("subject", "")),
                    message_id=str(header.get("message_id", "")), evidence=dict(header.get("evidence") or {}),
                    body=body, ts=ts, segments=tuple(segments))


__all__ = ["ENVELOPE_TAG", "Envelope", "hook_message", "parse_hook_message"]
