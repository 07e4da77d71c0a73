"""Reading YAML/JSON documents with errors that name the file, the line and the field.

Every boundary that parses a person's or an agent's file goes through `load_document`
and `validation_message`, so a bad file always reads the same way:
`policy.yaml:12: rules[3].when: ...`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""Larger documents are refused before parsing: no plan or policy needs more."""


class _LineLoader(yaml.SafeLoader):
    """A safe YAML loader that remembers the line of every mapping and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    lines: dict[str, int] = {"": node.start_mark.line + 1}
    for key_node, _value in node.value:
        lines[str(key_node.value)] = key_node.start_mark.line + 1
    return _Located(mapping, lines)


class _Located(dict[Any, Any]):
    """A dict that knows the YAML line of itself and of each key."""

    def __init__(self, data: dict[Any, Any], lines: dict[str, int]) -> None:
        super().__init__(data)
        self.lines = lines


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_text(text: str, *, source: str) -> Any:
    """Parse JSON or YAML text; raise ValueError naming `source` and the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{source}: larger than {MAX_DOCUMENT_BYTES} bytes")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        except RecursionError:
            raise ValueError(f"{source}: nested too deeply") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # _LineLoader is a SafeLoader
        if "*" in text:
            # Aliases share nodes: a few hundred bytes can stand for billions of values
            # ("billion laughs"), which every later pass (validation, hashing) would expand.
            _check_expansion(data, source)
        return data
    except RecursionError:
        raise ValueError(f"{source}: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else "?"
        raise ValueError(f"{source}:{line}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"{source}: invalid YAML: {exc}") from None


def _check_expansion(data: Any, source: str) -> None:
    """Refuse documents whose aliases expand beyond what a document may spell out."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(value: Any) -> int:
        if isinstance(value, str):
            return 1 + len(value)
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ValueError(f"{source}: a YAML alias refers to itself")
        open_nodes.add(key)
        parts = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        total = 1
        for part in parts:
            total += size(part)
            if total > MAX_DOCUMENT_BYTES:
                raise ValueError(f"{source}: YAML aliases expand to more than "
                                 f"{MAX_DOCUMENT_BYTES} values")
        open_nodes.discard(key)
        sizes[key] = total
        return total

    size(data)


def load_document(path: str | Path) -> Any:
    """Read and parse a JSON or YAML file."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise ValueError(f"{p}: larger than {MAX_DOCUMENT_BYTES} bytes")
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{p}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not UTF-8 text") from None
    return parse_text(text, source=str(p))


def line_of(data: Any, path: Sequence[str | int]) -> int | None:
    """The YAML line of the deepest located node along `path`, if known."""
    line: int | None = None
    node = data
    for part in path:
        if isinstance(node, _Located):
            line = node.lines.get(str(part), node.lines.get("", line))
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
    if isinstance(node, _Located):
        line = node.lines.get("", line)
    return line


def field_path(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def validation_message(exc: ValidationError, *, source: str, data: Any) -> str:
    """One line per pydantic error: `source:line: field: message`."""
    lines = []
    for err in exc.errors()[:10]:
        loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
        line = line_of(data, loc)
        where = f"{source}:{line}" if line else source
        lines.append(f"{where}: {field_path(loc) }: {err['msg']}")
    if len(exc.errors()) > 10:
        lines.append(f"... and {len(exc.errors()) - 10} more errors")
    return "\n".join(lines)
