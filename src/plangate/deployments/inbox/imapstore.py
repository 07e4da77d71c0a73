"""The owner's mail on a real IMAP server (Dovecot in the tests), over loopback.

Each operation opens its own short connection: the runtime is called rarely and from
one thread, and a fresh login per call means a server restart or an idle timeout can
never leave a half-broken session behind. Search and Message-ID lookup happen on the
server (`UID SEARCH`); values that come from outside (a query, a message id) are sent
as IMAP literals, so no quoting of attacker text is ever needed.
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from plangate.deployments.inbox import messages
from plangate.deployments.inbox.mailstore import INBOX, one_message, valid_folder

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<sep>"[^"]*"|NIL) (?P<name>.+)$')


class ImapError(Exception):
    """The IMAP server refused an operation the backend needed."""


class ImapBackend:
    """Mail on an IMAP server reached at `host:port` (plain IMAP, loopback only)."""

    def __init__(self, host: str, port: int, user: str, password: str, *,
                 timeout: float = 10.0) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"IMAP host {host!r} is not a loopback address")
        self.host, self.port, self.user, self._password = host, port, user, password
        self.timeout = timeout

    @contextmanager
    def _session(self) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout)
        try:
            _ok(conn.login(self.user, self._password), "LOGIN")
            yield conn
        finally:
            with suppress(imaplib.IMAP4.error, OSError):
                conn.logout()

    def deliver(self, raw: bytes, folder: str = INBOX) -> None:
        _check(folder)
        with self._session() as conn:
            _ensure(conn, folder)
            _ok(conn.append(folder, None, None, raw), "APPEND")

    def folders(self) -> list[str]:
        with self._session() as conn:
            return _folders(conn)

    def messages(self, folder: str) -> list[bytes]:
        _check(folder)
        with self._session() as conn:
            if folder not in _folders(conn):
                return []
            return _fetch_all(conn, folder, None)

    def search(self, query: str) -> list[bytes]:
        with self._session() as conn:
            found: list[bytes] = []
            for folder in _folders(conn):
                found.extend(_fetch_all(conn, folder, ("TEXT", query)))
            return found

    def find(self, message_id: str) -> bytes | None:
        located = self._locate(message_id)
        return located[2] if located else None

    def _locate(self, message_id: str) -> tuple[str, bytes, bytes] | None:
        wanted = messages.bare_id(message_id)
        found: list[tuple[str, bytes, bytes]] = []
        with self._session() as conn:
            for folder in _folders(conn):
                found += [(folder, uid, raw) for uid, raw in _fetch_uids(conn, folder, ("HEADER Message-ID", wanted))
                          if messages.view(raw).id == wanted]  # SEARCH HEADER is a substring match
        one_message(message_id, [raw for _f, _u, raw in found])  # different messages: AmbiguousId
        return found[0] if found else None

    def add_label(self, message_id: str, label: str) -> bool:
        _check(label)
        located = self._locate(message_id)
        if located is None:
            return False
        folder, uid, _ = located
        if folder != label:
            with self._session() as conn:
                _ensure(conn, label)
                _ok(conn.select(folder), "SELECT")
                _ok(conn.uid("COPY", uid.decode(), label), "COPY")
        return True

    def close(self) -> None:
        """Nothing is held between calls."""


def _check(folder: str) -> None:
    if not valid_folder(folder):
        raise ValueError(f"folder name {folder!r} is not a plain word")


def _ok(response: tuple[str, Sequence[Any]], command: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise ImapError(f"IMAP {command} failed: {data!r}")
    return list(data)


def _folders(conn: imaplib.IMAP4) -> list[str]:
    names = []
    for line in _ok(conn.list(), "LIST"):
        if not isinstance(line, bytes):
            continue
        match = _LIST_LINE.match(line)
        if match and b"\\Noselect" not in match["flags"]:
            names.append(match["name"].strip(b'"').decode("utf-8", "replace"))
    others = sorted(n for n in names if n != INBOX)
    return [INBOX, *others]


def _ensure(conn: imaplib.IMAP4, folder: str) -> None:
    if folder not in _folders(conn):
        _ok(conn.create(folder), "CREATE")


def _fetch_all(conn: imaplib.IMAP4, folder: str,
               criterion: tuple[str, str] | None) -> list[bytes]:
    return [raw for _, raw in _fetch_uids(conn, folder, criterion)]


def _fetch_uids(conn: imaplib.IMAP4, folder: str,
                criterion: tuple[str, str] | None) -> list[tuple[bytes, bytes]]:
    """(uid, raw) of the messages in `folder` matching `criterion` (all when None); the
    criterion's value goes as a literal, so it is never parsed as IMAP syntax."""
    _ok(conn.select(folder, readonly=True), "SELECT")
    if criterion is None:
        data = _ok(conn.uid("SEARCH", "ALL"), "SEARCH")
    else:
        key, value = criterion
        conn.literal = value.encode("utf-8")  # type: ignore[assignment]  # imaplib sends bytes literals as is
        data = _ok(conn.uid("SEARCH", "CHARSET", "UTF-8", *key.split()), "SEARCH")
    uids = data[0].split() if data and isinstance(data[0], bytes) else []
    out: list[tuple[bytes, bytes]] = []
    for uid in uids:
        fetched = _ok(conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])"), "FETCH")
        for item in fetched:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                out.append((uid, item[1]))
    return out
