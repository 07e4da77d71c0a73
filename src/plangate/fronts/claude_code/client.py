"""The hook's side of the plangate service's HTTP API (`docs/deploy.md`).

Every request is bounded in time (`timeout`, never more than the hook's own deadline) and
makes one attempt: a hook that retries would only run into Claude Code's timeout. A
connection failure, a timeout or a 5xx is `ServiceDown`; the caller denies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


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

    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout),
                                  headers={"Authorization": f"Bearer {token}"}, transport=transport,
                                  follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, body: Any = None) -> Answer:
        try:
            response = self._http.request(method, path, json=body)
        except httpx.TimeoutException:
            raise ServiceDown(f"plangate service did not answer {method} {path} in time") from None
        except httpx.HTTPError as exc:
            raise ServiceDown(f"plangate service unreachable: {type(exc).__name__}: {str(exc)[:120]}") from None
        if response.status_code >= 500:
            raise ServiceDown(f"plangate service failed ({response.status_code}): {response.text[:200]}")
        try:
            data = response.json()
        except ValueError:
            raise ServiceDown(f"plangate service answered {response.status_code} without JSON") from None
        if not isinstance(data, dict):
            raise ServiceDown(f"plangate service answered {response.status_code} with a JSON {type(data).__name__}")
        return Answer(response.status_code, data)

    def submit(self, trigger: dict[str, Any], plan: dict[str, Any], run_id: str | None = None) -> Answer:
        body: dict[str, Any] = {"trigger": trigger, "plan": plan}
        if run_id is not None:
            body["run_id"] = run_id
        return self._send("POST", "/v1/plans", body)

    def check(self, grant: str, step: str, tool: str, args: dict[str, Any]) -> Answer:
        return self._send("POST", f"/v1/grants/{grant}/check", {"step": step, "tool": tool, "args": args})

    def report(self, grant: str, call: int, *, ok: bool, value: Any = None, error: str | None = None) -> Answer:
        body: dict[str, Any] = {"call": call, "ok": ok, "value": value}
        if error is not None:
            body["error"] = error[:2000]
        return self._send("POST", f"/v1/grants/{grant}/results", body)

    def approval_status(self, approval: str) -> Answer:
        return self._send("GET", f"/v1/approvals/{approval}/status")

    def approval_grant(self, approval: str) -> Answer:
        return self._send("POST", f"/v1/approvals/{approval}/grant")


__all__ = ["Answer", "ServiceClient", "ServiceDown"]
