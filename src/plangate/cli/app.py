"""`main()`: parse, dispatch, and the one error path of the command line.

Every failure leaves as one line on stderr (`plangate: error: FILE: what is wrong`) and an
exit code (`Exit`), never a traceback: usage and input errors exit 2, anything plangate
did not expect exits 70 with a line asking for a report (`PLANGATE_DEBUG=1` re-raises it
to show the traceback). A reader that closes the pipe early (`| head`) ends the command
quietly. `tests/core/test_cli_errors.py` runs a corpus of careless inputs through every
subcommand to hold this.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from plangate.cli.deploy import cmd_catalog, cmd_catalog_verify, cmd_config, cmd_policy_check, cmd_schema
from plangate.cli.jobs import cmd_bench, cmd_demo
from plangate.cli.models import cmd_agent, cmd_bench_models, cmd_usage
from plangate.cli.output import Exit, print_error
from plangate.cli.owner import cmd_approvals, cmd_audit
from plangate.cli.parser import Command, Parser, UsageError, build_parser
from plangate.cli.plans import cmd_review, cmd_run
from plangate.cli.serve import cmd_serve
from plangate.errors import PlangateError

COMMANDS: dict[str, Command] = {
    "schema": cmd_schema, "policy_check": cmd_policy_check, "catalog": cmd_catalog,
    "catalog_verify": cmd_catalog_verify,
    "review": cmd_review, "run": cmd_run, "audit": cmd_audit, "approvals": cmd_approvals,
    "bench": cmd_bench, "demo": cmd_demo, "config": cmd_config, "serve": cmd_serve,
    "agent": cmd_agent, "usage": cmd_usage, "bench_models": cmd_bench_models,
}


def parser() -> Parser:
    return build_parser(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (see `Exit`)."""
    _route_dependency_logs()
    try:
        args = parser().parse_args(argv)
        return int(args.func(args))
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else Exit.OK
    except UsageError as exc:
        print_error(str(exc), prefix="")
        return Exit.USAGE
    except PlangateError as exc:
        print_error(str(exc))
        return Exit.USAGE
    except BrokenPipeError:
        _silence_stdout()
        return Exit.BROKEN_PIPE
    except KeyboardInterrupt:
        print_error("interrupted", prefix="plangate: ")
        return Exit.INTERRUPTED
    except OSError as exc:  # a file plangate had to read or write, named by the OS
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(f"{where}{exc.strerror or exc}")
        return Exit.USAGE
    except sqlite3.Error as exc:  # a database that is not plangate's, or is damaged
        print_error(f"database: {exc}")
        return Exit.USAGE
    except Exception as exc:
        if os.environ.get("PLANGATE_DEBUG"):
            raise
        print_error(f"{type(exc).__name__}: {exc} (a bug in plangate: please report it; "
                    "PLANGATE_DEBUG=1 shows the traceback)", prefix="plangate: internal error: ")
        return Exit.INTERNAL


def _route_dependency_logs() -> None:
    """Dependencies (the MCP client) log failures with tracebacks; plangate reports the
    failure itself, in its one line. Their logs show only with PLANGATE_DEBUG=1."""
    root = logging.getLogger()
    if os.environ.get("PLANGATE_DEBUG"):
        if not root.handlers:
            logging.basicConfig(level=logging.DEBUG)
    elif not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())  # no "last resort" printing to stderr


def _silence_stdout() -> None:
    """After the reader went away, point stdout at /dev/null so the interpreter's final
    flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
