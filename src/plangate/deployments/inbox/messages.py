"""Reading RFC 5322 messages into the plain values tools return and triggers carry.

One parser for both mail backends and for trigger intake, so a message reads the same
whichever path it took. Bodies are reduced to text: text/plain is preferred; HTML is
stripped of tags, scripts and styles (hidden text in HTML is a classic injection
carrier, but dropping it would also hide what the sender wrote, so it stays as text
and is labelled untrusted like the rest of the body). An HTML `<blockquote>` reads as
`> ` quoted lines, as a text/plain part would show it, so intake can tell quoted text
from the sender's own words whichever part it read.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Literal

MAX_BODY_CHARS = 200_000
SNIPPET_CHARS = 200
MAX_ATTACHMENTS = 20
MAX_NESTED_MESSAGES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageView:
    """A stored message as the mail tools show it."""

    id: str
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    date: str
    body: str
    headers: tuple[tuple[str, str], ...]
    timestamp: float

    def summary(self) -> dict[str, str]:
        snippet = " ".join(self.body.split())[:SNIPPET_CHARS]
        return {"id": self.id, "from": self.sender, "subject": self.subject,
                "date": self.date, "snippet": snippet}

    def full(self) -> dict[str, object]:
        return {"id": self.id, "from": self.sender, "to": list(self.to), "cc": list(self.cc),
                "subject": self.subject, "date": self.date, "body": self.body,
                "headers": [[k, v] for k, v in self.headers]}


def parse_bytes(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)  # guaranteed by policy.default's message factory
    return msg


def bare_id(message_id: str) -> str:
    """`<abc@host>` and `abc@host` name the same message; tools use the bare form."""
    return message_id.strip().strip("<>").strip()


def header(msg: EmailMessage, name: str) -> str:
    """A header's decoded value, or "" when absent or undecodable (never raises)."""
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # malformed encoded words
        value = msg.get_all(name, [""])[0] if msg.get_all(name) else ""
    return "" if value is None else str(value)


def addresses(msg: EmailMessage, name: str) -> tuple[str, ...]:
    value = header(msg, name)
    return tuple(a.strip() for a in value.split(",") if a.strip()) if value else ()


def view(raw: bytes) -> MessageView:
    msg = parse_bytes(raw)
    date = header(msg, "Date")
    try:
        timestamp = parsedate_to_datetime(date).timestamp() if date else 0.0
    except (TypeError, ValueError):
        timestamp = 0.0
    headers = tuple((k, str(v)) for k, v in msg.items())
    return MessageView(id=bare_id(header(msg, "Message-ID")), sender=header(msg, "From"),
                       to=addresses(msg, "To"), cc=addresses(msg, "Cc"),
                       subject=header(msg, "Subject"), date=date, body=text_body(msg),
                       headers=headers, timestamp=timestamp)


def text_body(msg: EmailMessage) -> str:
    """The message's text: the text/plain part if any, else the HTML part stripped."""
    part = body_part(msg)
    return "" if part is None else _part_text(part)


def body_part(msg: EmailMessage) -> MIMEPart | None:
    """The part that is the message's own text: its text/plain body, else its HTML one, and
    never a part with a file name (a file attached inline after an HTML body is what the
    sender passed on, not what they wrote: `attachments` lists it)."""
    for preference in (("plain", "html"), ("html", "plain")):
        part = msg.get_body(preferencelist=preference)
        if part is not None and not part.get_filename():
            return part
    return None


def _named_candidates(msg: EmailMessage, body: MIMEPart | None) -> list[MIMEPart]:
    """Parts that could pass for the body but carry a file name: `iter_attachments` skips
    them as body candidates, and `body_part` does not take them, so they are listed here."""
    out: list[MIMEPart] = []
    for preference in (("plain", "html"), ("html", "plain")):
        part = msg.get_body(preferencelist=preference)
        if part is not None and part is not body and part.get_filename() and all(part is not o for o in out):
            out.append(part)
    return out


def _part_text(part: MIMEPart) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text[:MAX_BODY_CHARS]


@dataclass(frozen=True, slots=True)
class Attachment:
    """Text a message carries besides its body: a forwarded message (`message/rfc822`,
    rendered with its From, Date and Subject; `sender` is its From header, a claim) or a
    text attachment."""

    kind: Literal["forwarded", "attachment"]
    name: str
    sender: str
    text: str


def attachments(msg: EmailMessage, *, _depth: int = 0) -> list[Attachment]:
    """The message's attached messages (and theirs, a few levels deep) and text files, in
    order. Binary attachments carry no text and are left out; so is anything that does
    not decode (it is then in no payload, so nothing can claim to come from it)."""
    out: list[Attachment] = []
    listed = list(msg.iter_attachments())
    parts = listed + [p for p in _named_candidates(msg, body_part(msg)) if all(p is not q for q in listed)]
    for part in parts:
        if len(out) >= MAX_ATTACHMENTS:
            break
        try:
            name = part.get_filename() or ""
            if part.get_content_type() == "message/rfc822":
                inner = part.get_content()
                if not isinstance(inner, EmailMessage):
                    continue
                sender = header(inner, "From")
                text = (f"From: {sender}\nDate: {header(inner, 'Date')}\n"
                        f"Subject: {header(inner, 'Subject')}\n\n{text_body(inner)}")
                out.append(Attachment("forwarded", name, sender, text))
                if _depth + 1 < MAX_NESTED_MESSAGES:
                    out.extend(attachments(inner, _depth=_depth + 1))
            elif part.get_content_maintype() == "text":
                out.append(Attachment("attachment", name, "", _part_text(part)))
        except Exception:  # a malformed part: skipped, never fatal to intake
            continue
    return out[:MAX_ATTACHMENTS]


QUOTE_MARK = "\x01"
"""Marks a quoted line while HTML is reduced to text; never left in the output."""


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                        "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self.quote_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.quote_depth += tag == "blockquote"
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAK:
            if tag == "blockquote" and self.quote_depth:
                self.quote_depth -= 1
            self._newline()

    def _newline(self) -> None:
        self.parts.append("\n" + QUOTE_MARK * self.quote_depth)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            text = data.replace(QUOTE_MARK, "\ufffd")
            if self.quote_depth:  # a line break inside quoted text starts a quoted line
                text = text.replace("\n", "\n" + QUOTE_MARK * self.quote_depth)
            self.parts.append(text)


def html_to_text(markup: str) -> str:
    """HTML reduced to text: tags dropped (scripts and styles with their content), entities
    decoded, blank lines collapsed, and each line inside `<blockquote>` prefixed with `> `
    per level."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    lines = []
    for line in text.split("\n"):
        depth = line.count(QUOTE_MARK)
        if depth:  # marks stand only at line starts: data never carries one
            content = line.replace(QUOTE_MARK, "").strip(" ")
            line = "> " * depth + content if content else ""
        lines.append(line)
    return re.sub(r"\n\s*\n+", "\n\n", "\n".join(lines)).strip()
