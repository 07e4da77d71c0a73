"""`python -m plangate.native build|status`: compile the group of `plangate.native`, or say
which one this process runs."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from plangate.native import _PACKAGE, MANIFEST, MODULES, _source, digest, native_dir, status


def build(folder: Path | None = None) -> str:
    """Compile the group into `folder` (default `native_dir()`); a no-op if it is current.
    Needs mypy (its mypyc) and a C compiler. Returns what was done, in a line.

    Each build lands in its own subfolder, named by the digest of its sources and never
    changed afterwards: staged in a fresh folder, renamed into place whole, and only then
    named by the manifest, itself replaced atomically. Two builds at once cannot mix their
    files, and a process that read the older manifest keeps loading the older files."""
    import importlib.machinery
    import shutil
    import subprocess
    import tempfile

    folder = folder or native_dir()
    want = digest()
    old = _manifest(folder)
    if old.get("digest") == want and (folder / str(old.get("dir"))).is_dir():
        return f"compiled modules are current ({folder})"
    folder.mkdir(parents=True, exist_ok=True)
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
        stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=folder))
        stage.chmod(0o755)  # as a folder pip makes: any user of the environment may load it
        for lib in work.glob(f"*__mypyc{suffix}"):
            out[lib.name[: -len(suffix)]] = lib.name
            shutil.copy2(lib, stage / lib.name)
        for module in MODULES:
            built = work.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[1] + suffix)
            shutil.copy2(built, stage / (module + suffix))
            out[module] = module + suffix
    sub = want[:32]
    try:
        stage.rename(folder / sub)
    except OSError:  # another build of the same sources landed first: same files, keep those
        shutil.rmtree(stage, ignore_errors=True)
    text = json.dumps({"digest": want, "dir": sub, "files": out}, indent=1)
    fd, name = tempfile.mkstemp(prefix=".manifest-", dir=folder)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(name, 0o644)
    os.replace(name, folder / MANIFEST)
    keep = {sub, str(old.get("dir"))}  # the previous build: a running process may still load from it
    for stale in folder.iterdir():
        if stale.name in keep or stale.name == MANIFEST or stale.name.startswith((".stage-", ".manifest-")):
            continue
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
    return f"compiled {len(MODULES)} modules into {folder / sub}"


def _manifest(folder: Path) -> dict[str, object]:
    try:
        found = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


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
