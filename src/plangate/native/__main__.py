"""`python -m plangate.native build|status`: compile the group of `plangate.native`, or say
which one this process runs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from plangate.native import _PACKAGE, MANIFEST, MODULES, _source, digest, native_dir, status


def build(folder: Path | None = None, *, quiet: bool = True) -> str:
    """Compile the group into `folder` (default `native_dir()`); a no-op if it is current.
    Needs mypy (its mypyc) and a C compiler. Returns what was done, in a line."""
    import importlib.machinery
    import shutil
    import subprocess
    import tempfile

    folder = folder or native_dir()
    want = digest()
    try:
        if json.loads((folder / MANIFEST).read_text()).get("digest") == want:
            return f"compiled modules are current ({folder})"
    except (OSError, ValueError, AttributeError):
        pass
    with tempfile.TemporaryDirectory(prefix="plangate-native-") as tmp:
        work = Path(tmp)
        shutil.copytree(_PACKAGE, work / "plangate", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        if digest(work / "plangate") != want:
            raise RuntimeError("the sources changed while they were copied; build again")
        files = [str(_source(m, Path("plangate"))) for m in MODULES]
        done = subprocess.run([sys.executable, "-m", "mypyc", *files], cwd=work, capture_output=True,
                              text=True, timeout=900, env={**os.environ, "MYPYC_OPT_LEVEL": "3"})
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            raise RuntimeError("mypyc failed: " + " | ".join(tail))
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        out: dict[str, str] = {}
        stage = folder.parent / f".{folder.name}.new"
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        for lib in work.glob(f"*__mypyc{suffix}"):
            out[lib.name[: -len(suffix)]] = lib.name
            shutil.copy2(lib, stage / lib.name)
        for module in MODULES:
            built = work.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[1] + suffix)
            name = module + suffix
            shutil.copy2(built, stage / name)
            out[module] = name
        (stage / MANIFEST).write_text(json.dumps({"digest": want, "files": out}, indent=1))
        shutil.rmtree(folder, ignore_errors=True)
        stage.rename(folder)
    return f"compiled {len(MODULES)} modules into {folder}"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["build"]:
        try:
            print(build())
        except Exception as exc:  # a missing compiler or mypy: the interpreted sources run
            print(f"plangate.native: not compiled, the sources run interpreted: {exc}", file=sys.stderr)
            return 1
        return 0
    if args == ["status"]:
        print(json.dumps(status()))
        return 0
    print("usage: python -m plangate.native build|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
