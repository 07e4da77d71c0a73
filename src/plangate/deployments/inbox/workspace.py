"""The workspace: files the assistant may read and write, and commands it may run there.

Confinement is by construction, not by hoping the plan is benign: a path is relative,
has no `..` component, and its fully resolved location (symlinks followed) must still
lie inside the workspace; the final component is opened with `O_NOFOLLOW` so a link
swapped in after the check is not followed either.

Commands are parsed with `shlex` (never a shell), must start with an allowlisted
program, may not name paths outside the workspace, run with a fixed minimal
environment (nothing inherited: no proxies, no tokens), a timeout, capped output, and
in a fresh network namespace when `unshare` can make one.
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_FILE_BYTES = 1_000_000
MAX_OUTPUT_CHARS = 64_000

#: Programs that read or print and cannot reach the network on their own.
SAFE_PROGRAMS = frozenset({
    "ls", "cat", "head", "tail", "wc", "grep", "echo", "pwd", "sort", "uniq", "diff",
    "date", "true", "false", "stat", "tr", "cut", "basename", "dirname",
})
#: Python may only run the test runner (`python -m pytest ...`).
PYTHONS = frozenset({"python", "python3"})
_SHELL_SYNTAX = frozenset("|&;<>$`\n")


class ConfinementError(ValueError):
    """A path or command would reach outside the workspace."""


class Workspace:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()

    def resolve(self, rel: str, *, allow_root: bool = False) -> Path:
        """The real location of workspace path `rel`, or ConfinementError saying why not."""
        if "\x00" in rel:
            raise ConfinementError("path contains a NUL byte")
        if rel.startswith(("/", "~", "\\")) or (len(rel) > 1 and rel[1] == ":"):
            raise ConfinementError(f"path {rel!r} is absolute; workspace paths are relative")
        parts = PurePosixPath(rel.replace("\\", "/")).parts
        if ".." in parts:
            raise ConfinementError(f"path {rel!r} climbs out with '..'")
        if not parts and not allow_root:
            raise ConfinementError("path is empty")
        target = self.root.joinpath(*parts)
        real = Path(os.path.realpath(target))
        if real != self.root and self.root not in real.parents:
            raise ConfinementError(f"path {rel!r} resolves outside the workspace (a symlink)")
        if real == self.root and not allow_root:
            raise ConfinementError(f"path {rel!r} names the workspace itself")
        if real != target:
            # One name per file: labels are kept under the path as written, so a symlinked
            # folder would give a file a second, unlabelled name (or hide shared/ behind one).
            raise ConfinementError(f"path {rel!r} goes through a symlink; name the file where it is")
        return target

    def read(self, rel: str) -> str:
        path = self.resolve(rel)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"file {rel!r} is larger than {MAX_FILE_BYTES} bytes")
        return data.decode("utf-8", "replace")

    def write(self, rel: str, content: str) -> int:
        data = content.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ValueError(f"content is larger than {MAX_FILE_BYTES} bytes")
        path = self.resolve(rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.resolve(rel)  # the folders just made cannot have moved it, but check again
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return len(data)

    def list(self, folder: str = "") -> list[dict[str, object]]:
        base = self.resolve(folder, allow_root=True)
        if not base.is_dir():
            raise FileNotFoundError(f"no folder {folder!r} in the workspace")
        out: list[dict[str, object]] = []
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath, name)
                if path.is_symlink():
                    continue
                out.append({"path": path.relative_to(self.root).as_posix(),
                            "size": path.stat().st_size})
        return out

    def files(self) -> dict[str, str]:
        """Every regular file's text (symlinks are not followed): the snapshot's view."""
        return {str(entry["path"]): self.read(str(entry["path"])) for entry in self.list()}


@dataclass(frozen=True, slots=True)
class CommandResult:
    command: str
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool
    network_isolated: bool

    def to_json(self) -> dict[str, object]:
        return {"command": self.command, "exit_code": self.exit_code, "stdout": self.stdout,
                "stderr": self.stderr, "timed_out": self.timed_out,
                "network_isolated": self.network_isolated}


def parse_command(workspace: Workspace, command: str) -> list[str]:
    """The argv for `command`, or ConfinementError naming what is not allowed."""
    if any(ch in _SHELL_SYNTAX for ch in command):
        raise ConfinementError("shell syntax (pipes, redirections, $, ;, &) is not supported")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise ConfinementError(f"cannot parse the command: {exc}") from None
    if not argv:
        raise ConfinementError("empty command")
    program, args = argv[0], argv[1:]
    if program in PYTHONS:
        if args[:2] != ["-m", "pytest"]:
            raise ConfinementError("python may only run `python -m pytest`")
        program, args = "pytest", args[2:]
    if program != "pytest" and program not in SAFE_PROGRAMS:
        raise ConfinementError(
            f"program {program!r} is not allowed (allowed: {', '.join(sorted(SAFE_PROGRAMS))},"
            " python -m pytest)")
    for arg in args:
        _check_arg(workspace, arg)
    if program == "pytest":
        # No cache or bytecode files in the workspace, and no ini file from folders above it.
        return [sys.executable, "-B", "-m", "pytest", "-p", "no:cacheprovider",
                "-c", os.devnull, "--rootdir", str(workspace.root), *args]
    found = shutil.which(program, path="/usr/bin:/bin")
    if found is None:
        raise ConfinementError(f"program {program!r} is not installed")
    return [found, *args]


def _check_arg(workspace: Workspace, arg: str) -> None:
    value = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
    if value.startswith("-"):
        # An option with its value attached (`-o../skills/x`, `-f/etc/hostname`) hides a
        # path the check cannot see: options may carry no path unless as `--name=PATH`.
        if "/" in value or "\\" in value or ".." in value or "~" in value:
            raise ConfinementError(f"option {arg!r} carries a path; write it as --name=PATH")
        return
    if value.startswith(("/", "~")) or ".." in PurePosixPath(value).parts:
        raise ConfinementError(f"argument {arg!r} names a path outside the workspace")
    if (workspace.root / value).is_symlink() or "/" in value:
        workspace.resolve(value)


@functools.cache
def _netns_prefix() -> tuple[str, ...]:
    """`unshare` arguments that give a child an empty network namespace, if possible."""
    unshare = shutil.which("unshare", path="/usr/bin:/bin")
    if unshare is None:
        return ()
    for flags in (("-n",), ("-r", "-n")):
        try:
            done = subprocess.run([unshare, *flags, "true"], capture_output=True, timeout=5,
                                  env={}, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return (unshare, *flags, "--")
    return ()


def run_command(workspace: Workspace, argv: list[str], *, shown: str,
                timeout: float) -> CommandResult:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(workspace.root),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}
    prefix = _netns_prefix()
    try:
        done = subprocess.run([*prefix, *argv], cwd=workspace.root, env=env,
                              capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        return CommandResult(shown, -1, _text(exc.stdout), _text(exc.stderr), True, bool(prefix))
    return CommandResult(shown, done.returncode, _text(done.stdout), _text(done.stderr), False,
                         bool(prefix))


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text[:MAX_OUTPUT_CHARS]
