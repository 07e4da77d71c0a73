"""Review round 16: `plangate serve --workers N`'s supervisor (src/plangate/service/workers.py).

1. The port kept bound by the supervisor (the "reserve": bound, not listening) is bound with
   SO_REUSEADDR. On Linux, SO_REUSEADDR lets any socket that also sets it bind an address
   whose sockets are all non-listening, whatever its owner's uid. So while no worker
   listens (the second or so while the workers start, or after they all died), a process of
   ANOTHER user binds the port and listens; the supervisor's workers then cannot bind
   (EADDRINUSE: a listening socket of another uid), exit with code 3, and the supervisor stops
   the server. The docstring promises the opposite ("no other user can take it").
2. Workers outlive a supervisor killed by SIGKILL (or OOM-killed): they keep serving, and a
   `plangate serve` started again on the same port joins them in the same SO_REUSEPORT group
   (same uid), so part of the connections keep reaching the old generation (old policy, old
   credentials - a revoked agent token still works there). Before, the second server's bind
   failed while the orphans listened.
3. A replacement for a worker that died was stopped-for-good on exit code 3, which
   `_worker` used for any `PlangateError`, including `StorageUnavailable` (PostgreSQL
   restarting): one crash during a database blip stopped the whole server for good. Now
   only errors a restart would not change (`UserError`: a bad policy or credentials file)
   exit with 3.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")

from plangate.bench.service import _children
from plangate.service.workers import Supervisor, listening_socket
from servers import free_port

_ATTACKER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(16)
except OSError as exc:
    print("refused:", exc, flush=True)
    sys.exit(1)
print("listening", flush=True)
sys.stdin.read()  # hold the port until told
"""

_SUPERVISE = r"""
import sys, time
from plangate.service.workers import Supervisor
# Workers that take a while before they listen (spawn + imports + app(): about a second in
# `plangate serve`); here they never do, so the window stays open for the test.
sys.exit(Supervisor("127.0.0.1", int(sys.argv[1]), 2, target=time.sleep, target_args=(60,)).run())
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists(),
                    reason="needs root to run a process as another user")
def test_another_user_cannot_take_the_port_while_no_worker_listens() -> None:
    port = free_port()
    supervisor = subprocess.Popen([sys.executable, "-c", _SUPERVISE, str(port)], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while not _children(supervisor.pid):  # the reserve is bound before the first worker starts
            assert time.monotonic() < deadline and supervisor.poll() is None
            time.sleep(0.05)
        other = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                  sys.executable, "-c", _ATTACKER, str(port)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert other.stdout is not None
            answer = other.stdout.readline().strip()
            # What a worker of the server meets now, if the other user got the port:
            worker_bind = "ok"
            try:
                listening_socket("127.0.0.1", port).close()
            except OSError as exc:
                worker_bind = str(exc)
        finally:
            other.communicate("", timeout=30)
        assert answer.startswith("refused"), (
            f"uid 65534 bound and listened on the supervisor's port: {answer}; a worker's bind then: {worker_bind}")
    finally:
        os.killpg(supervisor.pid, signal.SIGTERM)
        supervisor.wait(30)


def test_workers_do_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    from service.test_faults import serve
    from service.test_workers import _is_worker

    with serve(tmp_path, str(tmp_path / "plangate.db")) as (client, proc):
        port = int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))
        workers = [p for p in _children(proc.pid) if _is_worker(p)]
        assert len(workers) == 2
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor alone (OOM killer, kill -9)
        proc.wait(10)
        try:
            time.sleep(5)
            alive = [p for p in workers if _alive(p)]
            second = "refused"
            try:
                listening_socket("127.0.0.1", port).close()  # a `plangate serve` started again
                second = "bound beside them"
            except OSError:
                pass
        finally:
            for pid in workers:  # `serve` only cleans up after a supervisor still running
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        assert not alive, (f"workers {alive} still serve port {port} 5 s after their supervisor died; "
                           f"a new server on the port: {second}")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def test_a_worker_that_meets_an_unreachable_database_is_started_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real worker, with a database that does not answer (PostgreSQL restarting): it
    exits with 1, not STARTUP_FAILURE, and the supervisor keeps starting it (it failed with
    3 and stopped the server for good before the fix)."""
    from plangate.bench.perf import POLICY
    from plangate.service.auth import token_hash

    creds = tmp_path / "creds.toml"
    creds.write_text(f'session_secret = "{"s" * 64}"\n[[credential]]\nname = "a"\nrole = "agent"\n'
                     f'sha256 = "{token_hash("pgt_x" * 8)}"\n', encoding="utf-8")
    monkeypatch.setenv("PLANGATE_POLICY", str(POLICY))
    monkeypatch.setenv("PLANGATE_CREDENTIALS", str(creds))
    monkeypatch.setenv("PLANGATE_DB", f"postgresql://plangate@127.0.0.1:{free_port()}/nothing")
    for other in ("PLANGATE_REDIS", "PLANGATE_WITNESS", "PLANGATE_CATALOG", "PLANGATE_CONFIG"):
        monkeypatch.delenv(other, raising=False)
    said: list[str] = []

    def say(line: str) -> None:  # stop once the worker was started again (or it stopped)
        said.append(line)
        if "starting another" in line:
            supervisor.stop.set()

    supervisor = Supervisor("127.0.0.1", free_port(), 1, say=say)
    timer = threading.Timer(60.0, supervisor.stop.set)  # a slow machine's worst case
    timer.start()
    try:
        code = supervisor.run()
    finally:
        timer.cancel()
    assert code == 0 and not supervisor.failed, (
        f"a worker that met an unreachable database stopped the server: {said}")
    assert any("exited (1); starting another" in line for line in said), said
