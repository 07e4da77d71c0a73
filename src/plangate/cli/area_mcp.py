"""Command line of the MCP gateway: `plangate mcp-gateway` and `plangate bench mcp`."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from plangate.cli.parser import positive, reports, sub_command


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    p = sub_command(
        top, "mcp-gateway", "a plan-gated MCP gateway in front of real MCP servers",
        "  plangate mcp-gateway --config gateway.yaml                      # stdio\n"
        "  plangate mcp-gateway --config gateway.yaml --http 127.0.0.1:8765  # streamable HTTP",
        cmd_mcp_gateway,
        more="The agent connects to the gateway instead of the upstream servers. It first submits a "
             "plan (tool submit_plan); once the plan is approved (or the owner approves it: "
             "plangate approvals --db AUDIT) exactly the plan's tools are listed, and each call is "
             "forwarded only if it is the plan's next call with the arguments the plan resolves to. "
             "One gateway serves one agent session for the trigger its launcher gives. "
             "Guide: docs/mcp-gateway.md.")
    p.add_argument("--config", metavar="FILE", required=True,
                   help="the gateway's YAML configuration (upstreams, policy, audit, trigger)")
    p.add_argument("--trigger", metavar="FILE",
                   help="the trigger this session acts for (YAML or JSON), instead of the "
                        "configuration's `trigger:`")
    p.add_argument("--http", metavar="HOST:PORT",
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of stdio")

    b = sub_command(
        bench, "mcp", "added latency per call of the MCP gateway against calling the upstream directly",
        "  plangate bench mcp --json mcp.json", cmd_bench_mcp,
        more="mcp-server-time (PyPI) as the upstream over stdio. In each round the official MCP client "
             "submits an N-step plan to `plangate mcp-gateway` (a second process, over stdio), then calls "
             "the upstream directly and through the gateway, alternately, N times each. Figures: direct "
             "and gated p50/p99 per call and their differences, added_p50_ms and added_p99_ms (goal: "
             "added_p50_ms <= 2), and the review time of submit_plan. The gateway's audit log fsyncs "
             "each call record: --audit-dir puts it on another disk. About 30 s with the defaults.")
    b.add_argument("--calls", type=positive, default=100, metavar="N",
                   help="calls per round and path [default: 100]")
    b.add_argument("--rounds", type=positive, default=5, metavar="N", help="rounds [default: 5]")
    b.add_argument("--audit-dir", metavar="DIR",
                   help="folder for the gateway's audit log (each call record is fsync'd there) "
                        "[default: the system's temporary folder]")
    reports(b, "write the figures to FILE as JSON")


def _need_mcp(what: str) -> None:
    from plangate.cli.files import InputError

    if importlib.util.find_spec("mcp") is None:
        raise InputError(f"{what} needs the `mcp` extra: pip install 'plangate[mcp]'")


def cmd_mcp_gateway(args: argparse.Namespace) -> int:
    _need_mcp("plangate mcp-gateway")
    from plangate.cli.files import read_document

    read_document(args.config, "--config", what="a gateway configuration")
    if args.trigger:
        read_document(args.trigger, "--trigger", what="a trigger")
    from plangate.fronts.mcp.serve import serve

    return serve(args.config, trigger_file=args.trigger, http=args.http)


def cmd_bench_mcp(args: argparse.Namespace) -> int:
    _need_mcp("plangate bench mcp")
    from pathlib import Path

    from plangate.cli.files import InputError, output_path

    output_path(args.json, "--json")
    if args.audit_dir is not None and not Path(args.audit_dir).is_dir():
        raise InputError(f"--audit-dir {args.audit_dir}: not a folder")
    from plangate.bench.mcp import main

    return int(main(json_path=args.json, calls=args.calls, rounds=args.rounds,
                    audit_dir=args.audit_dir))
