"""`plangate serve`: the HTTP API and the approvals page (needs the `service` extra)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import socket

from plangate.cli.files import InputError
from plangate.cli.output import Exit, say
from plangate.config import SETTINGS, load_settings


def cmd_serve(args: argparse.Namespace) -> int:
    from plangate.service.auth import new_token, token_hash

    if args.new_token:
        role, _, name = args.new_token.partition(":")
        if role not in ("agent", "approver", "admin") or not name:
            raise InputError("--new-token takes ROLE:NAME, ROLE one of agent, approver, admin")
        token = new_token()
        say(f"# token for {name} (give it to them; it is shown once): {token}",
            "[[credential]]", f'name = "{name}"', f'role = "{role}"', f'sha256 = "{token_hash(token)}"')
        return Exit.OK
    for module in ("fastapi", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            raise InputError(f"plangate serve needs {module}: pip install 'plangate[service]'")
    settings = load_settings(vars(args), config=args.config)
    settings.require("policy")
    settings.require("credentials")
    if args.workers > 1 and "://" not in settings.db and args.host not in ("127.0.0.1", "localhost", "::1"):
        say("note: several workers on SQLite share one file: fine on one machine")
    # Every worker builds its app from the same resolved settings (service/worker.py).
    for spec in SETTINGS:
        value = getattr(settings, spec.name)
        if value is not None:
            os.environ[spec.env] = str(value)
    os.environ["PLANGATE_SERVE_MAX_BODY"] = str(args.max_body)
    os.environ["PLANGATE_SERVE_CALL_TIMEOUT"] = str(args.call_timeout)
    import uvicorn

    from plangate.service.worker import app

    if args.workers == 1:
        app()  # fail here, with one line, on a bad policy, credentials file or database
    say(f"plangate serve: http://{args.host}:{args.port} ({args.workers} worker(s), {settings.db.split('://')[0]}"
        f"{', redis' if settings.redis else ''}{', witness' if settings.witness else ''}); OpenAPI at /docs")
    if args.workers == 1:
        uvicorn.run("plangate.service.worker:app", factory=True, host=args.host, port=args.port,
                    log_level="warning", access_log=False)
        return Exit.OK
    # Several workers share one listening socket. uvicorn binds it without naming TCP, so
    # asyncio leaves Nagle on for each connection and every response (headers and body are
    # two writes) waits ~40 ms for the client's delayed ACK. The socket is bound here with
    # TCP_NODELAY, which accepted connections inherit, and handed over by descriptor.
    sock = _listen(args.host, args.port)
    uvicorn.run("plangate.service.worker:app", factory=True, fd=sock.fileno(), workers=args.workers,
                log_level="warning", access_log=False)
    return Exit.OK


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
