"""Which grant a Claude Code session runs under, kept in one file per session.

`plangate hook claude-code submit` writes the binding (session -> grant, or -> the approval
the owner still has to decide); the hook only reads it and notes the call in flight. The
folder is the operator's (mode 0700, files 0600) and should be out of reach of the
session's granted tools: the hook also refuses file tools aimed at it (`decide.py`).
Each session's file is read and written under an exclusive lock, so two hooks of one
session (parallel tool calls) never interleave; a lock not had within the deadline is a
deny.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

_GRANT = re.compile(r"gr_[0-9a-f]{4,64}")
_APPROVAL = re.compile(r"ap_[0-9a-f]{4,64}")
_SESSION = re.compile(r"[A-Za-z0-9_-]{1,128}")  # fullmatch: "$" would allow a final newline


class StateError(RuntimeError):
    """The session's binding cannot be read or written; the hook denies."""


@dataclass
class SessionState:
    session_id: str
    run_id: str = ""
    grant: str | None = None
    approval: str | None = None
    #: the call allowed last and not reported yet: {call, step, tool, tool_use_id}
    outstanding: dict[str, Any] | None = None
    #: the step the service named last (the first guess of the next check)
    next_step: str = ""
    finished: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: Any) -> SessionState:
        if not isinstance(data, dict) or not _SESSION.fullmatch(str(data.get("session_id", ""))):
            raise StateError("session state file is malformed")
        grant, approval = data.get("grant"), data.get("approval")
        if grant is not None and not _GRANT.fullmatch(str(grant)):
            raise StateError("session state names a malformed grant id")
        if approval is not None and not _APPROVAL.fullmatch(str(approval)):
            raise StateError("session state names a malformed approval id")
        outstanding = data.get("outstanding")
        if outstanding is not None and not (isinstance(outstanding, dict) and isinstance(outstanding.get("call"), int)):
            raise StateError("session state has a malformed outstanding call")
        return cls(session_id=data["session_id"], run_id=str(data.get("run_id", "")), grant=grant,
                   approval=approval, outstanding=outstanding, next_step=str(data.get("next_step", "")),
                   finished=bool(data.get("finished", False)), history=list(data.get("history", []))[-50:])


class SessionStore:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()

    def _path(self, session_id: str) -> Path:
        if not _SESSION.fullmatch(session_id):
            raise StateError(f"session id {session_id[:40]!r} is not a plain token")
        return self.folder / f"{session_id}.json"

    def ensure(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def locked(self, session_id: str, *, wait: float) -> Iterator[None]:
        """Hold the session's lock; `StateError` if it is not had within `wait` seconds."""
        path = self._path(session_id).with_suffix(".lock")
        try:
            self.ensure()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StateError(f"cannot open the session lock: {exc.strerror}") from None
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StateError("another hook of this session holds its lock (parallel calls "
                                         "run one at a time)") from None
                    time.sleep(0.01)
            yield
        finally:
            os.close(fd)

    def load(self, session_id: str) -> SessionState | None:
        path = self._path(session_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read the session state: {exc.strerror}") from None
        try:
            return SessionState.from_json(json.loads(text))
        except ValueError:
            raise StateError("session state file is not JSON") from None

    def save(self, state: SessionState) -> None:
        path = self._path(state.session_id)
        self.ensure()
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(asdict(state), out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            raise StateError(f"cannot write the session state: {exc.strerror}") from None


__all__ = ["SessionState", "SessionStore", "StateError"]
