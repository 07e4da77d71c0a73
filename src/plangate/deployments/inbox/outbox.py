"""Outgoing mail: every message is recorded in `root/outbox` before anything else.

The outbox is the embedded SMTP sink: it accepts a message the way a submission server
would (envelope recipients plus RFC 5322 bytes) and writes it down, so what the
assistant sent is observable whether or not a real server is configured. With an
`SmtpRelay` the same bytes are then submitted over SMTP (loopback only; an `aiosmtpd`
listener in the tests). Notes to the owner's chat are recorded but never relayed: they
are not mail.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

SentKind = Literal["send", "reply", "forward", "invite", "share", "notify"]
_RELAYED: frozenset[str] = frozenset({"send", "reply", "forward", "invite", "share"})


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    """A submission server on loopback (no TLS, no auth: it is the test's own)."""

    host: str
    port: int
    timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"SMTP host {self.host!r} is not a loopback address")


class Outbox:
    """Records each outgoing message as `NNNNNN.eml` plus `NNNNNN.json` (the fields the
    runtime's snapshot reports), then relays it if a relay is configured."""

    def __init__(self, path: Path, relay: SmtpRelay | None = None) -> None:
        self.path = path
        self.relay = relay
        path.mkdir(parents=True, exist_ok=True)

    def submit(self, msg: EmailMessage, *, kind: SentKind, sender: str,
               to: list[str], cc: list[str], body: str) -> dict[str, Any]:
        record: dict[str, Any] = {"from": sender, "to": list(to), "cc": list(cc),
                                  "subject": str(msg.get("Subject", "")), "body": body,
                                  "kind": kind, "message_id": str(msg.get("Message-ID", ""))}
        n = len(list(self.path.glob("*.json"))) + 1
        stem = self.path / f"{n:06d}"
        stem.with_suffix(".eml").write_bytes(msg.as_bytes())
        # The JSON is written last: a record exists only once its message does.
        stem.with_suffix(".json").write_text(json.dumps(record, ensure_ascii=False, indent=1),
                                             encoding="utf-8")
        if self.relay is not None and kind in _RELAYED:
            with smtplib.SMTP(self.relay.host, self.relay.port,
                              timeout=self.relay.timeout) as smtp:
                smtp.send_message(msg, from_addr=sender, to_addrs=[*to, *cc])
        return record

    def records(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.path.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            data.pop("message_id", None)
            out.append(data)
        return out
