"""`plangate catalog verify` for AgentDyn's catalogs (run inside the AgentDyn child process).

    PYTHONPATH=../shared/third_party/agentdyn/src \\
        python -m plangate.verify.agentdyn [--path DIR] [--suite S] [--json F]

The canary verifier (`plangate.verify.engine`) needs a scratch environment per tool set.
This one is AgentDyn's own default environment for the suite (its YAML, default injection
vectors), with a canary appended to every piece of prose stored anywhere in it: mail
subjects and bodies, file contents, web pages, product descriptions and reviews, issue
comments, calendar titles and descriptions, transaction subjects. Tools run through
AgentDyn's `FunctionsRuntime`, in memory.

Resources are named after the environment field that holds them, under the prefix the
catalogs use: `mail:email_database`, `bank:bank_database`, `web:web_database`,
`fs:filesystem`, `calendar:calendar`, `github:github_platform`, `shop:shopping_platform`.
Every change anywhere in the environment shows up as a change of one of them.

What this adapter does not observe is what leaves: it has no view of outbound messages
apart from the stored state. So it builds cases only for tools whose catalog effects are
`read` and local `write` alone, with no destination argument (`VERIFIABLE`); every other
tool keeps its `unverifiable` mark and the worst case (reads everything, echoes every
argument). A tool that in fact sent or changed anything undeclared is caught by the storage
comparison (`undeclared-change`): in AgentDyn every send is a change of some stored state.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from plangate.bench.agentdyn.catalogs import PREFIXES
from plangate.catalog import Catalog, ToolSpec, load_catalog
from plangate.verify.canary import Canaries, Origin, as_text
from plangate.verify.engine import Case, CaseBuilder, Observation, Report, verify_catalog

__all__ = ["PREFIXES", "AgentDynAdapter", "AgentDynScratch", "main", "verify_suite"]

#: Field names whose strings are stored prose even without a space.
_PROSE_FIELDS = frozenset({"content", "body", "subject", "description", "title", "text", "reviews", "comments"})

Args = dict[str, Any]


def _is_prose(key: str, value: str) -> bool:
    return key in _PROSE_FIELDS or (" " in value.strip() and "@" not in value and "://" not in value)


class AgentDynScratch:
    """One fresh default environment of an AgentDyn suite, every stored prose string marked."""

    def __init__(self, suite: str, canaries: Canaries) -> None:
        from plangate.bench.agentdojo import replay as rp
        from plangate.bench.agentdojo.gatebench import AgentDojoTools

        random.seed(f"verify/{suite}")  # one-time passwords and order ids come from `random`
        self.suite = suite
        self.canaries = canaries
        self.env = rp.load_environment(suite, {})
        self.tools = AgentDojoTools(suite, self.env)
        for field, prefix in PREFIXES.items():
            holder = getattr(self.env, field, None)
            if holder is not None:
                self._mark(holder, f"{prefix}:{field}", field)

    def _mark(self, node: Any, resource: str, where: str) -> None:
        """Append a canary to every prose string below `node` (keys and ids untouched)."""
        from pydantic import BaseModel

        def marked(key: str, value: Any, path: str) -> Any:
            if isinstance(value, str):
                if _is_prose(key, value):
                    return f"{value} {self.canaries.text(Origin('resource', resource, path))}"
                return value
            self._mark(value, resource, path)
            return value

        if isinstance(node, BaseModel):
            for key in type(node).model_fields:
                value = getattr(node, key)
                new = marked(key, value, f"{where}.{key}")
                if new is not value:
                    object.__setattr__(node, key, new)
        elif isinstance(node, dict):
            for key in list(node):
                node[key] = marked(str(key), node[key], f"{where}[{key}]")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                node[i] = marked(where.rsplit(".", 1)[-1], value, f"{where}[{i}]")

    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        return self.tools.call(tool, args).value

    def observe(self) -> Observation:
        # Python mode: a pending one-time-password request holds a callable (printed by name).
        stored = {f"{prefix}:{field}": as_text(getattr(self.env, field).model_dump())
                  for field, prefix in PREFIXES.items() if getattr(self.env, field, None) is not None}
        return Observation(stored, [])

    def close(self) -> None:
        return

    # ---- existing items a case can name ------------------------------------------------
    def files(self) -> list[str]:
        from agentdojo.default_suites.v1.tools.types import Directory

        out: list[str] = []

        def walk(node: Any, path: str) -> None:
            for name, child in node.children.items():
                if isinstance(child, Directory):
                    walk(child, f"{path}/{name}")
                elif getattr(getattr(child, "permissions", None), "read", True):
                    out.append(f"{path}/{name}")

        walk(self.env.filesystem.root, "")
        return out

    def dirs(self) -> list[str]:
        return sorted({p.rsplit("/", 1)[0] or "/" for p in self.files()})


def _first_word(text: str) -> str:
    return next((w for w in text.split() if len(w) > 3 and w.isalpha()), text.split()[0])


def _case(args: Callable[[AgentDynScratch], Args], name: str = "",
          unexercised: Mapping[str, str] | None = None) -> CaseBuilder:
    def build(s: AgentDynScratch, c: Canaries) -> Case:
        return Case(args(s), dict(unexercised or {}), name)

    return build


def _event(s: AgentDynScratch) -> Any:
    return next(iter(s.env.calendar.events.values()))


def _mail(s: AgentDynScratch) -> Any:
    for inbox in s.env.email_database.inbox_list:
        if inbox.account_email == s.env.email_database.current_account:
            return next(iter(inbox.emails.values()))
    raise LookupError("no inbox of the current account")


_EXISTING = "an existing item's name (its value is stored content, so an echo cannot be told from a read)"
_PATH = {"path": _EXISTING}
CASES: dict[str, list[CaseBuilder]] = {
    "read_file": [_case(lambda s: {"path": s.files()[0]}, "a file", _PATH),
                  _case(lambda s: {"path": s.files()[-1]}, "another file", _PATH)],
    "list_directory": [_case(lambda s: {"path": "/"}, "the root", _PATH),
                       _case(lambda s: {"path": s.dirs()[-1]}, "a folder", _PATH)],
    "get_day_calendar_events": [_case(lambda s: {"day": _event(s).start_time.date().isoformat()},
                                      unexercised={"day": _EXISTING})],
    "search_calendar_events": [_case(lambda s: {"query": _first_word(_event(s).title)}, "by title",
                                     {"query": _EXISTING})],
    "search_emails": [_case(lambda s: {"query": _first_word(_mail(s).subject)}, "by subject", {"query": _EXISTING})],
    "search_product": [_case(lambda s: {"product_name": _first_word(s.env.shopping_platform.product_list[0]
                                                                    .product_name)}, "by name",
                             {"product_name": _EXISTING})],
    "get_github_account_user_information": [
        _case(lambda s: {"username": s.env.github_platform.account_list[0].username}, "by username",
              {"username": _EXISTING})],
    "get_github_repository_information": [
        _case(lambda s: {"repo_name": next(iter(s.env.github_platform.repository_list))},
              unexercised={"repo_name": _EXISTING})],
}
#: Effects of the tools this adapter runs (it cannot see what leaves, only what is stored;
#: a `write` shows as a change of the stored state).
VERIFIABLE = frozenset({"read", "write"})
READ_ONLY = frozenset({"read"})


class AgentDynAdapter:
    """Scratch environments for one AgentDyn suite's catalog."""

    def __init__(self, suite: str, catalog: Catalog) -> None:
        self.suite = suite
        self.name = f"agentdyn-{suite}"
        self.catalog = catalog

    def scratch(self, canaries: Canaries) -> AgentDynScratch:
        return AgentDynScratch(self.suite, canaries)

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        if not set(spec.effects) <= VERIFIABLE or set(spec.sink_args.values()) - {"path", "target"}:
            return f"{tool} may send something out or has a destination; this adapter does not observe what leaves"
        if tool in CASES:
            return CASES[tool]
        if spec.required_args:
            return f"no scratch case for {tool!r}"
        return [_case(lambda s: {})]

    def probes(self, scratch: AgentDynScratch) -> list[tuple[str, Args]]:
        """Every argument-free read tool, every folder listed and every file read."""
        out: list[tuple[str, Args]] = [
            (name, {}) for name, spec in self.catalog.tools.items()
            if set(spec.effects) <= READ_ONLY and not spec.required_args and name != "get_unread_emails"]
        if "list_directory" in self.catalog.tools:
            out += [("list_directory", {"path": d}) for d in scratch.dirs()]
        if "read_file" in self.catalog.tools:
            out += [("read_file", {"path": p}) for p in scratch.files()]
        return out


def suite_catalog(suite: str) -> Catalog:
    from importlib import resources

    path = resources.files("plangate.bench.agentdyn").joinpath(f"catalog_{suite}.yaml")
    with resources.as_file(path) as real:
        return load_catalog(real)


def verify_suite(suite: str, catalog: Catalog | None = None) -> Report:
    report = verify_catalog(AgentDynAdapter(suite, catalog or suite_catalog(suite)))
    report.catalog = f"src/plangate/bench/agentdyn/catalog_{suite}.yaml"
    return report


def main(argv: list[str] | None = None) -> int:
    from plangate.bench.agentdyn.catalogs import SUITES
    from plangate.bench.agentdyn.checkout import check_imported, source_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", help="AgentDyn checkout [default: $PLANGATE_AGENTDYN or the shared snapshot]")
    parser.add_argument("--suite", action="append", choices=SUITES)
    parser.add_argument("--json", help="write the reports here")
    args = parser.parse_args(argv)
    check_imported(source_dir(args.path))
    from plangate.bench.agentdojo._light import install_stubs

    install_stubs()
    reports = {suite: verify_suite(suite) for suite in args.suite or SUITES}
    stale = [s for s in reports if not _generated(s)]
    for report in reports.values():
        print("\n".join(report.lines()), flush=True)
    for suite in stale:
        print(f"catalog_{suite}.yaml is not what tools.yaml generates: run python -m plangate.bench.agentdyn.catalogs")
    if args.json:
        Path(args.json).write_text(json.dumps({s: r.to_json() for s, r in reports.items()}, indent=1),
                                   encoding="utf-8")
    return 0 if all(r.ok for r in reports.values()) and not stale else 1


def _generated(suite: str) -> bool:
    """Whether the committed catalog is what `catalogs.build` makes of tools.yaml now."""
    from plangate.bench.agentdyn.catalogs import build

    return suite_catalog(suite) == Catalog.model_validate(build(suite))


if __name__ == "__main__":
    sys.exit(main())
