"""Where the AgentDyn source is, and how a process is made to import it.

AgentDyn installs as the package `agentdojo`, the same name as the PyPI AgentDojo wheel that
`plangate bench agentdojo` uses. It is never installed: the bench runs its work in a child
process whose import path starts with the checkout's `src` (`child_environment`), and that
child refuses to run unless `agentdojo` really resolves into the checkout
(`check_imported`). Nothing is ever downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from plangate.errors import UserError

__all__ = ["AgentDynMissing", "check_imported", "child_environment", "default_path", "source_dir"]

#: The MIT source snapshot shared by the project (../shared/third_party/agentdyn).
_DEFAULT_RELATIVE = Path("..") / "shared" / "third_party" / "agentdyn"


class AgentDynMissing(UserError):
    """The path given is not an AgentDyn checkout."""


def default_path() -> Path:
    """`$PLANGATE_AGENTDYN`, else the shared snapshot beside the checkout of plangate."""
    env = os.environ.get("PLANGATE_AGENTDYN")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]  # src/plangate/bench/agentdyn -> repository
    return (repo / _DEFAULT_RELATIVE).resolve()


def source_dir(path: str | os.PathLike[str] | None) -> Path:
    """The checkout's `src` directory (holding `agentdojo/` with AgentDyn's suites)."""
    root = Path(path) if path else default_path()
    src = root / "src"
    marker = src / "agentdojo" / "default_suites" / "v1" / "shopping"
    if not marker.is_dir():
        raise AgentDynMissing(f"--path {root}: not an AgentDyn checkout (no {marker.relative_to(root)}; "
                              "give --path DIR or set PLANGATE_AGENTDYN)")
    return src.resolve()


def child_environment(src: Path) -> dict[str, str]:
    """The environment of the child process: AgentDyn's `src` first on the import path."""
    env = dict(os.environ)
    rest = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(src) + (os.pathsep + rest if rest else "")
    return env


def check_imported(src: Path) -> None:
    """Fail unless `agentdojo` is (or will be) imported from `src` in this process."""
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    import agentdojo

    where = Path(agentdojo.__file__ or "").resolve()
    if src not in where.parents:
        raise AgentDynMissing(f"agentdojo imports from {where.parent}, not from the AgentDyn checkout {src}")
