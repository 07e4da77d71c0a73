"""Review round 17: `plangate serve --workers N` with one listening socket held by the
supervisor and passed to every worker (src/plangate/service/workers.py, d1dbc1f).

Every worker holds a copy of the listening socket, and nothing closes any copy when a
shutdown starts: `BalancedServer`'s accepting thread just stops taking connections, and the
supervisor closes its copy only after the last worker has exited. While a request is in hand
(an upload in progress, or a client that sends its headers and then its body slowly: uvicorn
has no read timeout), the port keeps listening and nobody accepts:

1. `plangate serve` stopping (SIGTERM, Ctrl-C): a new connection is accepted by the kernel,
   the client sends its request, and it gets no answer, then (up to 15 s later, when the
   supervisor closes the socket) a reset: the request may or may not have been acted on, as
   far as the client can tell. Before d1dbc1f (and with one worker: uvicorn closes its
   server first) the connection was refused at once.
2. The supervisor killed (SIGKILL, OOM killer): each orphaned worker gets SIGTERM from its
   parent watch and waits for its requests in hand - forever for one a client never
   finishes - and holds the port listening meanwhile, so a `plangate serve` started again
   (systemd's restart) cannot bind it: "Address already in use", for as long as a client
   likes. Before d1dbc1f the orphans' sockets closed on SIGTERM and the port was free at once.

Both are regressions (tests pass on d1dbc1f^). Fix: close the listening socket when shutdown
starts - the supervisor its copy as soon as it is told to stop (before `_stop_all`'s wait),
each worker its copy when `should_exit` is seen (`BalancedServer.shutdown`, before waiting for
connections; the accepting thread must then not touch it) - so the port stops listening once
the last copy is closed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")

from plangate.service.workers import ListenError, listening_socket


def _in_hand(port: int) -> socket.socket:
    """A request whose body is still coming: the worker's app waits for the rest of it."""
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"POST /v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n{\"plan\":")
    return c


def _new_request(port: int) -> str:
    """What a client starting a request now meets: 'refused', 'answered', or 'no answer'."""
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError:
        return "refused"
    with c:
        c.settimeout(2.5)
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = c.recv(100)
        except TimeoutError:
            return "no answer (connected, request sent, nothing back in 2.5 s)"
        except OSError as exc:
            return f"reset after the request was sent ({exc})"
        return "answered" if data.startswith(b"HTTP/1.1") else f"closed ({data!r})"


def _port(client: object) -> int:
    return int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))  # type: ignore[attr-defined]


def test_new_connections_are_refused_once_the_server_is_stopping(tmp_path: Path) -> None:
    from service.test_faults import serve

    with serve(tmp_path, str(tmp_path / "plangate.db")) as (client, proc):
        port = _port(client)
        held = [_in_hand(port) for _ in range(4)]  # both workers hold one, most likely
        try:
            time.sleep(0.5)
            os.kill(proc.pid, signal.SIGTERM)  # `plangate serve` told to stop
            time.sleep(1.0)  # the workers have seen it; their requests in hand go on
            assert proc.poll() is None  # still finishing those
            met = _new_request(port)
        finally:
            for c in held:  # the requests in hand end: the server stops at once
                c.close()
        assert met in ("refused", "answered"), (
            f"a request started while the server was stopping: {met}; the port still listens "
            "(the supervisor's socket) but no worker accepts any more")


def test_orphaned_workers_do_not_keep_the_port_from_a_restarted_server(tmp_path: Path) -> None:
    from service.test_faults import serve

    with serve(tmp_path, str(tmp_path / "plangate.db")) as (client, proc):
        port = _port(client)
        held = [_in_hand(port) for _ in range(4)]
        try:
            time.sleep(0.5)
            os.kill(proc.pid, signal.SIGKILL)  # the supervisor alone (OOM killer, kill -9)
            proc.wait(10)
            time.sleep(3.0)  # the orphans got SIGTERM from their parent watch long ago
            restarted = "bound"
            try:
                listening_socket("127.0.0.1", port).close()  # `plangate serve` started again
            except ListenError as exc:
                restarted = str(exc.strerror)
        finally:
            for c in held:
                c.close()
            with contextlib.suppress(OSError):  # the orphans are still in its process group
                os.killpg(proc.pid, signal.SIGKILL)
        assert restarted == "bound", (
            f"3 s after the supervisor died, a server started again on port {port}: {restarted} "
            "(orphaned workers keep the shared listening socket while a client holds a request open)")


def _listening_inode(port: int) -> str:
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return fields[9]
    raise AssertionError(f"nothing listens on {port}")


def test_the_workers_copy_of_the_listening_socket_is_close_on_exec(tmp_path: Path) -> None:
    """The socket reaches each worker through multiprocessing's fd passing (SCM_RIGHTS,
    received without MSG_CMSG_CLOEXEC), so the worker's copy is inheritable: any program a
    worker starts without closing descriptors (os.system, os.posix_spawn, a library's own
    fork/exec) inherits the listening socket and keeps the port after the server stops - for
    as long as that program runs. Before d1dbc1f each worker opened its own socket (Python
    sockets are close-on-exec). Fix: `os.set_inheritable(sock.fileno(), False)` in `_worker`."""
    from plangate.bench.service import _children
    from service.test_faults import serve
    from service.test_workers import _is_worker

    with serve(tmp_path, str(tmp_path / "plangate.db")) as (client, proc):
        port = _port(client)
        inode = _listening_inode(port)
        inheritable = []
        for pid in [p for p in _children(proc.pid) if _is_worker(p)]:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") != f"socket:[{inode}]":
                        continue
                    with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                        flags = int(next(line for line in f if line.startswith("flags")).split()[1], 8)
                    if not flags & os.O_CLOEXEC:
                        inheritable.append((pid, int(fd)))
        assert not inheritable, f"workers hold the listening socket without close-on-exec: {inheritable}"
