"""`plangate serve`: the HTTP API and the approvals page (needs the `service` extra)."""

from __future__ import annotations

import argparse
import importlib.util
import os

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

    # Fail here, with one line, on a bad policy, credentials file or database (and migrate
    # the database once, before any worker starts). One worker serves this very app.
    application = app()
    say(f"plangate serve: http://{args.host}:{args.port} ({args.workers} worker(s), {settings.db.split('://')[0]}"
        f"{', redis' if settings.redis else ''}{', witness' if settings.witness else ''}); OpenAPI at /docs")
    if args.workers == 1:
        uvicorn.run(application, host=args.host, port=args.port, log_level="warning", access_log=False)
        return Exit.OK
    application.state.storage.close()  # the workers build their own
    # Several workers: one socket, held here and shared (service/workers.py says how).
    from plangate.service.workers import ListenError, Supervisor

    try:
        return Exit.OK if Supervisor(args.host, args.port, args.workers, say=say).run() == 0 else Exit.FAILED
    except ListenError as exc:
        raise InputError(exc.strerror or str(exc)) from None
