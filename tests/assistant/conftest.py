"""Local servers for the assistant's tests: a loopback web server (fast tests), and a
private Dovecot plus an aiosmtpd sink (the slow, real-service tests).

Dovecot runs from a config written into a fresh temp dir: IMAP only, on 127.0.0.1 and
a free port, one user from a passwd-file, Maildir under the temp dir, no SSL. The
master runs as root with `-F -c CONFIG`; Dovecot refuses to run login processes or
mail access as root, so logins run as `dovenull` and mail as `mail` (both created by
the Debian package), which is why the temp dir is world-traversable.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from servers import dovecot_root

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
IMAP_USER, IMAP_PASSWORD = "owner", "not-a-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# ---- web ---------------------------------------------------------------------------------
@dataclass
class WebServer:
    url: str
    requests: list[tuple[str, str]] = field(default_factory=list)  # (Host header, path)


@pytest.fixture
def web() -> Iterator[WebServer]:
    """Plays every site: answers with the Host and path it was asked for; `/moved`
    redirects to another host, `/loop` redirects to itself."""
    server_state = WebServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            host = self.headers.get("Host", "")
            server_state.requests.append((host, self.path))
            if self.path.startswith("/moved"):
                self.send_response(302)
                self.send_header("Location", "http://second.example/landing")
                self.end_headers()
                return
            if self.path.startswith("/loop"):
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
                return
            body = f"page for {host}{self.path}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# ---- Dovecot -----------------------------------------------------------------------------
@dataclass
class Dovecot:
    port: int
    user: str
    password: str
    root: Path


def _dovecot_unavailable() -> str | None:
    if not os.path.exists(DOVECOT):
        return "dovecot is not installed (PLANGATE_SETUP_SERVICES=1 scripts/setup installs it)"
    if os.geteuid() != 0:
        return "the Dovecot test config needs root (it runs mail as the `mail` user)"
    for user in ("dovenull", "dovecot", "mail"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"system user {user!r} is missing (the dovecot-core package creates it)"
    return None


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    reason = _dovecot_unavailable()
    if reason:
        pytest.skip(reason)
    port = free_port()
    root = dovecot_root("plangate-dovecot-", IMAP_USER, IMAP_PASSWORD, port)
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc)
        yield Dovecot(port=port, user=IMAP_USER, password=IMAP_PASSWORD, root=root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        shutil.rmtree(root, ignore_errors=True)


# ---- SMTP --------------------------------------------------------------------------------
@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class SmtpSink:
    port: int
    received: list[Received]


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    controller_module = pytest.importorskip("aiosmtpd.controller",
                                            reason="aiosmtpd is not installed (the `inbox` extra)")
    Controller = controller_module.Controller
    received: list[Received] = []

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                     bytes(envelope.original_content or envelope.content)))
            return "250 Message accepted"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpSink(port=port, received=received)
    finally:
        controller.stop()
