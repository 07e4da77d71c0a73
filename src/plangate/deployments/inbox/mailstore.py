"""Where the owner's mail lives: the `MailBackend` seam and its Maildir implementation.

The mail tools only need a handful of operations on raw RFC 5322 bytes, so the seam is
small and the parsing stays in one place (`messages.py`). `MaildirBackend` is the
embedded default (Python's `mailbox`, Maildir++ folders, the same layout Dovecot uses);
`plangate.deployments.inbox.imapstore.ImapBackend` speaks IMAP to a real server.

Labels are folders, Gmail-style: labelling a message copies it into the folder named
by the label, so a real IMAP server shows the label as a mailbox. A message's labels
are the folders other than INBOX that hold it.
"""

from __future__ import annotations

import mailbox
import re
from pathlib import Path
from typing import Protocol

from plangate.deployments.inbox import messages

INBOX = "INBOX"
_FOLDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class MailBackend(Protocol):
    """The operations the mail tools need; messages travel as raw bytes."""

    def deliver(self, raw: bytes, folder: str = INBOX) -> None:
        """Store a message in `folder` (created if needed)."""

    def folders(self) -> list[str]:
        """Every folder, INBOX first."""

    def messages(self, folder: str) -> list[bytes]:
        """Every message in `folder`, raw; an unknown folder holds none."""

    def search(self, query: str) -> list[bytes]:
        """Messages in any folder whose text contains `query` (case-insensitive)."""

    def find(self, message_id: str) -> bytes | None:
        """The message with this Message-ID (bare, no angle brackets), or None;
        `AmbiguousId` when different messages carry it."""

    def add_label(self, message_id: str, label: str) -> bool:
        """Copy the message into folder `label`; False when no such message exists;
        `AmbiguousId` when different messages carry its id."""

    def close(self) -> None:
        """Release connections; the backend may not be used afterwards."""


class AmbiguousId(ValueError):
    """Two different messages carry one Message-ID (an id is its sender's choice: a
    stranger may send one that names the owner's mail): which of them a tool would act on
    is not said, so it acts on neither."""


def one_message(message_id: str, found: list[bytes]) -> bytes | None:
    """The message among `found` (copies of it in several folders, the labels, count once),
    None if none; `AmbiguousId` if they are different messages."""
    distinct = {raw.replace(b"\r\n", b"\n"): raw for raw in found}
    if len(distinct) > 1:
        raise AmbiguousId(f"{len(distinct)} different messages carry the id {messages.bare_id(message_id)!r}")
    return found[0] if found else None


def valid_folder(name: str) -> bool:
    """Folder and label names are plain words: no hierarchy separators, no quoting
    needed in IMAP, no path tricks in Maildir."""
    return name == INBOX or bool(_FOLDER.match(name))


def labels_of(backend: MailBackend) -> dict[str, list[str]]:
    """Message id -> the folders other than INBOX holding it (the message's labels)."""
    out: dict[str, list[str]] = {}
    for folder in backend.folders():
        if folder == INBOX:
            continue
        for raw in backend.messages(folder):
            mid = messages.view(raw).id
            if mid and folder not in out.setdefault(mid, []):
                out[mid].append(folder)
    return {mid: sorted(names) for mid, names in sorted(out.items())}


class MaildirBackend:
    """Mail in a Maildir++ tree under `path`; INBOX is the top level."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._root = mailbox.Maildir(str(path), create=True)

    def _folder(self, name: str, *, create: bool) -> mailbox.Maildir | None:
        if not valid_folder(name):
            raise ValueError(f"folder name {name!r} is not a plain word")
        if name == INBOX:
            return self._root
        if name in self._root.list_folders():
            return self._root.get_folder(name)
        return self._root.add_folder(name) if create else None

    def deliver(self, raw: bytes, folder: str = INBOX) -> None:
        box = self._folder(folder, create=True)
        assert box is not None  # created above
        box.add(mailbox.MaildirMessage(raw))

    def folders(self) -> list[str]:
        return [INBOX, *sorted(self._root.list_folders())]

    def messages(self, folder: str) -> list[bytes]:
        box = self._folder(folder, create=False)
        if box is None:
            return []
        return [box.get_bytes(key) for key in sorted(box.keys())]

    def search(self, query: str) -> list[bytes]:
        needle = query.casefold()
        found = []
        for folder in self.folders():
            for raw in self.messages(folder):
                v = messages.view(raw)
                text = "\n".join([v.sender, *v.to, *v.cc, v.subject, v.body]).casefold()
                if needle in text:
                    found.append(raw)
        return found

    def find(self, message_id: str) -> bytes | None:
        wanted = messages.bare_id(message_id)
        return one_message(message_id, [raw for folder in self.folders() for raw in self.messages(folder)
                                        if messages.view(raw).id == wanted])

    def add_label(self, message_id: str, label: str) -> bool:
        raw = self.find(message_id)
        if raw is None:
            return False
        box = self._folder(label, create=True)
        assert box is not None
        if not any(messages.view(r).id == messages.bare_id(message_id)
                   for r in self.messages(label)):
            box.add(mailbox.MaildirMessage(raw))
        return True

    def close(self) -> None:
        self._root.close()
