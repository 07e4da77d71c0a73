"""`plangate bench service`: the HTTP service under load, driven from a second process.

`plangate serve` starts on a loopback port with two workers on a SQLite file (a temporary
folder: credentials, database, witness), and this process sends it reviews: a stranger's
meeting request (hold, reply to the sender, note to the owner) under the shipped perf
policy, `POST /v1/plans`, each a full review with its audit writes. Keep-alive HTTP/1.1
connections from one asyncio loop, as many as the concurrency (1, 16, 64), each level for
`seconds`; then a soak at 16 for `soak_seconds` (the issue asks for 5 minutes; the default
is 60 s) with the workers' resident memory read from /proc before and after.

Figures: `reviews_per_s_cN`, `p50_ms_cN`, `p99_ms_cN` (N = 1, 16, 64), `errors` (any
answer but 200 with an approve verdict, or a broken connection, over the whole run), `soak_seconds`,
`soak_reviews_per_s`, `rss_start_mb`, `rss_end_mb`, `rss_growth_mb`. The client shares the
machine with the server: on a small machine its own CPU time is part of what is measured.
`server_cpu_ms_per_review_cN` is the CPU time the server's processes spent per review (from
/proc) and `client_cpu_ms_per_review_cN` this load generator's: other load on a shared
machine disturbs them far less than the rates. `database_cpu_ms_per_review_cN` is PostgreSQL's
and Redis's, `kernel_cpu_ms_per_review_cN` the kernel threads' (writing files back and the like):
what else a review costs the machine.

Backends: SQLite (the default), or `backend="postgres"`: PostgreSQL for everything and Redis
for limits and run counts, at `db` / `redis` when given, else started here from the Debian
packages on loopback in a temporary folder (and stopped after).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from plangate.bench.perf import POLICY
from plangate.errors import UserError

LEVELS = (1, 16, 64)
TOKEN = "pgt_bench-agent-token-0123456789abcdef"
TRIGGER = {"channel": "email", "principal": "Carol Client <carol@newclient.example>",
           "evidence": {"dmarc": "pass"},
           "payload": "Hi! Could we meet on 2026-12-02 at 10:00 to discuss a project? Thanks, Carol"}
PLAN = {"version": 1, "request_type": "meeting_request", "steps": [
    {"id": "hold", "tool": "calendar_hold",
     "args": {"title": {"literal": "Tentative: meeting request", "origin": "planner"},
              "start": {"literal": "2026-12-02", "origin": "payload"},
              "end": {"literal": "2026-12-02", "origin": "payload"}}},
    {"id": "reply", "tool": "mail_reply",
     "args": {"in_reply_to": {"literal": "m-1", "origin": "planner"},
              "to": {"list": [{"ref": "trigger", "path": "principal"}]},
              "body": {"literal": "Thanks, pencilled in; I will confirm shortly.", "origin": "planner"}}},
    {"id": "tell", "tool": "notify_owner",
     "args": {"text": {"literal": "Meeting request from a new client", "origin": "planner"}}}]}


_MAILS = itertools.count()
"""Numbers the mails the load sends, across load levels: each request is another mail."""


def submit_bodies() -> Iterator[bytes]:
    """`POST /v1/plans` bodies, each another mail (its own trigger id): one mail's runs share
    its budget, so the same mail again and again would be reviewed against a spent budget."""
    head, _, tail = json.dumps({"trigger": {**TRIGGER, "id": "@@"}, "plan": PLAN}).partition("@@")
    while True:
        yield f"{head}<{os.getpid()}.{next(_MAILS):012d}@newclient.example>{tail}".encode()

_APPROVED = re.compile(rb'"verdict"\s*:\s*"approve"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _machine_cpu() -> dict[str, float]:
    """CPU seconds so far of the machine's databases (PostgreSQL's and Redis's processes) and
    of its kernel threads (`kworker` and the like, whatever their names: a kernel worker's
    name changes with its work). On a shared machine other work shows up here too."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {"database": 0.0, "kernel": 0.0}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat.rpartition(")")[2].split()
        group = ("database" if name.startswith(("postgres", "redis")) else
                 "kernel" if int(fields[1]) == 2 else None)  # a kernel thread's parent is kthreadd
        if group is not None:
            out[group] += (int(fields[11]) + int(fields[12])) / ticks
    return out


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class _Conn:
    """One keep-alive HTTP/1.1 connection that posts reviews (`request()` gives each one)."""

    def __init__(self, port: int, request: Callable[[], bytes]) -> None:
        self.port, self.request = port, request
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            sock = self.writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert self.reader is not None
        self.writer.write(self.request())
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = await self.reader.readexactly(length)
        # A review that is not approved is not what this benchmark measures: an error.
        return status if status != 200 or _APPROVED.search(body) else -1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _load(port: int, concurrency: int, seconds: float) -> tuple[list[float], int]:
    bodies = submit_bodies()

    def request() -> bytes:
        body = next(bodies)
        return (f"POST /v1/plans HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {TOKEN}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    latencies: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        conn = _Conn(port, request)
        try:
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                try:
                    status = await conn.post()
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    errors += 1
                    conn.close()
                    await asyncio.sleep(0.05)
                    continue
                if status == 200:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    return latencies, errors


def _wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"plangate serve exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"plangate serve did not answer on 127.0.0.1:{port} within {seconds:.0f} s")


@contextlib.contextmanager
def _postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server from the Debian package on a loopback port; yields its URL."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        raise UserError("bench service --backend postgres needs PostgreSQL (Debian package postgresql) "
                        "or --db postgresql://...")
    # Its own folder: PostgreSQL's user must reach it (the bench's folder is private to us).
    data = Path(tempfile.mkdtemp(prefix="plangate-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    made = subprocess.run([*as_user, str(bins[-1] / "initdb"), "-D", str(data / "db"), "-U", "plangate",
                           "--auth=trust", "-E", "UTF8", "--locale=C"], capture_output=True, text=True)
    if made.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        raise UserError(f"bench service: initdb failed: {made.stderr.strip()[-300:]}")
    proc = subprocess.Popen([*as_user, str(bins[-1] / "postgres"), "-D", str(data / "db"), "-p", str(port),
                             "-h", "127.0.0.1", "-k", str(data), "-c", "max_connections=100"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"postgresql://plangate@127.0.0.1:{port}/postgres"
        import psycopg

        deadline = time.time() + 60
        while True:  # accepting TCP is not yet accepting queries
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except Exception:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("PostgreSQL did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        _stop(proc)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def _redis(folder: Path) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise UserError("bench service --backend postgres needs Redis (Debian package redis-server) "
                        "or --redis redis://...")
    port = _free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("Redis did not start") from None
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _level(port: int, level: float, seconds: float, pids: list[int]
           ) -> tuple[list[float], int, float, float, dict[str, float]]:
    """Latencies, errors, the server's and this client's CPU seconds of one load level, and
    the databases' and kernel threads' (`_machine_cpu`)."""
    cpu, mine, machine = _cpu_seconds(pids), time.process_time(), _machine_cpu()
    lat, errs = asyncio.run(_load(port, int(level), seconds))
    after = _machine_cpu()
    return (lat, errs, _cpu_seconds(pids) - cpu, time.process_time() - mine,
            {k: after[k] - machine[k] for k in after})


def run(*, seconds: float = 5.0, soak_seconds: float = 60.0, workers: int = 2, backend: str = "sqlite",
        db: str | None = None, redis: str | None = None, say: Callable[[str], None] = print) -> dict[str, Any]:
    from plangate.service.auth import token_hash

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="plangate-bench-service-")))
        if backend == "postgres":
            db = db or stack.enter_context(_postgres(folder))
            redis = redis or stack.enter_context(_redis(folder))
            witness = redis
        elif backend == "sqlite":
            db, redis, witness = str(folder / "plangate.db"), None, str(folder / "witness.db")
        else:
            raise UserError(f"bench service: unknown backend {backend!r} (sqlite or postgres)")
        creds = folder / "creds.toml"
        creds.write_text(f'session_secret = "{os.urandom(32).hex()}"\n[[credential]]\nname = "bench"\n'
                         f'role = "agent"\nsha256 = "{token_hash(TOKEN)}"\nrate = 1000000\n', encoding="utf-8")
        port = _free_port()
        env = {**os.environ, "PLANGATE_DB": db, "PLANGATE_POLICY": str(POLICY),
               "PLANGATE_CREDENTIALS": str(creds), "PLANGATE_WITNESS": witness}
        for other in ("PLANGATE_REDIS", "PLANGATE_CATALOG", "PLANGATE_CONFIG", "PLANGATE_MODEL"):
            env.pop(other, None)
        if redis:
            env["PLANGATE_REDIS"] = redis
        proc = subprocess.Popen([sys.executable, "-m", "plangate", "serve", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", str(workers)],
                                env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        stack.callback(_stop, proc)
        _wait_ready(port, proc)
        lat, errs = asyncio.run(_load(port, 4, 1.0))  # warm up every worker's caches
        if not lat:
            raise RuntimeError(f"no review succeeded in the warm-up ({errs} errors)")
        pids = [proc.pid, *_children(proc.pid)]
        out: dict[str, Any] = {"workers": workers, "seconds_per_level": seconds,
                               "storage": "sqlite" if backend == "sqlite" else "postgresql+redis",
                               "cpus": os.cpu_count()}
        errors = 0
        for level in LEVELS:
            lat, errs, cpu, client_cpu, machine = _level(port, level, seconds, pids)
            errors += errs
            ordered = sorted(lat) or [0.0]
            out[f"reviews_per_s_c{level}"] = round(len(lat) / seconds, 1)
            out[f"p50_ms_c{level}"] = round(statistics.median(ordered), 2)
            out[f"p99_ms_c{level}"] = round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2)
            out[f"server_cpu_ms_per_review_c{level}"] = round(cpu * 1000 / max(len(lat), 1), 2)
            out[f"client_cpu_ms_per_review_c{level}"] = round(client_cpu * 1000 / max(len(lat), 1), 2)
            for group, spent in machine.items():  # database_cpu_..., kernel_cpu_...
                out[f"{group}_cpu_ms_per_review_c{level}"] = round(spent * 1000 / max(len(lat), 1), 2)
            say(f"concurrency {level:>2}: {out[f'reviews_per_s_c{level}']:>7} reviews/s, "
                f"p50 {out[f'p50_ms_c{level}']} ms, p99 {out[f'p99_ms_c{level}']} ms, {errs} errors, "
                f"server CPU {out[f'server_cpu_ms_per_review_c{level}']} ms/review (databases "
                f"{out[f'database_cpu_ms_per_review_c{level}']}, "
                f"kernel threads {out[f'kernel_cpu_ms_per_review_c{level}']})")
        workers_only = _children(proc.pid) or [proc.pid]
        rss_start = _rss_mb(workers_only)
        lat, errs = asyncio.run(_load(port, 16, soak_seconds))
        rss_end = _rss_mb(workers_only)
        errors += errs
        out.update(soak_seconds=soak_seconds, soak_reviews_per_s=round(len(lat) / max(soak_seconds, 1e-9), 1),
                   soak_errors=errs, rss_start_mb=round(rss_start, 1), rss_end_mb=round(rss_end, 1),
                   rss_growth_mb=round(rss_end - rss_start, 1), worker_pids=len(workers_only), errors=errors)
        say(f"soak {soak_seconds:g} s at 16: {out['soak_reviews_per_s']} reviews/s, {errs} errors; "
            f"workers' RSS {rss_start:.1f} -> {rss_end:.1f} MB ({out['rss_growth_mb']:+} MB)")
        if backend == "sqlite":  # the write-ahead log must stay bounded under load
            wal = Path(db + "-wal")
            out["wal_mb"] = round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0
            out["db_mb"] = round(Path(db).stat().st_size / 1e6, 1)
            say(f"SQLite after the run: database {out['db_mb']} MB, write-ahead log {out['wal_mb']} MB")
        return out


def main(*, json_path: str | None, seconds: float, soak_seconds: float, workers: int = 2,
         backend: str = "sqlite", db: str | None = None, redis: str | None = None,
         say: Callable[[str], None] = print) -> int:
    out = run(seconds=seconds, soak_seconds=soak_seconds, workers=workers, backend=backend, db=db,
              redis=redis, say=say)
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0 if out["errors"] == 0 else 1


__all__ = ["LEVELS", "main", "run"]
