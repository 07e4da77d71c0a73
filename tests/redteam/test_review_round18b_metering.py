"""Review round 18b: metering of plan submissions with their runs (3b60e37, b894527), the
workers' live-connection count (bcfb6ea) and the one-pass storable-text check (942070b).

Each test fails on the code as reviewed because of the defect its docstring names."""

from __future__ import annotations

import json
import socket
import struct
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="the service extra is not installed")


def _port(client: object) -> int:
    return int(str(client.base_url).rsplit(":", 1)[1].rstrip("/"))  # type: ignore[attr-defined]


def _answers(port: int, timeout: float = 3.0) -> str:
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as exc:
        return f"refused ({exc})"
    with c:
        c.settimeout(timeout)
        try:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = c.recv(100)
        except TimeoutError:
            return f"no answer in {timeout} s (connected, request sent)"
        except OSError as exc:
            return f"error ({exc})"
        return "answered" if data.startswith(b"HTTP/1.1") else f"closed ({data!r})"


# -- workers (bcfb6ea) -------------------------------------------------------------------


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_connections_closed_at_once_do_not_stop_the_workers_accepting(tmp_path: Path, reset: bool) -> None:
    """A client that connects and closes at once (a TCP health check, a port scan, a load
    balancer's probe, an agent giving up) stops every worker taking connections.

    Under uvloop (uvicorn's default loop, installed here) a connection whose client has
    already closed it is lost *before* `connect_accepted_socket`'s task is done: the wrapped
    `connection_lost` finds nothing in `_open` to remove, uvloop detaches the socket
    (fileno() -1), and only then `_made` runs and records `_open[-1] = conn`. From then on
    `_live` calls `poller.register(-1, ...)`, which raises ValueError (outside its
    `except OSError`): `_publish` raises in the accepting thread, which dies, so the worker
    never accepts again (the supervisor sees a live process and replaces nothing). Once
    every worker has met one such connection the server accepts nothing: connections wait
    in the backlog, unanswered. Before bcfb6ea the count was `len(server_state.connections)`.
    """
    from service.test_faults import serve

    with serve(tmp_path, str(tmp_path / "plangate.db")) as (client, _proc):
        port = _port(client)
        assert _answers(port) == "answered"
        for _ in range(40):
            c = socket.create_connection(("127.0.0.1", port), timeout=2)
            if reset:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            time.sleep(0.02)
        time.sleep(0.5)
        met = [_answers(port) for _ in range(4)]
    assert met == ["answered"] * 4, (
        f"after 40 connections their clients closed at once, new requests met: {met}")


# -- metering (3b60e37, b894527) -----------------------------------------------------------

NOW = 1_000_000.25  # one fixed request window for the whole test


def test_a_submit_whose_body_check_fails_with_an_exception_is_still_counted(tmp_path: Path) -> None:
    """An agent credential over its rate gets its plan submissions checked anyway, uncounted,
    as 500s (or, on a real server, connection resets), as often as it likes.

    Since 3b60e37 a submit is no longer counted in the auth dependency: `agent_submitting`
    only sets `request.state.meter`, and the request is counted with its run, or in
    `submit`'s `finally`, or in the `RequestValidationError` handler. A body whose check
    raises anything else ends in none of them. A plan nested some 960 deep (the window is a
    few levels wide, between the depth `json.loads` accepts where FastAPI parses the body
    and the depth `_Request._storable` reaches: `json.dumps` in `_all_storable` raises
    RecursionError, so the `_unstorable` walk runs and raises RecursionError, which pydantic
    passes on): 500, never counted (and uvicorn logs a ~960-frame traceback each time). On
    `plangate serve` depths 962-964 gave a 500 and a reset. Before 3b60e37 the auth
    dependency counted the request first, so an agent over its rate got 429 here."""
    from plangate.storage import open_storage
    from service.conftest import auth, credentials, example, make_client

    store = open_storage(str(tmp_path / "plangate.db"))
    try:
        store.limiter._clock = lambda: NOW
        client = make_client(store, credentials=credentials(rate=1))
        trigger = json.dumps(example("meeting-reply")["trigger"])
        assert client.post("/v1/plans", json=example("meeting-reply"), headers=auth("agent")).status_code == 200
        seen: dict[int, list[int]] = {}
        for depth in range(900, 1000):  # the credential's one request in this window is used up
            nested = '{"a":' * depth + "1" + "}" * depth
            body = f'{{"trigger": {trigger}, "plan": {nested}}}'
            r = client.post("/v1/plans", content=body,
                            headers={**auth("agent"), "Content-Type": "application/json"})
            seen.setdefault(r.status_code, []).append(depth)
    finally:
        store.close()
    # 429: over the rate; 400: a body json.loads refuses (parsed before any credential is read)
    assert set(seen) <= {429, 400}, (
        f"status -> nesting depths of submits by an agent over its rate of 1/s: {seen}; "
        "the 5xx ones were never counted")
