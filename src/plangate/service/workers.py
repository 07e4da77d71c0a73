"""`plangate serve --workers N`: N worker processes behind one port, sharing one listening
socket that this process opens, each taking a new connection only when it holds no more
open connections than the least busy worker.

An agent keeps its connections open and sends request after request on each, so how the
connections are spread over the workers is how the load is. Two ways that spread it badly:

- One socket, and asyncio accepting as usual: a worker woken for new connections accepts
  every connection that is waiting. An agent that opened its pool of 16 at once got all 16
  on one of two workers in 15 of 18 trials, and the other worker idled.
- A socket per worker (`SO_REUSEPORT`, the previous design): the kernel picks a socket by a
  hash of the connection's addresses, so 16 connections split 11/5 or 10/6 as often as
  8/8, and the connections on the busier worker waited longer (`bench service` at
  concurrency 16 on SQLite: p99 21.0 ms with an 11/5 split, 18.7 ms with 8/8).

Here each worker has a thread that waits for the socket to become readable and takes the
connection only if its own count of open connections is not above the lowest count among
the live workers (counts in shared memory, written by each worker); a busier worker leaves
it to the others for `HANDOFF` seconds, then takes it anyway (a less busy worker may be
stuck). The connection is then handed to the worker's event loop, which serves it as
uvicorn serves the connections it accepts.

At the server's start, connections wait (up to `START_WAIT`) until every worker has started,
so that a pool opened at once is spread over all of them. When the server stops, every copy
of the socket is closed first (this process's, and each worker's as it begins to stop), so a
new connection is refused at once while the requests in hand are finished (up to
`STOP_WAIT`); a worker whose supervisor died stops the same way, within that time, and frees
the port for a server started again. The workers' copies are not inherited by programs
they start.

The socket stays open in this process for as long as it runs: a worker that dies loses only
the connections it had accepted; new ones wait in the socket's queue for the other workers
or the replacement. A worker that cannot start for a reason a restart would not change (a
bad policy or credentials file: exit code 3) stops the whole server; one that meets an
unreachable database is started again, a second later. Workers stop when this process dies,
however it dies. The socket listens from the moment it is bound, so no other process, of
this user or another, can bind the port while the server runs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

#: uvicorn's exit code for a worker that could not start serving.
STARTUP_FAILURE = 3
#: Seconds between two starts of the same worker slot (a crash loop must not spin).
RESTART_PAUSE = 1.0
#: Seconds the supervisor gives its workers to finish the requests in hand when it stops.
STOP_WAIT = 15.0
#: A slot's count while its first worker is starting, and while no worker is there.
STARTING, ABSENT = -2, -1
#: Seconds a worker waits, at the server's start, for the other workers to start too (so the
#: connections an agent opens at once are spread over all of them).
START_WAIT = 10.0


class ListenError(OSError):
    """The address cannot be bound (in use, not local, not permitted)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on (host, port), with TCP_NODELAY (which accepted connections
    inherit: asyncio would otherwise leave Nagle on for them, and every response, written as
    headers then body, would wait ~40 ms for the client's delayed ACK).

    SO_REUSEADDR lets a server started again bind while connections of the last one are in
    TIME_WAIT. It lets another socket bind beside this one only while this one does not
    listen, and this one listens at once (between the two calls, a socket that bound first
    makes `listen` fail here)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
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


HANDOFF = 0.1
"""Seconds a worker with more open connections than another leaves a new one to it."""
IDLE_POLL_MS = 50
"""How often an idle worker's accepting thread looks at its stop flag and its count."""
#: A connection whose client closed it (or that failed): no longer load.
_GONE = getattr(select, "POLLRDHUP", 0) | select.POLLHUP | select.POLLERR


def _worker(sock: socket.socket, counts: Any, slot: int) -> None:
    """One worker process: the app, then uvicorn serving it on connections this worker takes
    from the shared socket (`BalancedServer`). A worker that cannot start for a reason a
    restart would not change (a bad policy or credentials file) says why in one line and
    exits with STARTUP_FAILURE: the supervisor then stops. Any other failure (a database
    restarting) exits with 1, and the supervisor starts it again."""
    from plangate.errors import PlangateError, UserError
    from plangate.service.worker import app

    os.set_inheritable(sock.fileno(), False)  # passed down as inheritable: no program this starts keeps it
    _exit_with_parent()
    try:
        application = app()
    except UserError as exc:
        print(f"plangate serve: {exc}", flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    except PlangateError as exc:
        print(f"plangate serve: {exc}", flush=True)
        raise SystemExit(1) from None
    # The requests in hand get as long to finish as the supervisor waits before killing; an
    # orphan (its supervisor gone) then stops too.
    config = uvicorn.Config(application, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=int(STOP_WAIT) - 3)
    BalancedServer(config, sock, counts, slot).run()


class BalancedServer(uvicorn.Server):
    """uvicorn's server with no listening socket of its own: a thread takes connections
    from the shared socket when this worker is among the least busy, and the event loop
    serves each as uvicorn serves a connection it accepted itself."""

    def __init__(self, config: Any, sock: socket.socket, counts: Any, slot: int) -> None:
        super().__init__(config)
        self._sock, self._counts, self._slot = sock, counts, slot
        self._handed = 0  # taken by the thread, not yet a connection of the loop's
        self._handed_lock = threading.Lock()
        self._open: dict[int, socket.socket] = {}  # the loop's connections, by descriptor
        self._open_lock = threading.Lock()
        self._closed = False  # this worker's copy of the socket, closed when it stops
        self._accept_lock = threading.Lock()  # held while the thread takes a connection

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        if not self.started or self.should_exit:
            return
        loop = asyncio.get_running_loop()
        config, state = self.config, self.server_state

        def protocol(conn: socket.socket, fd: int) -> asyncio.Protocol:
            made: Any = config.http_protocol_class(config=config, server_state=state,  # type: ignore[call-arg]
                                                   app_state=self.lifespan.state, _loop=loop)
            lost = made.connection_lost

            def connection_lost(exc: Exception | None) -> None:
                lost(exc)
                with self._open_lock:
                    if self._open.get(fd) is conn:
                        del self._open[fd]
                # At once, not at the accepting thread's next look: a pool closed and opened
                # again (an agent restarting) would all go to the other workers meanwhile.
                self._publish()

            made.connection_lost = connection_lost
            return made  # type: ignore[no-any-return]

        def serve(conn: socket.socket) -> None:
            if self._closed:  # taken just as the worker began to stop: not served (see shutdown)
                conn.close()
                with self._handed_lock:
                    self._handed -= 1
                return
            conn.setblocking(False)
            # Counted from here on as the loop's (its descriptor read now: a connection its
            # client closed at once may be lost, and its socket detached, before the task
            # that sets it up is done).
            fd = conn.fileno()
            with self._open_lock:
                self._open[fd] = conn
            with self._handed_lock:
                self._handed -= 1
            task = loop.create_task(loop.connect_accepted_socket(lambda: protocol(conn, fd), conn))
            task.add_done_callback(lambda t: self._made(t, conn, fd))

        self._sock.setblocking(False)
        threading.Thread(target=self._accept, args=(loop, serve), name="plangate-accept",
                         daemon=True).start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop listening first: this worker's copy of the socket is closed (the port stops
        listening once every copy is, the supervisor's included), so a new connection is
        refused rather than left waiting for a worker that will not take it. Then uvicorn's
        own shutdown: the requests in hand are finished."""
        self._closed = True
        with self._accept_lock:
            self._sock.close()
        self._counts[self._slot] = ABSENT
        await super().shutdown(sockets=sockets)

    def _made(self, task: asyncio.Task[Any], conn: socket.socket, fd: int) -> None:
        if task.cancelled() or task.exception() is not None:
            with self._open_lock:
                if self._open.get(fd) is conn:
                    del self._open[fd]
            conn.close()

    def _accept(self, loop: asyncio.AbstractEventLoop, serve: Callable[[socket.socket], None]) -> None:
        """Take connections until the worker stops. Nothing may end this thread early: a
        worker whose thread died would live on and take no connection again."""
        while not self.should_exit and not self._closed:
            try:
                self._accept_until_stopped(loop, serve)
            except Exception:  # whatever it was, the thread goes on
                time.sleep(0.05)

    def _accept_until_stopped(self, loop: asyncio.AbstractEventLoop,
                              serve: Callable[[socket.socket], None]) -> None:
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        counts, slot = self._counts, self._slot
        waiting_since: float | None = None
        began = time.monotonic()
        while not self.should_exit and not self._closed:
            self._publish()
            if not poller.poll(IDLE_POLL_MS):
                waiting_since = None
                continue
            mine = self._publish()
            now = time.monotonic()
            waiting_since = waiting_since or now
            if STARTING in counts[:] and now - began < START_WAIT:
                time.sleep(0.01)  # the server is starting: every worker takes its share
                continue
            others = [n for i, n in enumerate(counts) if i != slot and n >= 0]
            if others and mine > min(others) and now - waiting_since < HANDOFF:
                time.sleep(0.001)  # a less busy worker takes it
                continue
            with self._accept_lock:
                if self._closed:
                    return
                try:
                    conn, _addr = self._sock.accept()
                except (BlockingIOError, InterruptedError):  # another worker took it
                    waiting_since = None
                    continue
                except OSError:  # out of file descriptors, say: the connection waits
                    time.sleep(0.05)
                    continue
            waiting_since = None
            with self._handed_lock:
                self._handed += 1
            self._publish()
            loop.call_soon_threadsafe(serve, conn)

    def _publish(self) -> int:
        """Write this worker's count of open connections (those taken and not yet served
        included) where the others read it; a stopping worker's slot stays ABSENT."""
        mine = self._live() + self._handed
        if not self._closed:
            self._counts[self._slot] = mine
        return mine

    def _live(self) -> int:
        """The loop's connections that their clients have not closed. A closed one stays
        the loop's until it reads the end, which a loop busy with requests does late: a pool
        closed and opened again at once (a bench's next level, an agent restarting) found
        the busier worker still counting its old connections, and went 9/7 to the other."""
        with self._open_lock:
            fds = list(self._open)
        if not fds:
            return 0
        try:
            poller = select.poll()
            for fd in fds:
                if fd >= 0:
                    poller.register(fd, _GONE)
            gone = sum(1 for _fd, events in poller.poll(0) if events & (_GONE | select.POLLNVAL))
        except (OSError, ValueError):  # counted as open: the worker looks busier, never idler
            gone = 0
        return len(fds) - gone - sum(1 for fd in fds if fd < 0)


class Supervisor:
    """Starts the workers, replaces any that dies, and stops them all on SIGINT or SIGTERM."""

    def __init__(self, host: str, port: int, workers: int, *,
                 say: Callable[[str], None] = print, target: Callable[..., None] = _worker,
                 target_args: tuple[Any, ...] | None = None) -> None:
        self.host, self.port, self.count = host, port, workers
        self.say, self.target = say, target
        self._fixed_args = target_args
        self.stop = threading.Event()
        self.procs: list[BaseProcess] = []
        self.started: list[float] = []
        self.failed = False
        self._context = multiprocessing.get_context("spawn")
        #: Open connections per worker slot (STARTING, ABSENT), in shared memory.
        self.counts: Any = self._context.Array("i", [STARTING] * workers, lock=False)
        self._sock: socket.socket | None = None

    def _start(self, slot: int) -> BaseProcess:
        args = self._fixed_args if self._fixed_args is not None else (self._sock, self.counts, slot)
        proc = self._context.Process(target=self.target, args=args, daemon=False)
        proc.start()
        return proc

    def run(self) -> int:
        """Serve until told to stop. 0 after a stop, 1 if a worker could not start."""
        self._sock = listening_socket(self.host, self.port)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for slot in range(self.count):
                self.procs.append(self._start(slot))
                self.started.append(time.monotonic())
            while not self.stop.wait(0.2):
                self._watch()
        finally:
            self._sock.close()  # first: new connections are refused while the workers finish
            self._stop_all()
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
            self.counts[slot] = ABSENT  # the others stop leaving new connections to it
            if proc.exitcode == STARTUP_FAILURE:
                self.say(f"plangate serve: worker {proc.pid} could not start (see above); stopping")
                self.failed = True
                self.stop.set()
                return
            wait = self.started[slot] + RESTART_PAUSE - time.monotonic()
            if wait > 0 and self.stop.wait(wait):
                return
            self.say(f"plangate serve: worker {proc.pid} exited ({proc.exitcode}); starting another")
            self.procs[slot] = self._start(slot)
            self.started[slot] = time.monotonic()

    def _stop_all(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        deadline = time.monotonic() + STOP_WAIT
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()


__all__ = ["ListenError", "Supervisor", "listening_socket"]
