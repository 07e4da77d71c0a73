"""Who may call what: agent, approver and admin credentials, approver sessions, CSRF.

Credentials live in a TOML file (`credentials` setting), tokens stored as SHA-256 only:

    session_secret = "64 hex characters"   # signs approver sessions and CSRF tokens
    [[credential]]
    name = "mail-agent"
    role = "agent"                          # agent | approver | admin
    sha256 = "..."                          # `plangate serve --new-token agent:mail-agent`
    rate = 200                              # requests per second (default by role)
    sessions = true                         # an agent front that names its model contexts

* An **agent** submits plans, checks calls against its own grants and reports results. It
  can read the status of its approvals, never decide them: no approve endpoint accepts an
  agent's credential (tests/service/test_api.py tries every one).
* An **approver** lists and decides approvals, over the API or on the approvals page.
* An **admin** reads the audit log (tail, head, verify), usage and metrics. Admins do not
  approve: deciding is the approver's alone.

The page logs an approver in with their token and keeps a session cookie (HttpOnly,
SameSite=Strict, HMAC-signed, 12 hours): no server-side session store, so any worker
answers. Each form carries a CSRF token derived from the session.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from plangate.config import ConfigError

Role = Literal["agent", "approver", "admin"]
ROLES: tuple[Role, ...] = ("agent", "approver", "admin")
DEFAULT_RATE: dict[str, int] = {"agent": 200, "approver": 20, "admin": 20}
SESSION_SECONDS = 12 * 3600
TOKEN_PREFIX = "pgt_"


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    role: Role
    rate: int
    #: Whether the agent's `session` names count: each session's plans are reviewed with
    #: what that session was shown. Off (the default), all its plans share one context.
    #: Turn it on for a front whose own code names the model's contexts (the OpenClaw
    #: plugin, the Claude Code hook), never for one whose model could pick the name.
    sessions: bool = False


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


class Credentials:
    def __init__(self, creds: dict[str, Credential], secret: bytes) -> None:
        self._by_hash = creds
        self.secret = secret

    @classmethod
    def load(cls, path: str) -> Credentials:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the credentials file: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: not a TOML credentials file: {exc}") from None
        return cls.parse(data, source=path)

    @classmethod
    def parse(cls, data: dict[str, object], *, source: str = "credentials") -> Credentials:
        secret = data.get("session_secret")
        if not isinstance(secret, str) or len(secret) < 32:
            raise ConfigError(f"{source}: session_secret must be a string of 32+ characters "
                              "(`python -c 'import secrets; print(secrets.token_hex(32))'`)")
        entries = data.get("credential", [])
        if not isinstance(entries, list) or not entries:
            raise ConfigError(f"{source}: no [[credential]] entries")
        creds: dict[str, Credential] = {}
        names: set[str] = set()
        for i, entry in enumerate(entries):
            where = f"{source}: credential {i + 1}"
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: not a table")
            unknown = set(entry) - {"name", "role", "sha256", "rate", "sessions"}
            if unknown:
                raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r}")
            name, role, digest = entry.get("name"), entry.get("role"), entry.get("sha256")
            if not isinstance(name, str) or not name or name in names:
                raise ConfigError(f"{where}: name must be a unique non-empty string")
            if role not in ROLES:
                raise ConfigError(f"{where}: role must be one of {', '.join(ROLES)}")
            if not isinstance(digest, str) or len(digest) != 64:
                raise ConfigError(f"{where}: sha256 must be the 64-hex SHA-256 of the token")
            rate = entry.get("rate", DEFAULT_RATE[str(role)])
            if not isinstance(rate, int) or isinstance(rate, bool) or rate < 1:
                raise ConfigError(f"{where}: rate must be a positive whole number (requests per second)")
            sessions = entry.get("sessions", False)
            if not isinstance(sessions, bool):
                raise ConfigError(f"{where}: sessions must be true or false")
            names.add(name)
            creds[digest.lower()] = Credential(name=name, role=role, rate=rate, sessions=sessions)
        return cls(creds, secret.encode())

    def find(self, token: str) -> Credential | None:
        return self._by_hash.get(token_hash(token))

    # -- approver sessions -------------------------------------------------------------

    def session(self, cred: Credential, now: float | None = None) -> str:
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = f"{cred.name}|{expires}|{secrets.token_hex(8)}"
        return body + "|" + self._sign("session", body)

    def from_session(self, cookie: str | None, now: float | None = None) -> Credential | None:
        if not cookie or cookie.count("|") != 3:
            return None
        body, _, sig = cookie.rpartition("|")
        if not hmac.compare_digest(sig, self._sign("session", body)):
            return None
        name, expires, _nonce = body.split("|")
        if not expires.isdigit() or int(expires) < (now or time.time()):
            return None
        for cred in self._by_hash.values():
            if cred.name == name and cred.role == "approver":
                return cred
        return None

    def csrf(self, cookie: str) -> str:
        return self._sign("csrf", cookie)

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")

    def _sign(self, purpose: str, body: str) -> str:
        return hmac.new(self.secret, f"{purpose}\x00{body}".encode(), hashlib.sha256).hexdigest()


__all__ = ["DEFAULT_RATE", "ROLES", "Credential", "Credentials", "Role", "new_token", "token_hash"]
