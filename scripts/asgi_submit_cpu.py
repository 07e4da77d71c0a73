"""CPU time of one `POST /v1/plans` through the service's ASGI app, in this process: no
sockets, no workers, no load generator (what `docs/benchmarks/service.md` cites for the
fast path). The bench's approved meeting request, on a SQLite file with a witness.

    .venv/bin/python scripts/asgi_submit_cpu.py [N]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from plangate.bench import service as bench
from plangate.bench.perf import POLICY
from plangate.service.auth import token_hash


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        creds = folder / "creds.toml"
        creds.write_text(f'session_secret = "{os.urandom(32).hex()}"\n[[credential]]\nname = "bench"\n'
                         f'role = "agent"\nsha256 = "{token_hash(bench.TOKEN)}"\nrate = 1000000\n')
        os.environ.update(PLANGATE_DB=str(folder / "p.db"), PLANGATE_POLICY=str(POLICY),
                          PLANGATE_CREDENTIALS=str(creds), PLANGATE_WITNESS=str(folder / "w.db"))
        from plangate.service.worker import app as make_app

        app = make_app()
        bodies = bench.submit_bodies()  # each submit another mail, as `plangate bench service` sends
        body = next(bodies)
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/v1/plans", "raw_path": b"/v1/plans", "root_path": "",
            "query_string": b"", "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 2),
            "headers": [(b"host", b"x"), (b"authorization", f"Bearer {bench.TOKEN}".encode()),
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())]}

        async def run() -> float:
            events: asyncio.Queue[Any] = asyncio.Queue()
            await events.put({"type": "lifespan.startup"})
            started: list[Any] = []

            async def lifespan_send(message: Any) -> None:
                started.append(message)

            life = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                           events.get, lifespan_send))
            while not started:
                await asyncio.sleep(0.01)

            async def receive() -> Any:
                return {"type": "http.request", "body": next(bodies), "more_body": False}

            async def one() -> None:
                sent: list[Any] = []

                async def send(message: Any) -> None:
                    sent.append(message)
                await app(dict(scope, state={}), receive, send)
                if sent[0]["status"] != 200 or b'"verdict":"approve"' not in sent[1]["body"]:
                    raise SystemExit(f"submit answered {sent[0]['status']}: {sent[1]['body'][:300]!r}")

            for _ in range(300):  # warm up
                await one()
            t0 = time.process_time()
            for _ in range(n):
                await one()
            spent = (time.process_time() - t0) / n * 1e6
            await events.put({"type": "lifespan.shutdown"})
            await life
            return spent

        print(f"{asyncio.run(run()):.0f} us CPU per submit through the ASGI app ({n} submits)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000)
