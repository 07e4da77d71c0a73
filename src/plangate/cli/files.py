"""Files the command line reads and writes, with errors that name the file and the option.

Inputs are read before anything is reviewed or run, so an unreadable, empty, binary or
broken file is an input error (exit 2), never a verdict. Output paths are checked before
any long work starts, so a report into a missing folder fails in the first second, not
after the benchmark.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from plangate.documents import load_document
from plangate.errors import UserError


class InputError(UserError):
    """A file given on the command line cannot be used."""


def read_document(path: str, option: str, *, what: str, mapping: bool = True) -> Any:
    """A JSON/YAML file given as `option`: read, parsed, not empty, a mapping unless told
    otherwise. `what` names the document in errors ("a plan")."""
    try:
        data = load_document(path)
    except ValueError as exc:
        raise InputError(f"{option} {exc}") from None
    if data is None or data == "":
        raise InputError(f"{option} {path}: the file is empty; expected {what}")
    if mapping and not isinstance(data, dict):
        raise InputError(f"{option} {path}: expected {what} (a JSON object / YAML mapping), "
                         f"found a {type(data).__name__}")
    return data


def output_path(path: str | None, option: str) -> Path | None:
    """Check that `path` can be written, before the work that produces it: its folder
    exists and is writable, and it is not itself a folder."""
    if path is None:
        return None
    out = Path(path)
    if not path.strip():
        raise InputError(f"{option}: the path is empty")
    if out.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise InputError(f"{option} {path}: not writable")
    return out


def write_output(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write: {exc.strerror or exc}") from None


def existing_db(path: str, option: str = "--db") -> str:
    """A database that must already exist (reading the log, deciding approvals): a typo
    must not create an empty log that then reads as 'nothing happened'."""
    if path == ":memory:":
        raise InputError(f"{option} :memory: holds nothing to read; give the database file")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{option} {path}: is a folder, not a database file")
    if not p.exists():
        raise InputError(f"{option} {path}: no audit log there (`plangate run` creates one)")
    return path


def new_or_existing_db(path: str, option: str = "--db") -> str:
    """A database that is created if missing (a run's audit log); its folder must exist."""
    if path != ":memory:":
        output_path(path, option)
    return path
