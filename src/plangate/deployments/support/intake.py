"""What arrives at the desk, as triggers the gate classifies from verified evidence only.

- A chat message from a signed-in session: the web front end established who the customer
  is (its session cookie), so the trigger is `chat` from that address with `paired`
  evidence. A chat without a session is the same message with no evidence: `unknown`.
- An email: the receiving server's verdict (DMARC, or SPF and DKIM) is the evidence; the
  From address is only a claim until it passes. Quoted text ("> ...", "On ... wrote:")
  and forwarded parts are someone else's words (`Segment`s), whoever sent the mail.
- A support agent's request: a chat from the agent's signed-in session. In a chat as in
  a mail, quoted lines are someone else's words.

Nothing here decides what a trigger may do: `policy.yaml` does, from the class.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Literal

from plangate.identity import aligned_domain, parse_address
from plangate.trigger import Evidence, Segment, Trigger

MAX_TEXT = 20_000
# Where someone else's words begin, as mail clients mark it: a `>` line (indented too), an
# attribution ("On ... wrote:", wrapped or not), a forward or original-message banner in any
# case (Gmail, Outlook, Apple Mail), Outlook's rule line, or a quoted header block ("From:").
_QUOTE = re.compile(
    r"^[ \t]*(>|&gt;|~~~|.{0,300}\bwrote:\s*$|-{2,} ?(Forwarded|Original) message|Begin forwarded message"
    r"|_{10,}\s*$|(From|Sent|De|Von|Van):[ \t])"
    # A code block, as chats open one (three backticks anywhere in a line; a line indented
    # four spaces or a tab): what an agent pastes there is a customer's, not theirs.
    r"|```|^(?: {4}|\t)[ \t]*\S", re.M | re.I)

AuthVerdict = Literal["pass", "fail", "none"]


class IntakeError(ValueError):
    """What arrived cannot become a trigger (empty, too long, no sender)."""


def _text(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise IntakeError("the message is empty")
    if len(text) > MAX_TEXT:
        raise IntakeError(f"the message is longer than {MAX_TEXT} characters")
    return text


def chat_trigger(address: str, text: str, *, session: bool = True, trigger_id: str = "chat",
                 id_assigned: bool = False) -> Trigger:
    """A chat message. `session`: the front end's signed-in session vouches for `address`.
    `id_assigned`: the desk chose `trigger_id` (else it is the message's own id, the
    sender's text: `plangate.trigger.Evidence`).
    Without one, `address` is only what the visitor typed: the principal is the visitor's
    chat handle (replies show in that chat, not in the mailbox of whoever was named), and
    the claim is kept in `meta` for the human who reads it."""
    if not address or not isinstance(address, str):
        raise IntakeError("a chat message needs the session's address")
    meta = {"channel": "chat"}
    principal = address
    if not session:
        digest = hashlib.sha256(address.encode("utf-8", "replace")).hexdigest()[:12]
        principal = f"visitor-{digest}@chat.invalid"
        meta["claimed"] = address[:300]
    # A chat quotes too (an agent pasting a customer's message): someone else's words.
    payload = _text(text)
    return Trigger(id=trigger_id, channel="chat", principal=principal,
                   evidence=Evidence(paired=session, id_assigned=id_assigned), payload=payload,
                   segments=_segments(payload),
                   meta=meta)


def email_trigger(sender: str, subject: str, body: str, *, dmarc: AuthVerdict = "none",
                  spf: AuthVerdict = "none", dkim: AuthVerdict = "none", spf_domain: str = "",
                  dkim_domain: str = "", trigger_id: str = "email", id_assigned: bool = False) -> Trigger:
    """An email as the receiving server judged it. The subject is the sender's words unless
    it is a reply to or forward of someone else's ("Re:", "Fwd:"). An SPF or DKIM pass
    counts only with the domain it passed for (`spf_domain`: the envelope sender's,
    `dkim_domain`: the signature's `d=`), aligned with the From's: a forger's server
    passes both for its own domain."""
    if not sender or not isinstance(sender, str):
        raise IntakeError("an email needs a From address")
    body = _text(body)
    segments = _segments(body)
    from_domain = parse_address(sender).domain
    if spf == "pass" and not aligned_domain(spf_domain, from_domain):
        spf = "none"
    if dkim == "pass" and not aligned_domain(dkim_domain, from_domain):
        dkim = "none"
    return Trigger(id=trigger_id, channel="email", principal=sender,
                   evidence=Evidence(dmarc=dmarc, spf=spf, dkim=dkim, id_assigned=id_assigned),
                   payload=body, segments=segments,
                   meta={"subject": subject[:500]})


def trigger_from_spec(spec: Mapping[str, Any], n: int = 0) -> Trigger:
    """A trigger from a short description (the bench's and the demo's data):
    `{"chat": ADDR, "text": T, "session": bool}`, `{"email": ADDR, "subject": S, "body": T,
    "dmarc": pass|fail|none}` or `{"staff": ADDR, "text": T}` (an agent's signed-in chat)."""
    if "chat" in spec:
        return chat_trigger(str(spec["chat"]), str(spec["text"]), session=bool(spec.get("session", True)),
                            trigger_id=f"chat-{n}", id_assigned=True)
    if "email" in spec:
        dmarc = spec.get("dmarc", "none")
        if dmarc not in ("pass", "fail", "none"):
            raise IntakeError(f"dmarc must be pass, fail or none, not {dmarc!r}")
        return email_trigger(str(spec["email"]), str(spec.get("subject", "")), str(spec["body"]),
                             dmarc=dmarc, trigger_id=f"email-{n}", id_assigned=True)
    if "staff" in spec:
        return chat_trigger(str(spec["staff"]), str(spec["text"]), session=True, trigger_id=f"staff-{n}",
                            id_assigned=True)
    raise IntakeError(f"a trigger is a chat, an email or a staff request, not {sorted(spec)}")


def _segments(body: str) -> tuple[Segment, ...]:
    """The sender's own words, then (from the first quote or forward marker on) the rest,
    which is someone else's: a misread own line costs a question, never the reverse."""
    found = _QUOTE.search(body)
    if found is None:
        return ()
    cut = found.start()
    own, rest = body[:cut], body[cut:]
    out = []
    if own:
        out.append(Segment(kind="own", text=own))
    out.append(Segment(kind="quoted", author="", text=rest))
    return tuple(out)
