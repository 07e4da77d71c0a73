"""Compiled hot paths: the review's and the per-call check's modules built with mypyc.

The modules in `MODULES` are plain, strictly typed Python; mypyc compiles the same sources
into C extensions, which run the review about a fifth faster (docs/benchmarks/perf.md).
Nothing else changes: the sources stay the truth, and the compiled copies are used only
while they are copies of exactly these sources.

* `python -m plangate.native build` (`plangate.native.__main__`, run by `scripts/setup` when a C compiler and mypy are
  there) compiles them into a folder of `<prefix>/plangate-native/` (the virtual
  environment's, or `PLANGATE_NATIVE_DIR`) named by the digest of the sources it compiled,
  and then points the manifest there.
* On import, `plangate` puts `Finder` first on `sys.meta_path`. At the first import of a
  listed module it hashes the installed sources; only if that digest is the manifest's are
  the compiled modules loaded, all of them (mypyc links the group's modules to each other
  directly, so a group is used whole or not at all). An edited source, another Python or a
  missing file: the interpreted sources, silently. `PLANGATE_NATIVE=0` turns it off.
* `python -m plangate.native status` (and `plangate bench perf`'s `native` key) says which
  one runs, and why.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

# Imported by `plangate` itself: what only a lookup or a build needs is imported there.

MODULES = (
    "plangate.labels", "plangate.safetext", "plangate.identity", "plangate.quoting",
    "plangate.resources", "plangate.plan.codec", "plangate.policy.facts", "plangate.policy.engine",
    "plangate.review.flow", "plangate.review.origins", "plangate.review.reviewer",
    "plangate.review.summary", "plangate.execute.values",
)
"""The compiled group: the review's walk, facts and decisions, the labels and values the
check of each call computes, and what they call per step (quoting, the origin checks).
Not the executor and the label store: deployments and the service extend and wrap them."""

MANIFEST = "manifest.json"
_PACKAGE = Path(__file__).resolve().parent.parent


def native_dir() -> Path:
    return Path(os.environ.get("PLANGATE_NATIVE_DIR") or Path(sys.prefix) / "plangate-native")


def _source(module: str, package: Path = _PACKAGE) -> Path:
    return package.joinpath(*module.split(".")[1:]).with_suffix(".py")


def digest(package: Path = _PACKAGE) -> str:
    """What a compiled group must have been built from: these sources, this Python."""
    import hashlib

    h = hashlib.sha256(f"{sys.implementation.cache_tag} {sys.platform} {sys.maxsize}\n".encode())
    for module in MODULES:
        data = _source(module, package).read_bytes()
        h.update(f"{module} {len(data)}\n".encode())
        h.update(data)
    return h.hexdigest()


class Finder:
    """Serves the compiled group from `folder` while its manifest matches the sources."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[str, Path] | None = None
        self.reason = "not asked yet"

    def _load(self) -> dict[str, Path]:
        if self._files is None:
            self._files = {}
            try:
                manifest = json.loads((self.folder / MANIFEST).read_text())
                if manifest.get("digest") != digest():
                    self.reason = "the sources changed since the build (interpreted)"
                else:
                    sub = manifest["dir"]
                    if not isinstance(sub, str) or Path(sub).name != sub or sub in ("", ".", ".."):
                        raise ValueError(f"the manifest names no build folder: {sub!r}")
                    home = self.folder / sub
                    files = {name: home / file for name, file in manifest["files"].items()}
                    if set(MODULES) - set(files) or not all(p.is_file() for p in files.values()):
                        self.reason = "the build is incomplete (interpreted)"
                    else:
                        self._files, self.reason = files, "compiled"
            except FileNotFoundError:
                self.reason = "not built (interpreted)"
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                self.reason = f"unreadable build: {exc} (interpreted)"
        return self._files

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        if fullname not in MODULES and not fullname.endswith("__mypyc"):
            return None
        found = self._load().get(fullname)
        if found is None:
            return None
        import importlib.util

        return importlib.util.spec_from_file_location(fullname, found)


def enable() -> None:
    """Put the finder first (once), unless `PLANGATE_NATIVE=0` or nothing was built."""
    if os.environ.get("PLANGATE_NATIVE", "1") == "0" or any(isinstance(f, Finder) for f in sys.meta_path):
        return
    folder = native_dir()
    if (folder / MANIFEST).is_file():
        sys.meta_path.insert(0, Finder(folder))


def status() -> dict[str, Any]:
    """Whether the listed modules run compiled in this process, and why (imports them)."""
    import importlib

    finder = next((f for f in sys.meta_path if isinstance(f, Finder)), None)
    compiled = [m for m in MODULES if not str(importlib.import_module(m).__file__).endswith(".py")]
    if os.environ.get("PLANGATE_NATIVE", "1") == "0":
        reason = "PLANGATE_NATIVE=0 (interpreted)"
    elif finder is None:
        reason = f"not built (interpreted): no {native_dir() / MANIFEST}"
    else:
        reason = finder.reason
    return {"compiled": len(compiled) == len(MODULES), "modules": len(compiled),
            "of": len(MODULES), "reason": reason}
