"""What a deployer runs while setting plangate up: `schema`, `policy check`,
`catalog from-mcp` and `config`."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from plangate.cli.files import InputError, output_path, read_document, write_output
from plangate.cli.output import Exit, print_json, say
from plangate.cli.parser import UsageError
from plangate.cli.progress import Progress
from plangate.config import SETTINGS, load_settings
from plangate.safetext import visible


def cmd_schema(args: argparse.Namespace) -> int:
    from pydantic import BaseModel

    from plangate.catalog import Catalog
    from plangate.plan.model import Plan
    from plangate.policy.model import PolicyDoc
    from plangate.trigger import Trigger

    models: dict[str, type[BaseModel]] = {"plan": Plan, "trigger": Trigger, "catalog": Catalog,
                                          "policy": PolicyDoc}
    schema = models[args.what].model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"plangate {args.what}"
    print_json(schema)
    return Exit.OK


def cmd_policy_check(args: argparse.Namespace) -> int:
    from plangate.cli.plans import load_policy_from
    from plangate.policy.lint import lint, notes

    settings = load_settings({"policy": args.file, "catalog": args.catalog}, config=args.config)
    path = settings.require("policy")
    policy = load_policy_from(settings)
    warnings = lint(policy)
    for w in warnings:
        say(f"warning: {visible(w, 600)}")
    for n in notes(policy):
        say(f"note: {visible(n, 600)}")
    counts: dict[str, int] = {}
    for rule in policy.rules:
        counts[rule.kind] = counts.get(rule.kind, 0) + 1
    say(f"ok: {visible(path, 300)}: {len(policy.rules)} rules "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}) against "
        f"{len(policy.catalog.tools)} tools; {len(warnings)} warnings")
    return Exit.FAILED if warnings and args.strict else Exit.OK


def cmd_catalog(args: argparse.Namespace) -> int:
    import yaml

    from plangate.catalog import catalog_from_mcp

    out = output_path(args.out, "--out")
    overrides = (read_document(args.overrides, "--overrides",
                               what="a mapping of tool name to catalog fields")
                 if args.overrides else {})
    command = [c for c in args.server if c != "--"]
    if args.listing and command:
        raise UsageError("plangate catalog from-mcp: give --listing FILE or a server command, not both")
    if args.listing:
        listing = read_document(args.listing, "--listing", what="a tools/list result", mapping=False)
        tools = listing.get("tools", listing) if isinstance(listing, dict) else listing
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise InputError(f"--listing {args.listing}: expected a tools/list result: "
                             "{tools: [{name, inputSchema, annotations}, ...]}")
        catalog = catalog_from_mcp(tools, overrides)
    else:
        from plangate.mcp_catalog import LIST_TIMEOUT_S, catalog_from_server

        if not command:
            raise UsageError("plangate catalog from-mcp: no MCP server command given: "
                             "`-- COMMAND ARGS` or --listing FILE")
        if shutil.which(command[0]) is None:
            raise InputError(f"MCP server command {command[0]!r} not found (not a file, not on PATH)")
        what = (f"catalog from-mcp: starting {visible(' '.join(command), 200)} and listing its tools "
                f"(gives up after {LIST_TIMEOUT_S:.0f} s)")
        if sys.stderr.isatty():  # a log gets the result or the one error line, nothing else
            with Progress(what) as progress:
                catalog = catalog_from_server(command, overrides=overrides)
                progress.finish(f"{len(catalog.tools)} tools")
        else:
            catalog = catalog_from_server(command, overrides=overrides)
    body: dict[str, Any] = {"tools": {}}
    for name, spec in catalog.tools.items():
        entry = spec.model_dump(mode="json", exclude_defaults=True, exclude={"name"})
        entry["args"] = {a: {"type": arg.type, **arg.model_dump(mode="json", exclude_defaults=True)}
                         for a, arg in spec.args.items()}
        body["tools"][name] = entry
    text = ("# Generated from an MCP tool listing: conservative defaults from the MCP hints.\n"
            "# Review each tool: mark sink arguments and who may read its output.\n"
            + yaml.safe_dump(body, sort_keys=True, allow_unicode=False))
    if out is not None:
        write_output(out, text, "--out")
        say(f"wrote {visible(str(out), 300)}: {len(catalog.tools)} tools")
    else:
        print(text, end="")
    return Exit.OK


def cmd_catalog_verify(args: argparse.Namespace) -> int:
    """`catalog verify`: one line per undeclared flow, then what could not be verified."""
    import json

    from plangate.catalog import parse_catalog
    from plangate.verify.shipped import environment_for, verify_file

    out = output_path(args.json, "--json")
    catalog = parse_catalog(read_document(args.file, "CATALOG", what="a tool catalog"), source=args.file)
    env = args.env or environment_for(catalog)
    progress = Progress(f"catalog verify: {visible(args.file, 200)} in {env}", len(catalog.tools), unit="tools")
    with progress:
        report = verify_file(catalog, args.file, env, progress=lambda tool: progress.step(note=tool.tool))
        progress.finish(f"{len(report.problems)} problems")
    say(*(visible(line, 600) for line in report.lines()))
    if out is not None:
        write_output(out, json.dumps(report.to_json(), indent=1, ensure_ascii=True) + "\n", "--json")
        say(f"wrote {visible(str(out), 300)}")
    return Exit.OK if report.ok else Exit.FAILED


def cmd_config(args: argparse.Namespace) -> int:
    settings = load_settings(vars(args), config=args.config)
    if args.json:
        print_json(settings.to_json())
        return Exit.OK
    say(f"config file: {visible(settings.config_file or '(none)', 300)}")
    for spec in SETTINGS:
        value = getattr(settings, spec.name)
        source = settings.sources.get(spec.name, "not set")
        say(f"{spec.name:<8} {visible(value if value is not None else '-', 300):<40} from {visible(source, 300)}")
    return Exit.OK
