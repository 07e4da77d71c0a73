"""Reading RFC 5322 messages into the plain values tools return and triggers carry.

One parser for both mail backends and for trigger intake, so a message reads the same
whichever path it took. Bodies are reduced to text: text/plain is preferred; HTML is
stripped of tags, scripts and styles (hidden text in HTML is a classic injection
carrier, but dropping it would also hide what the sender wrote, so it stays as text
and is labelled untrusted like the rest of the body).
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser

MAX_BODY_CHARS = 200_000
SNIPPET_CHARS = 200


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
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset or broken transfer encoding
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    text = str(content)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text[:MAX_BODY_CHARS]


class _TextExtractor(HTMLParser):
    _SKIP = frozenset({"script", "style", "head", "title"})
    _BREAK = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skipping:
            self._skipping -= 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = html.unescape("".join(parser.parts))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()
