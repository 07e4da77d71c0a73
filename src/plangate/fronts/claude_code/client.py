"""The hook's side of the plangate service's HTTP API (`docs/deploy.md`).

Every request is bounded in time (`timeout` per socket operation; the hook's watchdog bounds
the whole) and makes one attempt on a connection of its own: a hook that retries would only
run into Claude Code's timeout. A connection failure, a timeout or a 5xx is `ServiceDown`;
the caller denies. Built on the standard library's `http.client`: the command hook starts a
process per tool call, and loading httpx cost it ~0.25 s of every call (docs/claude-code.md).
No proxy variables are read and no redirect is followed.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

#: An answer larger than this is not read (the service's answers are a few hundred bytes).
MAX_ANSWER_BYTES = 4_000_000


class ServiceDown(RuntimeError):
    """The service did not answer usably; nothing may run."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def error(self) -> str:
        return str(self.body.get("error") or f"HTTP {self.status}")[:300]


class ServiceClient:
    """An agent credential's view of the service."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0) -> None:
        url = urlsplit(base_url.rstrip("/"))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ServiceDown(f"plangate service address {base_url[:80]!r} is not an http(s) URL")
        self._https = url.scheme == "https"
        self._host = url.hostname
        self._port = url.port
        self._prefix = url.path
        self._timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def close(self) -> None:
        """Nothing to release: every request has a connection of its own."""

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _send(self, method: str, path: str, body: Any = None) -> Answer:
        headers = dict(self._headers)
        data = None
        if body is not None:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            conn.request(method, self._prefix + path, body=data, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_ANSWER_BYTES + 1)
            status = response.status
        except TimeoutError:
            raise ServiceDown(f"plangate service did not answer {method} {path} in time") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServiceDown(f"plangate service unreachable: {type(exc).__name__}: {str(exc)[:120]}") from None
        finally:
            conn.close()
        if status >= 500:
            raise ServiceDown(f"plangate service failed ({status}): {raw[:200].decode('utf-8', 'replace')}")
        if len(raw) > MAX_ANSWER_BYTES:
            raise ServiceDown(f"plangate service answered {status} with over {MAX_ANSWER_BYTES} bytes")
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ServiceDown(f"plangate service answered {status} without JSON") from None
        if not isinstance(answer, dict):
            raise ServiceDown(f"plangate service answered {status} with a JSON {type(answer).__name__}")
        return Answer(status, answer)

    def submit(self, trigger: dict[str, Any], plan: dict[str, Any], run_id: str | None = None,
               session: str | None = None) -> Answer:
        """`session`: the Claude Code session the plan is for (one model context): the
        service reviews it with all that session was shown before."""
        body: dict[str, Any] = {"trigger": trigger, "plan": plan}
        if run_id is not None:
            body["run_id"] = run_id
        if session:
            body["session"] = session
        return self._send("POST", "/v1/plans", body)

    def check(self, grant: str, step: str, tool: str, args: dict[str, Any]) -> Answer:
        return self._send("POST", f"/v1/grants/{quote(grant, safe='')}/check",
                          {"step": step, "tool": tool, "args": args})

    def report(self, grant: str, call: int, *, ok: bool, value: Any = None, error: str | None = None) -> Answer:
        body: dict[str, Any] = {"call": call, "ok": ok, "value": value}
        if error is not None:
            body["error"] = error[:2000]
        return self._send("POST", f"/v1/grants/{quote(grant, safe='')}/results", body)

    def approval_status(self, approval: str) -> Answer:
        return self._send("GET", f"/v1/approvals/{quote(approval, safe='')}/status")

    def approval_grant(self, approval: str) -> Answer:
        return self._send("POST", f"/v1/approvals/{quote(approval, safe='')}/grant")


__all__ = ["Answer", "ServiceClient", "ServiceDown"]
