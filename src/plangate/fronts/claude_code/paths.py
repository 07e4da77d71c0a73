"""Which files a Claude Code file tool may name, whatever the grant says.

The grant binds a path *string*; the tool opens whatever that string leads to. So before the
service is asked, every path argument must be the file it names, and some files are out of
reach of every plan (tests/fronts_claude_code/test_redteam_paths.py):

* **The path is what it says.** Absolute, normalised, and no symlink on the way
  (`os.path.realpath(p) == p`): a project's `notes.txt` that is a symlink to `~/.bashrc`,
  `a/../b`, or a folder that depends on where an earlier `cd` left the session is refused.
  A search (Glob, Grep) names its folder, and a Glob pattern stays inside it.
* **Secrets** (the hook's settings, token and state folder, the operator's `protect` list,
  and `/proc`: other processes' environments, memory and open files):
  no file tool reads or writes them, under any name — a hard link is caught by its inode —
  and no search runs over a folder holding one.
* **What decides whether the hook runs, or what a granted command runs,** is never written
  by a file tool: Claude Code's configuration (any `.claude` folder: settings, hooks, skills,
  agents; `.claude.json`, `.mcp.json`, the managed settings, `$CLAUDE_CONFIG_DIR`), the hook's
  own code and the Python it runs on, shell start-up files (Claude Code's Bash takes the
  user's aliases and functions) and git's configuration and hooks (any `.git` folder,
  `~/.gitconfig`). A file with other names (hard links) is not written either: the write
  would change files the plan does not name.

What a granted Bash command does is outside this module: the plan shows the exact string.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

#: File names Claude Code loads configuration (and so hooks and MCP servers) from.
CONFIG_NAMES = frozenset({".claude.json", ".mcp.json", "managed-settings.json", "managed-mcp.json"})
#: Folder names whose content is configuration wherever they are: Claude Code's, and git's
#: (`.git/hooks`, `.git/config` run code on the next granted `git` command).
CONFIG_FOLDERS = frozenset({".claude", ".git"})
#: Files in the home folder that change what a granted command string runs: Claude Code's
#: Bash runs in a shell whose snapshot takes the user's aliases and functions (measured:
#: test_claude_code_cli.py, a `ls` function in ~/.bashrc runs inside a granted `ls`), and
#: git reads its aliases, pager and hooks path from the user's settings.
HOME_STARTUP = (".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".bash_aliases", ".profile",
                ".zshrc", ".zshenv", ".zprofile", ".zlogin", ".zlogout", ".config/fish", ".gitconfig",
                ".config/git", ".inputrc")
#: The same, system-wide.
SYSTEM_STARTUP = ("/etc/profile", "/etc/profile.d", "/etc/bash.bashrc", "/etc/bashrc", "/etc/zsh", "/etc/zshrc",
                  "/etc/zshenv", "/etc/gitconfig", "/etc/environment")
#: Never read or written by a file tool, like the hook's own secrets: other processes'
#: environments, memory and open files (the service's token, Claude Code's keys).
SYSTEM_SECRETS = ("/proc",)
#: At most this many entries of a secret folder are looked at for hard links.
MAX_SECRET_ENTRIES = 10_000


def _installation() -> tuple[Path, ...]:
    """The hook's own code and the Python it runs on (a `.pth` or `json.py` written there
    runs inside the next hook)."""
    import sysconfig

    roots = {Path(__file__).resolve().parents[2], Path(sys.prefix), Path(sys.executable).resolve().parent,
             Path("/etc/claude-code"), Path("/Library/Application Support/ClaudeCode")}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        where = sysconfig.get_paths().get(key)
        if where:
            roots.add(Path(where))
    custom = os.environ.get("CLAUDE_CONFIG_DIR")
    if custom:
        roots.add(Path(custom).expanduser())
    roots.update(Path(p) for p in SYSTEM_STARTUP)
    home = os.path.expanduser("~")
    if home != "~":
        roots.update(Path(home) / name for name in HOME_STARTUP)
    return tuple(sorted({Path(os.path.realpath(r)) for r in roots}))


class PathGuard:
    def __init__(self, secrets: tuple[Path, ...]) -> None:
        self._own = tuple(Path(os.path.realpath(s)) for s in secrets)   # scanned for hard links
        self.secrets = self._own + tuple(Path(p) for p in SYSTEM_SECRETS)
        # Compared case-folded and NFC: on macOS's default file system `.CLAUDE` is `.claude`
        # and "e" + U+0301 is "é". On Linux this refuses a few names that differ from a
        # guarded one only in that way, which no plan needs.
        self._folded_secrets = tuple(_fold(s) for s in self.secrets)
        self.installation = _installation()
        self._folded_installation = tuple(_fold(r) for r in self.installation)
        self._secret_inodes: set[tuple[int, int]] | None = None

    def refuse(self, tool: str, paths: tuple[str, ...], *, writes: bool, searches: bool) -> str:
        """Why `tool` may not name `paths` (empty: it may)."""
        for raw in paths:
            problem = self._not_what_it_says(raw)
            if problem:
                return f"{tool}: {problem}"
            path = _fold(Path(raw))
            for secret, folded in zip(self.secrets, self._folded_secrets, strict=True):
                if path == folded or folded in path.parents or (searches and path in folded.parents):
                    what = "plangate's own settings and state" if secret in self._own else "other processes' secrets"
                    return f"{tool} may not touch {secret} ({what})"
            info = _stat(raw)
            if info is not None and stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                if (info.st_dev, info.st_ino) in self.secret_inodes():
                    return f"{tool} may not touch {raw}: it is another name of plangate's own settings or state"
                if writes:
                    return f"{tool} may not write {raw}: the file has other names (hard links) the plan does not show"
            if writes:
                guarded = self._configuration(path)
                if guarded:
                    return f"{tool} may not write {raw}: {guarded}"
        return ""

    @staticmethod
    def _not_what_it_says(raw: str) -> str:
        if "\x00" in raw or not raw:
            return f"{raw[:80]!r} is not a file name"
        if not os.path.isabs(raw):
            return f"{raw[:120]!r} is not an absolute path; name the file by its absolute path"
        real = os.path.realpath(raw)
        if real != raw:
            return (f"{raw[:120]!r} is not the file it names ({real[:120]!r}: a symlink, '..' or a "
                    "path not written out plainly); the plan must name the real path")
        return ""

    def _configuration(self, path: Path) -> str:
        """`path` is case-folded."""
        if CONFIG_FOLDERS.intersection(path.parts) or path.name in CONFIG_NAMES:
            return "Claude Code's configuration (settings, hooks, MCP servers, skills) is not written by a tool"
        for root, folded in zip(self.installation, self._folded_installation, strict=True):
            if path == folded or folded in path.parents:
                return (f"it is part of the hook's own code, the Python it runs on, or what decides what a "
                        f"granted command runs ({root})")
        return ""

    def secret_inodes(self) -> set[tuple[int, int]]:
        if self._secret_inodes is None:
            found: set[tuple[int, int]] = set()
            for secret in self._own:
                info = _stat(str(secret))
                if info is None:
                    continue
                found.add((info.st_dev, info.st_ino))
                if stat.S_ISDIR(info.st_mode):
                    try:
                        with os.scandir(secret) as entries:
                            for n, entry in enumerate(entries):
                                if n >= MAX_SECRET_ENTRIES:
                                    break
                                inner = _stat(entry.path)
                                if inner is not None:
                                    found.add((inner.st_dev, inner.st_ino))
                    except OSError:
                        pass
            self._secret_inodes = found
        return self._secret_inodes


def _fold(path: Path) -> Path:
    """The form guarded names are compared in: case-folded and NFC (macOS's disks ignore
    case and Unicode normalisation by default)."""
    import unicodedata

    return Path(unicodedata.normalize("NFC", str(path).casefold()))


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def glob_problem(pattern: str) -> str:
    """Why a glob pattern may reach outside the folder it is run in (empty: it may not).
    Brace alternatives count as the start of a pattern (`{/root,x}`, `{..,x}`), and `..` is
    refused anywhere: glob libraries differ on what they expand."""
    text = pattern.replace("\\", "/")
    starts = [text] + [text[i + 1:] for i, ch in enumerate(text) if ch in "{,"]
    if ".." in text or any(part.startswith(("/", "~")) for part in starts):
        return f"the pattern {pattern[:80]!r} reaches outside its folder (absolute, '~' or '..')"
    return ""


def url_problem(url: str) -> str:
    """Why a URL argument is not a web address (a `file:` URL would be a path the checks
    above never saw)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url[:80]!r} is not a URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"{url[:80]!r} is not an http(s) address"
    return ""


__all__ = ["CONFIG_FOLDERS", "CONFIG_NAMES", "HOME_STARTUP", "SYSTEM_SECRETS", "SYSTEM_STARTUP", "PathGuard",
           "glob_problem", "url_problem"]
