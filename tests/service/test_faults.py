"""Faults on real processes: `plangate serve` killed with SIGKILL mid-run, PostgreSQL or Redis
killed under a running service, an agent whose tool hangs. Each test starts the servers it
breaks (its own, not the session's) and reads the outcome from the audit log itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")

from plangate.bench.service import _children, _wait_ready
from plangate.service.auth import token_hash
from plangate.storage import open_storage
from servers import free_port, postgres, redis

from .conftest import EXAMPLES, ROLES, TOKENS, example
from .test_api import HOLD, REPLY, TELL


def _creds(folder: Path) -> Path:
    path = folder / "creds.toml"
    lines = [f'session_secret = "{"s" * 64}"']
    for name, tok in TOKENS.items():
        lines += ["[[credential]]", f'name = "{name}"', f'role = "{ROLES[name]}"',
                  f'sha256 = "{token_hash(tok)}"', "rate = 10000"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def serve(folder: Path, db: str, *, redis_url: str | None = None, workers: int = 2,
          call_timeout: float = 300.0) -> Iterator[tuple[httpx.Client, subprocess.Popen[bytes]]]:
    """`plangate serve` in its own process group on a loopback port, and a client for it."""
    port = free_port()
    env = {**os.environ, "PLANGATE_DB": db, "PLANGATE_POLICY": str(EXAMPLES / "assistant-policy.yaml"),
           "PLANGATE_CREDENTIALS": str(_creds(folder))}
    for other in ("PLANGATE_REDIS", "PLANGATE_WITNESS", "PLANGATE_CATALOG", "PLANGATE_CONFIG"):
        env.pop(other, None)
    if redis_url:
        env["PLANGATE_REDIS"] = redis_url
    proc = subprocess.Popen([sys.executable, "-m", "plangate", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--workers", str(workers), "--call-timeout", str(call_timeout)],
                            env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_ready(port, proc)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
            yield client, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def auth(who: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}", **more}


def _kinds(db: str, run_id: str) -> list[str]:
    store = open_storage(db, migrate=False)
    try:
        return [e.kind for e in store.audit.tail(200, run_id=run_id)]
    finally:
        store.close()


def test_a_worker_killed_mid_run_leaves_it_incomplete_and_nothing_runs_twice(tmp_path: Path) -> None:
    """SIGKILL to every process of `plangate serve` after a call was allowed and before its
    result came back: the audit shows the run without `run_finished`, the call recorded once.
    After a restart, the agent's retry (same Idempotency-Key) gets the first answer back, a
    fresh check of the same call is the same outstanding call (not a second one), and the
    run then finishes with each call recorded exactly once."""
    db = str(tmp_path / "plangate.db")
    with serve(tmp_path, db) as (client, proc):
        out = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).json()
        grant, run_id = out["grant"], out["run_id"]
        first = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent", **{"Idempotency-Key": "c0"}))
        assert first.status_code == 200 and first.json()["call"] == 0
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
    kinds = _kinds(db, run_id)
    assert kinds.count("call") == 1 and "run_finished" not in kinds, kinds  # visibly incomplete
    with serve(tmp_path, db) as (client, _proc):
        again = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent", **{"Idempotency-Key": "c0"}))
        assert again.json() == first.json() and again.headers.get("Idempotent-Replay") == "true"
        fresh = client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))
        assert fresh.status_code == 200 and fresh.json()["call"] == 0, fresh.text
        assert _kinds(db, run_id).count("call") == 1
        for i, call in enumerate((HOLD, REPLY, TELL)):
            if i:
                r = client.post(f"/v1/grants/{grant}/check", json=call, headers=auth("agent"))
                assert r.status_code == 200 and r.json()["call"] == i, r.text
            r = client.post(f"/v1/grants/{grant}/results", json={"call": i, "value": "ok"}, headers=auth("agent"))
            assert r.status_code == 200, r.text
        assert r.json()["run_status"] == "completed"
        verify = client.get("/v1/audit/verify", headers=auth("admin")).json()
        assert verify["ok"], verify
    kinds = _kinds(db, run_id)
    assert [k for k in kinds if k == "call"] == ["call"] * 3 and kinds[-1] == "run_finished", kinds


def test_a_hanging_tool_times_out_and_the_run_is_stopped_without_another_request(tmp_path: Path) -> None:
    """The agent's tool hangs and it never reports: each worker's sweeper records the
    `timeout` and stops the run after `--call-timeout`, with no further request on the
    grant; a late result is refused (410)."""
    db = str(tmp_path / "plangate.db")
    with serve(tmp_path, db, call_timeout=1.0) as (client, _proc):
        out = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).json()
        assert client.post(f"/v1/grants/{out['grant']}/check", json=HOLD, headers=auth("agent")).status_code == 200
        deadline = time.time() + 20
        while "run_finished" not in _kinds(db, out["run_id"]) and time.time() < deadline:
            time.sleep(0.3)
        kinds = _kinds(db, out["run_id"])
        assert "timeout" in kinds and kinds[-1] == "run_finished", kinds
        late = client.post(f"/v1/grants/{out['grant']}/results", json={"call": 0, "value": "late"},
                           headers=auth("agent"))
        assert late.status_code == 410, late.text
    store = open_storage(db, migrate=False)
    try:
        assert store.audit.tail(1, run_id=out["run_id"])[0].data["status"] == "timed_out"
    finally:
        store.close()


def _pg_restart_command(url: str) -> tuple[list[str], int]:
    """The postmaster's PID and the command that starts it again on the same data and port."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        data = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        port = int(conn.execute("SHOW port").fetchone()[0])  # type: ignore[index]
    pid = int(Path(data, "postmaster.pid").read_text().split()[0])
    binary = Path(os.readlink(f"/proc/{pid}/exe"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return [*as_user, str(binary), "-D", data, "-p", str(port), "-h", "127.0.0.1", "-k",
            str(Path(data).parent)], pid


def _wait_sql(url: str, seconds: float = 30) -> None:
    import psycopg

    deadline = time.time() + seconds
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def _down(client: httpx.Client, grant: str, approval: str) -> list[tuple[str, int, Any]]:
    """What a backend outage answers: submit, check, decide."""
    answers = [
        ("submit", client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent"))),
        ("check", client.post(f"/v1/grants/{grant}/check", json=HOLD, headers=auth("agent"))),
        ("decide", client.post(f"/v1/approvals/{approval}/decision", json={"decision": "approve", "reason": "ok"},
                               headers=auth("approver"))),
        ("healthz", client.get("/healthz")),
    ]
    return [(what, r.status_code, r.json()) for what, r in answers]


@pytest.mark.parametrize("victim", ["postgresql", "redis"])
def test_postgres_or_redis_down_answers_503_and_nothing_is_approved_or_run(tmp_path: Path, victim: str) -> None:
    """Kill PostgreSQL (or Redis) under a running two-worker service: submit, check and
    decide all get 503 naming the storage, /healthz too. Restarted, the service answers
    again by itself: the approval is still pending, the call asked for during the outage was
    never recorded, and the chain verifies."""
    import redis as redis_client

    from servers import new_database

    with postgres() as pg_url, redis() as redis_url:
        db = new_database(pg_url, "faults")
        with serve(tmp_path, db, redis_url=redis_url) as (client, _proc):
            out = client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).json()
            approval = client.post("/v1/plans", json=example("payment-escalates"), headers=auth("agent")).json()
            assert out["grant"] and approval["approval"]
            if victim == "postgresql":
                command, pid = _pg_restart_command(db)
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown: every connection drops
            else:
                r = redis_client.Redis.from_url(redis_url)
                pid = int(r.info("server")["process_id"])
                port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
                os.kill(pid, signal.SIGKILL)
                command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", str(tmp_path)]
            time.sleep(0.5)
            for what, status, body in _down(client, out["grant"], approval["approval"]):
                assert status == 503, (what, status, body)
                assert victim in body["error"] or "storage" in body["error"], (what, body)
            restarted = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                if victim == "postgresql":
                    _wait_sql(db)
                else:
                    time.sleep(0.5)
                # Each worker finds its dead connection at its next request (one more 503,
                # nothing run) and opens a new one: poll until every answer is 200 again.
                deadline = time.time() + 30
                while time.time() < deadline:
                    answers = [client.get("/healthz").status_code,
                               client.get(f"/v1/approvals/{approval['approval']}/status", headers=auth("agent"))]
                    if answers[0] == 200 and answers[1].status_code == 200:
                        break
                    assert answers[1].status_code == 503, answers[1].text
                    time.sleep(0.3)
                status = answers[1].json()
                assert status["status"] == "pending", status
                assert "call" not in _kinds(db, out["run_id"])
                assert client.get("/v1/audit/verify", headers=auth("admin")).json()["ok"]
            finally:
                restarted.terminate()
                restarted.wait(20)
