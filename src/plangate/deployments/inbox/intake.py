"""Turning what arrived (an email, a chat message, a webhook, a timer) into a `Trigger`.

The principal is what the channel *claims*; the evidence is only what the receiving
side *verified*. For email that means `Authentication-Results` (RFC 8601) headers, and
only those written by the deployment's own receiving server: a server prepends its
headers, so its results sit above the `Received` header(s) it added; anything further
down was in the message as the sender sent it and is forged by definition. Results are
also taken only from an authserv-id the deployment names, and an SPF or DKIM pass only
counts when its domain is aligned with the From domain (otherwise an attacker's own,
perfectly valid, DKIM signature would vouch for a forged From).

    trigger = trigger_from_email(raw, trusted_authserv_ids=["mx.home.example"])
    gate.submit(trigger, plan)

Whatever the channel vouches for, it vouches only for the sender. Text the sender passes
on (a quoted reply, a forwarded mail, an attachment, a replied-to chat message, a
third-party field in a webhook) is cut into its own `segments`
(`plangate.deployments.inbox.provenance`): it is someone else's, however trusted the sender.
"""

from __future__ import annotations

import email.utils
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

from plangate.deployments.inbox import messages
from plangate.deployments.inbox.provenance import (
    assemble,
    author_in,
    cap,
    json_segments,
    split_text,
)
from plangate.identity import aligned_domain, parse_address
from plangate.quoting import ANY_PREFIX, REPLY_PREFIX
from plangate.trigger import MAX_PAYLOAD_CHARS, Evidence, Segment, SegmentKind, Trigger, Verdict3

MAX_META_CHARS = 1000
_RESULT = re.compile(r"^\s*([A-Za-z0-9_-]+)(?:\s*/\s*[0-9]+)?\s*=\s*([A-Za-z0-9_-]+)(.*)$", re.S)
_PROPERTY = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)")


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One `method=result` of an Authentication-Results header, with its properties
    (`header.d`, `smtp.mailfrom`, `header.from`, ...)."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str
    results: tuple[MethodResult, ...]


def parse_authentication_results(value: str) -> AuthResults | None:
    """Parse one header value per RFC 8601; None when it is not well formed."""
    text = _strip_comments(value)
    parts = _split_outside_quotes(text, ";")
    head = parts[0].split()
    if not head:
        return None
    results = []
    for part in parts[1:]:
        if part.strip().lower() == "none":
            continue
        match = _RESULT.match(part)
        if not match:
            return None
        props = {f"{p}.{k}".lower(): v.strip('"') for p, k, v in _PROPERTY.findall(match[3])}
        results.append(MethodResult(match[1].lower(), match[2].lower(), props))
    return AuthResults(authserv_id=head[0].lower(), results=tuple(results))


def _strip_comments(text: str) -> str:
    """Drop RFC 5322 comments `( ... )` (nested), leaving quoted strings intact."""
    out, depth, quoted, escaped = [], 0, False, False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
            continue
        if ch == "\\":
            escaped = True
            if depth == 0:
                out.append(ch)
            continue
        if quoted:
            quoted = ch != '"'
            out.append(ch)
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        elif depth == 0:
            quoted = ch == '"'
            out.append(ch)
    return "".join(out)


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def receiving_results(headers: list[tuple[str, str]], trusted_authserv_ids: list[str], *,
                      received_hops: int = 1) -> list[AuthResults]:
    """The Authentication-Results the deployment's own servers wrote: those above the
    `received_hops`-th Received header (all of the receiving side's hops), from a trusted
    authserv-id. With `received_hops=0` only headers above every Received header count.
    A message with fewer Received headers than the receiving side adds did not come
    through it, and nothing in it counts."""
    trusted = {t.lower() for t in trusted_authserv_ids}
    out: list[AuthResults] = []
    seen_received = 0
    for name, value in headers:
        lname = name.lower()
        if lname == "received":
            seen_received += 1
            if seen_received >= max(received_hops, 1):
                break
            continue
        if lname == "authentication-results":
            parsed = parse_authentication_results(value)
            if parsed is not None and parsed.authserv_id in trusted:
                out.append(parsed)
    else:
        if seen_received < received_hops:
            return []
    return out


def evidence_from(results: list[AuthResults], from_domain: str) -> Evidence:
    """Reduce trusted results to plangate's evidence. The topmost result per method wins
    (a server's own header is above anything relayed); SPF and DKIM passes count only
    when aligned with the From domain."""
    verdicts: dict[str, Verdict3] = {}
    for auth in results:
        for r in auth.results:
            if r.method not in ("dmarc", "spf", "dkim") or r.method in verdicts:
                continue
            verdicts[r.method] = _verdict(r, from_domain)
    return Evidence(dmarc=verdicts.get("dmarc", "none"), spf=verdicts.get("spf", "none"),
                    dkim=verdicts.get("dkim", "none"))


def _verdict(r: MethodResult, from_domain: str) -> Verdict3:
    if r.result in ("fail", "softfail"):
        return "fail"
    if r.result != "pass":
        return "none"
    if r.method == "dmarc":
        domain = r.properties.get("header.from", from_domain)
    elif r.method == "spf":
        domain = r.properties.get("smtp.mailfrom", "").rpartition("@")[2]
    else:
        domain = r.properties.get("header.d", r.properties.get("header.i", "").rpartition("@")[2])
    return "pass" if aligned_domain(domain, from_domain) else "none"


def trigger_from_email(raw: bytes, *, trusted_authserv_ids: list[str], received_hops: int = 1,
                       trigger_id: str = "trigger", instruction: str = "") -> Trigger:
    """An email trigger from the message as delivered (RFC 5322 bytes)."""
    msg = messages.parse_bytes(raw)
    senders = msg.get_all("From") or []
    principal = messages.header(msg, "From")
    address = parse_address(principal)
    domain = address.domain if "@" in address.canonical else ""
    if len(senders) == 1 and domain:
        evidence = evidence_from(receiving_results(list(_raw_headers(msg)), trusted_authserv_ids,
                                                   received_hops=received_hops), domain)
    else:
        evidence = Evidence()  # no From, or several: nobody can say who sent it
    subject = messages.header(msg, "Subject")
    payload, segments = email_payload(msg, subject)
    if automatic(msg) and payload:
        # RFC 3834: a message a program sent (an auto-reply, a notice, this assistant's own
        # mail back in the mailbox it watches, From: the owner) is no one's request: all of
        # it is someone else's words, so a stranger's text the assistant once mailed to the
        # owner does not come back as the owner's.
        segments = (Segment(kind="embedded", text=payload),)
    meta = {"subject": subject, "message_id": messages.bare_id(messages.header(msg, "Message-ID")),
            "to": _addresses(messages.header(msg, "To")), "cc": _addresses(messages.header(msg, "Cc")),
            "date": messages.header(msg, "Date")}
    return Trigger(id=trigger_id, channel="email", principal=principal[:1000], evidence=evidence,
                   instruction=instruction, payload=payload, segments=segments,
                   meta={k: v[:MAX_META_CHARS] for k, v in meta.items()})


def automatic(msg: EmailMessage) -> bool:
    """Whether the message says a program sent it (`Auto-Submitted` other than "no")."""
    value = messages.header(msg, "Auto-Submitted").strip().casefold()
    return bool(value) and value.split(";")[0].strip() != "no"


def _addresses(header: str) -> str:
    """The addresses of a To or Cc header, without display names: a display name there is
    what the person named chose (their own From's), not the sender's words (red team round 29)."""
    return ", ".join(address for _name, address in email.utils.getaddresses([header]) if address)


def email_payload(msg: EmailMessage, subject: str) -> tuple[str, tuple[Segment, ...]]:
    """The payload (subject, body, then attached messages and text files) and its
    segments: the sender's own words, what the body quotes or forwards, and each
    attachment. A "Re:"/"Fwd:" subject is the earlier message's sender's words, and so is
    the subject of any reply (`In-Reply-To` or `References`: whatever its prefix, in
    whatever language) and of a message passing another one on under a short prefix."""
    body = messages.text_body(msg)
    inside = split_text(body)
    pieces: list[tuple[SegmentKind, str, str]] = []
    if subject:
        prefix = REPLY_PREFIX.match(subject)
        kind: SegmentKind = "own" if not prefix else ("forwarded" if prefix[2] else "quoted")
        if kind == "own" and (msg.get("In-Reply-To") or msg.get("References")):
            kind = "quoted"  # a reply, whatever its prefix (or none) in whatever language
        elif kind == "own" and ANY_PREFIX.match(subject) and any(s.kind != "own" for s in inside):
            kind = "forwarded"  # an unlisted prefix on a message that passes another one on
        earlier = next((s.author for s in inside if s.kind != "own"), "")
        pieces.append((kind, earlier if kind != "own" else "", f"{subject}\n\n"))
    pieces.extend((s.kind, s.author, s.text) for s in inside or [Segment(kind="own", text=body)])
    for att in messages.attachments(msg):
        label = "forwarded message" if att.kind == "forwarded" else f"attachment {att.name}".strip()
        pieces.append((att.kind, author_in(att.sender), f"\n\n[{label}]\n{att.text}"))
    segments = cap(assemble(pieces), MAX_PAYLOAD_CHARS)
    payload = "".join(s.text for s in segments) if segments else "".join(p[2] for p in pieces)
    return payload[:MAX_PAYLOAD_CHARS], segments


def _raw_headers(msg: EmailMessage) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in msg.raw_items()]


def trigger_from_chat(chat_id: str, text: str, paired_ids: list[str] | frozenset[str], *,
                      trigger_id: str = "trigger", forwarded_from: str | None = None,
                      replying_to: tuple[str, str] | None = None) -> Trigger:
    """A chat message; it is `paired` only when the chat id is one the owner paired.
    `forwarded_from`: the platform says the message was forwarded from someone (all of it
    is theirs); `replying_to`: (author, text) of the message it answers, which the
    platform shows with it. Quoted lines and pasted mail in `text` are split as in mail."""
    paired = any(hmac.compare_digest(chat_id.encode(), p.encode()) for p in paired_ids)
    if forwarded_from is not None:
        pieces: list[tuple[SegmentKind, str, str]] = [
            ("forwarded", author_in(forwarded_from) or forwarded_from[:320], text)]
    else:
        pieces = [(s.kind, s.author, s.text) for s in split_text(text)] or [("own", "", text)]
    if replying_to is not None:
        author, quoted = replying_to
        pieces.append(("quoted", author_in(author) or author[:320], f"\n\n{quoted}"))
    segments = cap(assemble(pieces), MAX_PAYLOAD_CHARS)
    payload = "".join(s.text for s in segments) if segments else text
    return Trigger(id=trigger_id, channel="chat", principal=chat_id,
                   evidence=Evidence(paired=paired), payload=payload, segments=segments)


def webhook_signature(body: bytes, secret: bytes) -> str:
    """The signature a sender computes: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def trigger_from_webhook(body: bytes, signature: str, secret: bytes, *,
                         source: str = "webhook", trigger_id: str = "trigger",
                         third_party: Sequence[str] = ()) -> Trigger:
    """A webhook call; `signed` only when `signature` (`sha256=<hex>` or bare hex) is
    the HMAC-SHA256 of the exact body under `secret`. The comparison is constant-time.
    The signature vouches for the service, not for what its users wrote: `third_party`
    names the JSON fields that carry their text (`comment.body`, `commits.*.message`).
    Without it, quoted lines and pasted mail in a text body are split as in mail."""
    given = signature.strip()
    given = given[7:] if given.lower().startswith("sha256=") else given
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    signed = bool(secret) and hmac.compare_digest(given.lower().encode(), expected.encode())
    text = body.decode("utf-8", "replace")[:MAX_PAYLOAD_CHARS]
    segments = json_segments(text, third_party) if third_party else split_text(text)
    return Trigger(id=trigger_id, channel="webhook", principal=source,
                   evidence=Evidence(signed=signed), payload=text, segments=segments)


def trigger_from_schedule(name: str, instruction: str, *, trigger_id: str = "trigger") -> Trigger:
    """A scheduled run: raised by the deployment itself, carrying the owner's standing
    instruction as trusted text and no untrusted payload. Give each firing its own
    `trigger_id` (the schedule's name and time): a trigger's budget spans its runs, so
    firings that share an id share one budget."""
    return Trigger(id=trigger_id, channel="cron", principal=f"cron:{name}", instruction=instruction,
                   evidence=Evidence(id_assigned=True))
