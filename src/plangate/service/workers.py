"""`plangate serve --workers N`: N worker processes behind one port, each accepting on a
listening socket of its own.

Why not one socket shared by every worker (what uvicorn's own `workers=` does): a worker
woken for new connections accepts every connection that is waiting. An agent that opens its
keep-alive connections together (a pool of 16 at start) got all 16 on one of two workers
in 15 of 18 trials, and the other worker idled: `bench service` at concurrency 16 measured
one worker (~1,270 reviews/s; ~1,650-1,800 with the connections spread). With
`SO_REUSEPORT` each worker listens on its own socket, and the kernel spreads new connections
over the sockets by a hash of their addresses, at connect time, whichever worker is awake.

A worker that dies takes its socket with it: the kernel sends new connections to the others
until this process starts a replacement (connections still waiting in the dead worker's
queue are reset). A worker that cannot start for a reason a restart would not change (a bad
policy or credentials file: exit code 3) stops the whole server; one that meets an
unreachable database is started again, a second later. Workers stop when this process dies,
however it dies.

`SO_REUSEPORT` lets another process of the same user bind the same port and receive a share
of the connections (a process of another user cannot): run the service as a user of its own.
This process keeps the port bound, without listening, for as long as it runs, so that no
other user can take it between a worker's death and its replacement.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

#: uvicorn's exit code for a worker that could not start serving.
STARTUP_FAILURE = 3
#: Seconds between two starts of the same worker slot (a crash loop must not spin).
RESTART_PAUSE = 1.0


class ListenError(OSError):
    """The address cannot be bound (in use, not local, not permitted)."""


def listening_socket(host: str, port: int, *, listen: bool = True) -> socket.socket:
    """A TCP socket bound to (host, port) with SO_REUSEPORT and TCP_NODELAY (which accepted
    connections inherit: asyncio would otherwise leave Nagle on for them, and every response,
    written as headers then body, would wait ~40 ms for the client's delayed ACK).

    Never SO_REUSEADDR: on Linux it lets a socket of any user that sets it too bind beside
    sockets that do not listen, so while no worker listened (workers starting, or all dead)
    another user could have taken the port from the supervisor's bound socket."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        if listen:
            sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ListenError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _exit_with_parent() -> None:
    """Stop this worker (SIGTERM: uvicorn finishes the requests in hand) when the supervisor
    dies, even by SIGKILL: an orphan would go on serving with the old policy and credentials,
    and a `plangate serve` started again (same user) would share the port with it."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="plangate-parent-watch", daemon=True).start()


def _worker(host: str, port: int) -> None:
    """One worker process: the app, its own socket, then uvicorn serving the app on it. A
    worker that cannot start for a reason a restart would not change (a bad policy or
    credentials file, an address it cannot bind) says why in one line and exits with
    STARTUP_FAILURE: the supervisor then stops. Any other failure (a database restarting)
    exits with 1, and the supervisor starts it again."""
    import uvicorn

    from plangate.errors import PlangateError, UserError
    from plangate.service.worker import app

    _exit_with_parent()
    try:
        application = app()
        sock = listening_socket(host, port)
    except (UserError, ListenError) as exc:
        print(f"plangate serve: {exc.strerror if isinstance(exc, ListenError) else exc}", flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    except PlangateError as exc:
        print(f"plangate serve: {exc}", flush=True)
        raise SystemExit(1) from None
    config = uvicorn.Config(application, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts the workers, replaces any that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, *,
                 say: Callable[[str], None] = print, target: Callable[..., None] = _worker,
                 target_args: tuple[Any, ...] | None = None) -> None:
        self.host, self.port, self.count = host, port, workers
        self.say, self.target = say, target
        self.target_args = (host, port) if target_args is None else target_args
        self.stop = threading.Event()
        self.procs: list[BaseProcess] = []
        self.started: list[float] = []
        self.failed = False
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> BaseProcess:
        proc = self._context.Process(target=self.target, args=self.target_args, daemon=False)
        proc.start()
        return proc

    def run(self) -> int:
        """Serve until told to stop. 0 after a stop, 1 if a worker could not start."""
        reserve = listening_socket(self.host, self.port, listen=False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for _ in range(self.count):
                self.procs.append(self._start())
                self.started.append(time.monotonic())
            while not self.stop.wait(0.2):
                self._watch()
        finally:
            self._stop_all()
            reserve.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self.failed else 0

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self.stop.set()

    def _watch(self) -> None:
        for slot, proc in enumerate(self.procs):
            if proc.is_alive():
                continue
            proc.join()
            if proc.exitcode == STARTUP_FAILURE:
                self.say(f"plangate serve: worker {proc.pid} could not start (see above); stopping")
                self.failed = True
                self.stop.set()
                return
            wait = self.started[slot] + RESTART_PAUSE - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                return
            self.say(f"plangate serve: worker {proc.pid} exited ({proc.exitcode}); starting another")
            self.procs[slot] = self._start()
            self.started[slot] = time.monotonic()

    def _stop_all(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + 15
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()


__all__ = ["ListenError", "Supervisor", "listening_socket"]
