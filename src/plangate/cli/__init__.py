"""The `plangate` command line: an edge on top of the core, one module per concern.

    app.py      main(): parse, dispatch, the one error path (one line, an exit code)
    parser.py   the grammar: every subcommand, option, help text and example
    plans.py    review, run                      (the gate, from files)
    owner.py    audit, approvals                 (what the owner reads and decides)
    deploy.py   schema, policy check, catalog from-mcp, config
    jobs.py     demo, bench                      (long runs: outputs checked first, progress)
    explain.py  verdicts, runs and approvals as text, every value approver-safe
    files.py    inputs read up front, output paths checked before work
    output.py   printing and the exit codes (`Exit`)
    progress.py progress on stderr

Settings (policy, catalog, database, model) are read in one place, `plangate.config`.
Exit codes and settings are documented in `plangate --help` and docs/cli.md.
"""

from plangate.cli.app import main, parser
from plangate.cli.output import Exit

__all__ = ["Exit", "main", "parser"]
