"""One grant of the plangate service, as a framework's tool wrapper uses it.

    grant = ServiceGrant("http://127.0.0.1:8750", token, "gr_...")
    number = grant.check("send_email", {"to": [...], "body": "..."})   # or CallBlocked
    ... run the tool ...
    grant.report(number, ok=True, value=result)

`check` asks the service whether this concrete call is the grant's next one, with exactly
the arguments the reviewed plan resolves to; the step id is the one the service names (the
caller need not know the plan's ids). Anything but a clear yes — a block, another step
expected, the service down or slow — is `CallBlocked`, and the wrapper does not run the
tool. Requests are bounded in time and never retried.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx


class CallBlocked(PermissionError):
    """plangate did not allow this call; the tool did not run. The message says why."""


class Grant(Protocol):
    def check(self, tool: str, args: dict[str, Any]) -> int: ...
    def report(self, call: int, *, ok: bool, value: Any = None, error: str | None = None) -> None: ...


class ServiceGrant:
    """`Grant` over the service's HTTP API with an agent credential."""

    def __init__(self, base_url: str, token: str, grant: str, *, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.grant = grant
        self._next_step = ""
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=httpx.Timeout(timeout),
                                  headers={"Authorization": f"Bearer {token}"}, transport=transport,
                                  follow_redirects=False, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ServiceGrant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            response = self._http.post(f"/v1/grants/{self.grant}{path}", json=body)
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise CallBlocked(f"plangate service unusable ({type(exc).__name__}); the call did not run") from None
        if response.status_code >= 500 or not isinstance(data, dict):
            raise CallBlocked(f"plangate service failed ({response.status_code}); the call did not run")
        return response.status_code, data

    def check(self, tool: str, args: dict[str, Any]) -> int:
        step = self._next_step
        status, body = self._post("/check", {"step": step, "tool": tool, "args": args})
        expected = body.get("expected_step")
        if status == 409 and isinstance(expected, str) and body.get("expected_tool") == tool and expected != step:
            step = expected
            status, body = self._post("/check", {"step": step, "tool": tool, "args": args})
        if status == 200 and body.get("allowed") is True and isinstance(body.get("call"), int):
            self._next_step = ""
            return int(body["call"])
        reason = str(body.get("error") or f"HTTP {status}")[:300]
        raise CallBlocked(f"plangate blocked {tool}: {reason}")

    def report(self, call: int, *, ok: bool, value: Any = None, error: str | None = None) -> None:
        body: dict[str, Any] = {"call": call, "ok": ok, "value": value}
        if error is not None:
            body["error"] = error[:2000]
        status, data = self._post("/results", body)
        if status != 200:
            # The tool ran but its result is not recorded: the grant's next check will be
            # refused (a result is outstanding), so nothing further runs unchecked.
            raise CallBlocked(f"plangate did not record the result: {data.get('error') or status}")


__all__ = ["CallBlocked", "Grant", "ServiceGrant"]
