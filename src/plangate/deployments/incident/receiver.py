"""The deployment's two loopback HTTP endpoints in front of the gate: the signing relay
Alertmanager posts to, and the webhook receiver that turns what it relays into runs.

    relay = SigningRelay(receiver_url, secret, token)       # Alertmanager -> relay
    receiver = AlertReceiver(secret, runtime, on_trigger)   # relay -> intake -> gate

Alertmanager authenticates itself the way its `webhook_config` can: `http_config:
authorization: {credentials: TOKEN}` (an `Authorization: Bearer TOKEN` header). The relay
checks the token in constant time, then forwards the exact body with
`X-Plangate-Signature: sha256=<HMAC-SHA256 of the body>`; without the token nothing is
forwarded. The receiver hands the body to `alerts_from_webhook` (which verifies the HMAC),
records each verified alert's trusted fields under its trigger id, and calls `on_trigger`
for every firing alert, verified or not (an unverified one is `unknown` to the policy). A
verified alert already run within `RERUN_AFTER` (a replayed body, or Alertmanager sending a
changed group again) starts no second run; an unverified copy never counts.
Both bind 127.0.0.1 only, read at most `MAX_BODY` bytes with a timeout, and answer a bad
request with one line naming what is wrong.
"""

from __future__ import annotations

import hmac
import http.client
import http.server
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from plangate.deployments.incident.errors import IntakeError
from plangate.deployments.incident.intake import (
    MAX_BODY,
    SIGNATURE_HEADER,
    alert_signature,
    alerts_from_webhook,
)
from plangate.deployments.incident.runtime import IncidentRuntime
from plangate.trigger import Trigger

TIMEOUT = 10.0
#: A verified alert (the same id: the same alert, the same firing) starts one run an hour.
#: Alertmanager sends a group's alerts again whenever the group changes, and a replayed
#: signed body is the same alert: neither restarts the runbook.
RERUN_AFTER = 3600.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


class _Endpoint:
    """A loopback HTTP server on a free port, serving POSTs with `handle(headers, body)`."""

    def __init__(self, handle: Callable[[dict[str, str], bytes], tuple[int, dict[str, Any]]]) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = TIMEOUT

            def do_POST(self) -> None:
                length = self.headers.get("Content-Length", "")
                if not length.isdigit() or int(length) > MAX_BODY:
                    self._answer(413 if length.isdigit() else 411,
                                 {"error": f"the body must have a Content-Length of at most {MAX_BODY} bytes"})
                    return
                body = self.rfile.read(int(length))
                status, reply = handle({k.lower(): v for k, v in self.headers.items()}, body)
                self._answer(status, reply)

            def _answer(self, status: int, reply: dict[str, Any]) -> None:
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> _Endpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AlertReceiver(_Endpoint):
    """POST the relayed body here: verified alerts are recorded, every firing alert's
    trigger goes to `on_trigger` (which submits a plan, or hands it to an agent)."""

    def __init__(self, secret: bytes, runtime: IncidentRuntime, on_trigger: Callable[[Trigger], Any], *,
                 rerun_after: float = RERUN_AFTER, clock: Callable[[], float] = time.time) -> None:
        if not secret:
            raise ValueError("the receiver needs the relay's shared secret (an empty one verifies nothing)")
        self.secret = secret
        self.runtime = runtime
        self.on_trigger = on_trigger
        self.rerun_after = rerun_after
        self.clock = clock
        #: Verified alert id -> when its run started.
        self.started: dict[str, float] = {}
        self.lock = threading.Lock()
        super().__init__(self._handle)

    def _handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            incoming = alerts_from_webhook(body, headers.get(SIGNATURE_HEADER.lower()), self.secret)
        except IntakeError as exc:
            return 400, {"error": str(exc)}
        runs = repeats = 0
        with self.lock:  # one alert at a time against the runtime
            now = self.clock()
            self.started = {k: t for k, t in self.started.items() if now - t < self.rerun_after}
            try:
                for alert in incoming:
                    if alert.fields:
                        # Only verified alerts count: an unsigned copy sent first must not
                        # keep the real alert from its run.
                        if alert.trigger.id in self.started:
                            repeats += 1
                            continue
                        self.started[alert.trigger.id] = now
                        self.runtime.record_alert(alert.trigger.id, alert.fields)
                    self.on_trigger(alert.trigger)
                    runs += 1
            except Exception as exc:
                return 500, {"error": f"the alert could not be handed on: {type(exc).__name__}: {exc}"[:500]}
        return 200, {"runs": runs, "verified": sum(bool(a.fields) for a in incoming) - repeats,
                     "repeats": repeats}


class SigningRelay(_Endpoint):
    """Alertmanager's webhook target: checks its bearer token, signs the exact body and
    forwards it to the receiver (a loopback URL)."""

    def __init__(self, receiver_url: str, secret: bytes, token: str) -> None:
        target = urlsplit(receiver_url)
        if target.scheme != "http" or target.hostname not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"the relay forwards to loopback only, not {receiver_url!r}")
        if not secret or not token:
            raise ValueError("the relay needs the shared secret and Alertmanager's bearer token")
        self.target = target
        self.secret = secret
        self.token = token
        self.forwarded = 0
        super().__init__(self._handle)

    def _handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        given = headers.get("authorization", "")
        expected = f"Bearer {self.token}"
        if not self.token or not hmac.compare_digest(given.encode(), expected.encode()):
            return 401, {"error": "Alertmanager's bearer token is missing or wrong: nothing was forwarded"}
        conn = http.client.HTTPConnection(self.target.hostname or "127.0.0.1", self.target.port or 80,
                                          timeout=TIMEOUT)
        try:
            conn.request("POST", self.target.path or "/", body=body, headers={
                "Content-Type": "application/json", SIGNATURE_HEADER: alert_signature(body, self.secret)})
            answer = conn.getresponse()
            reply = answer.read(MAX_BODY)
        except OSError as exc:
            return 502, {"error": f"the receiver did not answer: {exc}"}
        finally:
            conn.close()
        self.forwarded += 1
        try:
            return answer.status, json.loads(reply or b"{}")
        except ValueError:
            return 502, {"error": "the receiver's answer is not JSON"}
