"""The command hook's entry point, run by path: `python -I .../claude_code/entry.py --config FILE`.

Why by path and isolated. Claude Code starts the hook in the project folder, and `python -m`
puts the current folder first on the import path: a repository holding `plangate/` or
`json.py` would run its own code as the hook and print an allow
(tests/fronts_claude_code/test_redteam_process.py). `-I` keeps the current folder, the
script's folder, `PYTHON*` variables and the user's site-packages off the path.

Why lean. `plangate/__init__.py` loads the whole core (~0.7 s here); the hook needs none of
it. This file registers `plangate` and `plangate.fronts` as bare packages (their folders,
without running their `__init__`), then imports only the front's modules.

Why guarded. Whatever goes wrong — an import that fails, an exception anywhere — ends in
exit code 2 with one line on stderr, never Python's exit 1 (which Claude Code treats as
"run the tool").
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import IO


def _bare_packages() -> None:
    import types

    here = os.path.dirname(os.path.abspath(__file__))
    fronts = os.path.dirname(here)
    for name, folder in (("plangate", os.path.dirname(fronts)), ("plangate.fronts", fronts)):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [folder]
            module.__file__ = os.path.join(folder, "__init__.py")
            sys.modules[name] = module


def main(argv: list[str] | None = None, *, stderr: IO[str] | None = None,
         exit: Callable[[int], object] = os._exit) -> None:
    started = time.monotonic()
    err = sys.stderr if stderr is None else stderr
    try:
        _bare_packages()
        from plangate.fronts.claude_code.command import main as hook_main

        hook_main(argv, started=started)
    except BaseException as exc:
        try:
            err.write(f"plangate: the hook failed ({type(exc).__name__}); denied\n")
            err.flush()
        finally:
            exit(2)


if __name__ == "__main__":
    main()
