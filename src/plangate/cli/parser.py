"""The command line's grammar: every subcommand, option, help text and example.

Every option has help; every subcommand ends its `--help` with an example. A usage error
is raised as `UsageError` (one line, exit 2) instead of argparse's usage dump.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, NoReturn

from plangate import __version__
from plangate.config import CONFIG_ENV, CONFIG_FILE, describe_settings
from plangate.errors import UserError
from plangate.verify.shipped import ENVIRONMENTS as VERIFY_ENVIRONMENTS

EXIT_CODES = """\
exit codes:
  0  approved / done (review, run: the plan was approved and ran to completion)
  1  a check failed: the audit log does not verify, a run failed, --strict found
     warnings, a demo or bench attack succeeded
  2  usage or input error: a bad option, or a file that is missing, unreadable,
     empty, not UTF-8 or not valid JSON/YAML; nothing was reviewed or run
  3  denied: the plan was denied at review or blocked by a check at run time
  4  escalated: the plan waits for the owner (`plangate approvals`)
  70 internal error (a bug: please report it; PLANGATE_DEBUG=1 shows the traceback)
  130 interrupted; 141 output closed early (e.g. `| head`)
  --exit-zero makes review and run exit 0 for any verdict (errors still exit 2)."""


class UsageError(UserError):
    """The command line itself is wrong: an unknown option, a missing argument."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `plangate review: the following arguments are
    required: --trigger (see plangate review --help)`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30, width=100)


Command = Callable[[argparse.Namespace], int]


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _sub(sub: Any, name: str, help: str, example: str, func: Command, *,
         parents: list[argparse.ArgumentParser] | None = None, more: str = "") -> Parser:
    parser: Parser = sub.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + "." + (f"\n\n{more}" if more else ""),
        epilog=f"example:\n{example}", formatter_class=_formatter, parents=parents or [])
    parser.set_defaults(func=func)
    return parser


def _reports(parser: Parser, json_help: str, markdown_help: str | None = None) -> None:
    """A benchmark's report files; the command checks them before the run starts."""
    parser.add_argument("--json", metavar="FILE", help=json_help)
    if markdown_help:
        parser.add_argument("--markdown", metavar="FILE", help=markdown_help)


# For the command-line areas of deployments, fronts and benches (`plangate.cli.areas`).
sub_command = _sub
reports = _reports
positive = _positive


def _parents() -> dict[str, Parser]:
    config = Parser(add_help=False)
    config.add_argument("--config", metavar="FILE",
                        help=f"TOML settings file [default: ${CONFIG_ENV}, else ./{CONFIG_FILE} if present]")
    policy = Parser(add_help=False)
    policy.add_argument("--policy", metavar="FILE",
                        help="policy file; it names its tool catalog [default: $PLANGATE_POLICY or the config file]")
    policy.add_argument("--catalog", metavar="FILE",
                        help="tool catalog to use instead of the one the policy names [$PLANGATE_CATALOG]")
    db = Parser(add_help=False)
    db.add_argument("--db", metavar="PATH",
                    help="audit log and approvals: a SQLite file or sqlite:///PATH (audit, approvals and "
                         "serve also read postgresql://...) [default: $PLANGATE_DB, the config file, "
                         "else plangate.db]")
    verdict = Parser(add_help=False)
    verdict.add_argument("--json", action="store_true",
                         help="print the result as JSON on stdout instead of text")
    verdict.add_argument("--exit-zero", action="store_true",
                         help="exit 0 whatever the verdict (input errors still exit 2)")
    return {"config": config, "policy": policy, "db": db, "verdict": verdict}


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """--model, --base-url, --models: which model plans (agent, demo)."""
    parser.add_argument("--model", metavar="PROVIDER:MODEL",
                        help="planner model, e.g. openai:gpt-4o-mini or anthropic:claude-haiku-4-5 "
                             "[$PLANGATE_MODEL]; the key comes from $OPENAI_API_KEY / $ANTHROPIC_API_KEY")
    parser.add_argument("--base-url", metavar="URL",
                        help="the endpoint: any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LiteLLM)")
    parser.add_argument("--models", metavar="FILE",
                        help="models file (YAML): planner, extractor, reviewer, budgets (docs/models.md)")


def build_parser(commands: dict[str, Command]) -> Parser:
    """The whole grammar; `commands` maps each subcommand's name to its function."""
    c = commands
    p = Parser(prog="plangate", formatter_class=_formatter,
               description="Plan-gated security runtime for LLM agents: review what a plan does "
                           "against what its trigger's source may cause, run exactly the approved "
                           "plan, audit everything.",
               epilog=f"{describe_settings()}\n\n{EXIT_CODES}\n\n"
                      "Run `plangate COMMAND --help` for a command's options and an example. "
                      "Terms: docs/formats.md; configuration and exit codes: docs/cli.md.")
    p.add_argument("--version", action="version", version=f"plangate {__version__}",
                   help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser,
                           help="what to do; `plangate COMMAND --help` for its options")
    sub.required = True
    par = _parents()

    s = _sub(sub, "schema", "print the JSON Schema of a plangate document",
             "  plangate schema plan > plan.schema.json", c["schema"])
    s.add_argument("what", nargs="?", default="plan", choices=["plan", "trigger", "catalog", "policy"],
                   help="which document [default: plan]")

    pol = sub.add_parser("policy", help="policy tools: `plangate policy check`",
                         description="Policy tools.", formatter_class=_formatter,
                         epilog="example:\n  plangate policy check examples/assistant-policy.yaml")
    pol_sub = pol.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser,
                                 help="check: compile and lint a policy")
    pol_sub.required = True
    chk = _sub(pol_sub, "check", "compile a policy against its tool catalog and lint it",
               "  plangate policy check examples/assistant-policy.yaml --strict", c["policy_check"],
               parents=[par["config"]],
               more="Warnings are likely mistakes (a permit without a reason, an unguarded flow); "
                    "notes are facts worth knowing.")
    chk.add_argument("file", nargs="?", metavar="POLICY",
                     help="policy file [default: --policy setting: $PLANGATE_POLICY or the config file]")
    chk.add_argument("--catalog", metavar="FILE",
                     help="tool catalog to use instead of the one the policy names")
    chk.add_argument("--strict", action="store_true", help="exit 1 if there are warnings")

    cat = sub.add_parser("catalog", help="tool catalogs: `plangate catalog from-mcp`, `plangate catalog verify`",
                         description="Tool catalogs.", formatter_class=_formatter,
                         epilog="example:\n  plangate catalog from-mcp --out catalog.yaml -- mcp-server-time")
    cat_sub = cat.add_subparsers(dest="action", metavar="ACTION", parser_class=Parser,
                                 help="from-mcp: a catalog from an MCP server's tool listing; "
                                      "verify: check a catalog's annotations against its tools")
    cat_sub.required = True
    mcp = _sub(cat_sub, "from-mcp", "write a tool catalog from an MCP server or its saved tools/list",
               "  plangate catalog from-mcp --out catalog.yaml -- mcp-server-time --local-timezone UTC\n"
               "  plangate catalog from-mcp --listing tools.json --overrides overrides.yaml",
               c["catalog"],
               more="The annotations are conservative guesses from the MCP hints: review each tool.")
    mcp.add_argument("--listing", metavar="FILE",
                     help="a saved tools/list result (JSON/YAML) instead of starting a server")
    mcp.add_argument("--overrides", metavar="FILE",
                     help="YAML mapping tool name -> catalog fields that replace the guesses")
    mcp.add_argument("--out", metavar="FILE", help="write the catalog to FILE [default: stdout]")
    mcp.add_argument("server", nargs="*", metavar="-- COMMAND ARGS",
                     help="the stdio MCP server to start, after `--`")
    ver = _sub(cat_sub, "verify", "run every tool of a catalog in scratch environments seeded with canaries "
               "and fail on any flow its annotations do not declare",
               "  plangate catalog verify src/plangate/deployments/inbox/catalog.yaml --json verify.json\n"
               "  plangate catalog verify src/plangate/bench/agentdojo/catalog_banking.yaml",
               c["catalog_verify"],
               more="Every argument and every stored item gets a unique canary; wherever one reappears "
                    "(the output, stored state, mail, messages and payments that leave, what later reads "
                    "show) must be declared by reads, writes, discloses or output.from_args. Exit 0 if no "
                    "flow is undeclared, 1 otherwise. Tools marked `unverifiable: <reason>` are not run.")
    ver.add_argument("file", metavar="CATALOG", help="the tool catalog (YAML/JSON) to verify")
    ver.add_argument("--env", choices=VERIFY_ENVIRONMENTS, metavar="ENV",
                     help="the implementation to run the tools in: " + ", ".join(VERIFY_ENVIRONMENTS)
                          + " [default: the one that has every tool of the catalog]")
    ver.add_argument("--json", metavar="FILE",
                     help="write per-tool results: flows seen, problems, arguments not exercised")

    r = _sub(sub, "review", "review a plan for a trigger under a policy; runs nothing",
             "  plangate review --trigger examples/meeting-reply/trigger.yaml \\\n"
             "      --plan examples/meeting-reply/plan.json --policy examples/assistant-policy.yaml",
             c["review"], parents=[par["config"], par["policy"], par["verdict"]],
             more="Prints the verdict, every rule that decided it with its reason and the step it "
                  "fired on, and what the plan would do. Exit 0 approve, 3 deny, 4 escalate.")
    r.add_argument("--trigger", required=True, metavar="FILE",
                   help="the trigger (YAML/JSON): channel, principal, evidence, payload")
    r.add_argument("--plan", required=True, metavar="FILE", help="the plan (JSON/YAML)")

    run = _sub(sub, "run", "review a plan and, if approved, run it on fixture tools",
               "  plangate run --trigger examples/payment-escalates/trigger.yaml \\\n"
               "      --plan examples/payment-escalates/plan.json --policy examples/assistant-policy.yaml\n"
               "  plangate run --approval ap_1234567890ab --policy examples/assistant-policy.yaml",
               c["run"], parents=[par["config"], par["policy"], par["db"], par["verdict"]],
               more="Everything is written to the audit log (--db). An escalated plan is stored "
                    "for the owner; once approved, `--approval ID` runs it. Exit 0 ran to the end, "
                    "3 denied or blocked, 4 waiting for the owner, 1 a tool failed.")
    run.add_argument("--trigger", metavar="FILE", help="the trigger (YAML/JSON)")
    run.add_argument("--plan", metavar="FILE", help="the plan (JSON/YAML)")
    run.add_argument("--approval", metavar="ID",
                     help="run the plan of an approval the owner granted, instead of --trigger/--plan")
    run.add_argument("--fixtures", metavar="FILE",
                     help="JSON/YAML mapping tool name -> the output it returns [default: 'ok']")

    a = _sub(sub, "audit", "read or verify the hash-chained audit log",
             "  plangate audit verify --db plangate.db\n"
             "  plangate audit head --db plangate.db > anchor.txt   # keep it off the box\n"
             "  plangate audit verify --anchor \"$(cat anchor.txt)\"",
             c["audit"], parents=[par["config"], par["db"]])
    a.add_argument("action", choices=["tail", "head", "verify"],
                   help="tail: the last events; head: SEQ:HASH of the newest event; "
                        "verify: recompute the chain (exit 1 if it was tampered with)")
    a.add_argument("--anchor", metavar="SEQ:HASH",
                   help="(verify) also require this event from an earlier `plangate audit head`")
    a.add_argument("-n", type=_positive, default=20, metavar="N",
                   help="(tail) how many events [default: 20]")
    a.add_argument("--json", action="store_true", help="(tail) print the events as JSON")

    ap = _sub(sub, "approvals", "the owner's approval queue: list, approve or deny escalated plans",
              "  plangate approvals list\n"
              "  plangate approvals approve ap_1234567890ab --note 'plumber, expected'\n"
              "  plangate run --approval ap_1234567890ab --policy examples/assistant-policy.yaml",
              c["approvals"], parents=[par["config"], par["db"]])
    ap.add_argument("action", choices=["list", "approve", "deny"],
                    help="list the pending approvals, or decide one")
    ap.add_argument("id", nargs="?", metavar="ID", help="(approve, deny) the approval id, ap_...")
    ap.add_argument("--by", default="owner", metavar="NAME",
                    help="who decides, recorded in the audit log [default: owner]")
    ap.add_argument("--note", metavar="TEXT", help="a note recorded with the decision")
    ap.add_argument("--all", action="store_true", help="(list) decided and used approvals too")
    ap.add_argument("--json", action="store_true", help="(list) print the approvals as JSON")
    ap.add_argument("--ids", action="store_true",
                    help="(list) print only the ids, oldest first, one per line (for scripts)")

    b = sub.add_parser("bench", help="benchmarks: perf, inbox, agentdojo, agentdyn, leak, search, service, "
                                        "budget, tokens, support, incident, mcp",
                       description="Benchmarks. Each prints its figures; --json/--markdown write "
                                   "them to files (checked before the run starts).",
                       formatter_class=_formatter,
                       epilog="example:\n  plangate bench perf --quick\n  plangate bench inbox --json inbox.json")
    b_sub = b.add_subparsers(dest="which", metavar="BENCHMARK", parser_class=Parser,
                             help="which benchmark to run")
    b_sub.required = True
    perf = _sub(b_sub, "perf", "time the review, the per-call check and the audit append",
                "  plangate bench perf --json perf.json", c["bench"],
                more="Microseconds, median (p50) and 99th percentile (p99); the baseline is one bare "
                     "Cedar decision. About 10 s (2 s with --quick).")
    _reports(perf, "write the figures to FILE as JSON")
    perf.add_argument("--quick", action="store_true", help="300 iterations instead of 3000")
    inbox = _sub(b_sub, "inbox", "InboxBench: the inbox assistant against benign tasks and attacks",
                 "  plangate bench inbox --json inbox.json --markdown inbox.md", c["bench"],
                 more="Each scenario runs on a fresh mailbox and is judged on the state it leaves. "
                      "Under a minute on an idle machine. Exit 1 if an attack succeeds or a benign task is denied.")
    _reports(inbox, "write the figures to FILE as JSON", "write a Markdown report to FILE")
    ad = _sub(b_sub, "agentdojo", "AgentDojo's suites through the gate with a fully hijacked planner",
              "  plangate bench agentdojo --suite banking --json agentdojo.json\n"
              "  plangate bench agentdojo --model openai:scripted --suite banking --json agentdojo-model.json\n"
              "  plangate bench agentdojo --model openai:qwen2.5 --base-url http://127.0.0.1:8000/v1 --tasks 5",
              c["bench"],
              more="Needs `pip install --no-deps agentdojo==0.1.35` (scripts/setup does it). "
                   "About 45 s for all suites; the terms are explained when it starts. With --model: "
                   "plangate as an AgentDojo pipeline (planner -> gate -> executor -> extractor) beside "
                   "AgentDojo's undefended tool-calling pipeline on the same OpenAI-compatible endpoint, "
                   "judged by AgentDojo's checks; without --base-url the endpoint is a local scripted oracle "
                   "that obeys every injection it sees (docs/benchmarks/agentdojo-model.md); about 11 "
                   "minutes for all suites against it. Exit 1 if an attack by tool calls succeeded through "
                   "plangate.")
    ad.add_argument("--suite", action="append", metavar="NAME",
                    help="run only this suite (banking, slack, travel, workspace); repeatable")
    ad.add_argument("--benchmark-version", default="v1.2.2", metavar="V",
                    help="AgentDojo benchmark version; only v1.2.2 is converted [default: v1.2.2]")
    ad.add_argument("--model", metavar="openai:NAME",
                    help="run AgentDojo with this model: any OpenAI-compatible endpoint; the key comes from "
                         "$OPENAI_API_KEY (none needed on loopback)")
    ad.add_argument("--base-url", metavar="URL",
                    help="with --model: the endpoint (vLLM, Ollama, LiteLLM, https://api.openai.com/v1) "
                         "[default: a local scripted oracle started for the run]")
    ad.add_argument("--tasks", type=_positive, metavar="N",
                    help="with --model: the first N user tasks of each suite [default: all]")
    ad.add_argument("--injections", type=_positive, metavar="N",
                    help="with --model: the first N injection tasks of each suite [default: all]")
    ad.add_argument("--replans", type=int, default=1, choices=range(0, 4), metavar="N",
                    help="with --model: how often plangate may replan a halted run (0-3) [default: 1]")
    _reports(ad, "write the figures and per-pair detail to FILE", "write the report tables to FILE")
    leak = _sub(b_sub, "leak", "bits of private data a hijacked plan reveals through control flow",
                "  plangate bench leak --json leak.json", c["bench"],
                more="Plans generated from the catalog let private data decide whether things "
                     "happen (loops, failures, extractions); each runs in four worlds that differ "
                     "only in the owner's private data, and what a non-owner can observe is "
                     "compared. Beside it, the same plans under an approve-all policy. About two "
                     "minutes for the shipped assistant policy (--every 9: 15 s). Exit 1 if a bit leaks.")
    leak.add_argument("--policy", metavar="FILE",
                      help="policy to measure [default: the shipped inbox assistant policy]")
    leak.add_argument("--every", type=int, default=1, metavar="N",
                      help="run only every N-th generated plan [default: 1, all]")
    _reports(leak, "write the figures and up to five leaking plans per class to FILE")
    search = _sub(b_sub, "search", "an automated worst-case attacker: every route to every attacker goal",
                  "  plangate bench search --suite banking --sample 20 --json search.json", c["bench"],
                  more="Routes are generated from the catalog and each goal (AgentDojo's injection tasks, "
                       "InboxBench's attack families), run through the gate and judged on state. "
                       "The whole search: --budget-seconds 1200.")
    search.add_argument("--suite", action="append", metavar="NAME",
                        help="workspace, travel, banking, slack, inbox, support, incident, or (alone) "
                             "agentdyn-shopping, agentdyn-github, agentdyn-dailylife; repeatable "
                             "[default: all but agentdyn]")
    search.add_argument("--sample", type=_positive, metavar="N", help="at most N attack plans per goal")
    search.add_argument("--seed", type=int, default=0, metavar="N", help="sampling seed [default: 0]")
    search.add_argument("--budget-seconds", type=float, metavar="S", help="stop the whole search after S seconds")
    _reports(search, "write the figures and every route found to FILE", "write the report tables to FILE")

    svc = _sub(b_sub, "service", "the HTTP service under load from a second process on loopback",
               "  plangate bench service --json service.json", c["bench"],
               more="`plangate serve` with two workers on SQLite in a temporary folder; reviews/s, p50 and "
                    "p99 at concurrency 1, 16 and 64, then a soak at 16 with the workers' memory "
                    "(rss_growth_mb). The issue asks for a 5-minute soak: --soak-seconds 300. "
                    "About 80 s with the defaults. Exit 1 if any request failed.")
    svc.add_argument("--seconds", type=float, default=5.0, metavar="S",
                     help="seconds at each concurrency [default: 5]")
    svc.add_argument("--soak-seconds", type=float, default=60.0, metavar="S",
                     help="seconds of soak at concurrency 16 [default: 60]")
    svc.add_argument("--workers", type=_positive, default=2, metavar="N", help="server workers [default: 2]")
    svc.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                     help="sqlite, or postgres: PostgreSQL + Redis, started from the Debian packages "
                          "unless --db / --redis name running ones [default: sqlite]")
    svc.add_argument("--db", metavar="URL", help="with --backend postgres: a postgresql:// database the bench "
                                                 "may write to [default: a new server]")
    svc.add_argument("--redis", metavar="URL", help="with --backend postgres: a redis:// server the bench may "
                                                    "write to [default: a new server]")
    _reports(svc, "write the figures to FILE as JSON")

    bud = _sub(b_sub, "budget", "model budgets under a 64-way burst and a 1,000-mail stranger flood",
               "  plangate bench budget --json budget.json", c["bench_models"],
               more="Through the real OpenAI SDK against a local scripted model server: the burst, "
                    "the flood, then the owner's request; budget_overshoot (goal 0), owner_completed, "
                    "metering_overhead_p50_us (goal <= 200). About 30 s.")
    _reports(bud, "write the figures to FILE as JSON")
    tok = _sub(b_sub, "tokens", "tokens of plan-then-execute beside an undefended ReAct tool loop",
               "  plangate bench tokens --json tokens.json", c["bench_models"],
               more="The inbox demo's benign tasks both ways through the same scripted model server; "
                    "ratio_tokens (goal <= 1.3) and ratio_calls. A few seconds.")
    _reports(tok, "write the figures to FILE as JSON")

    ag = _sub(sub, "agent", "trigger -> model planner -> review -> execute -> audit, on fixture tools",
              "  plangate agent --trigger examples/meeting-reply/trigger.yaml \\\n"
              "      --policy examples/assistant-policy.yaml --model openai:gpt-4o-mini\n"
              "  plangate agent --trigger t.yaml --model openai:qwen2.5 --base-url http://127.0.0.1:8000/v1 --json",
              c["agent"], parents=[par["config"], par["policy"], par["db"], par["verdict"]],
              more="The planner sees the trigger and the tools its class may use, never more; its plan is "
                   "reviewed and run like `run`; every model call is metered and budgeted (docs/models.md). "
                   "Exit codes as for run; 1 when no plan could be had from the model.")
    ag.add_argument("--trigger", required=True, metavar="FILE", help="the trigger (YAML/JSON)")
    ag.add_argument("--fixtures", metavar="FILE",
                    help="JSON/YAML mapping tool name -> the output it returns [default: 'ok']")
    add_model_options(ag)
    us = _sub(sub, "usage", "model calls, tokens and cost from the audit database",
              "  plangate usage --by class\n  plangate usage --by day --json", c["usage"],
              parents=[par["config"], par["db"]])
    us.add_argument("--by", choices=["class", "principal", "day", "model", "purpose", "run"],
                    help="group the totals [default: one total]")
    us.add_argument("--json", action="store_true", help="print the totals as JSON")

    srv = _sub(sub, "serve", "the HTTP API and the approvals page (agents, approvers, admins)",
               "  plangate serve --policy examples/assistant-policy.yaml --credentials creds.toml\n"
               "  plangate serve --new-token agent:mail-agent >> creds.toml\n"
               "  plangate serve --db postgresql://plangate@db/plangate --redis redis://cache:6379/0 --workers 2",
               c["serve"], parents=[par["config"], par["policy"], par["db"]],
               more="Binds 127.0.0.1 unless told otherwise. Deployment and credentials: docs/deploy.md.")
    srv.add_argument("--host", default="127.0.0.1", metavar="ADDR", help="address to bind [default: 127.0.0.1]")
    srv.add_argument("--port", type=_positive, default=8750, metavar="PORT", help="port [default: 8750]")
    srv.add_argument("--workers", type=_positive, default=1, metavar="N",
                     help="worker processes sharing the port, each taking new connections when least busy [default: 1]")
    srv.add_argument("--redis", metavar="URL", help="redis://HOST:PORT/N for limits and run counts [$PLANGATE_REDIS]")
    srv.add_argument("--witness", metavar="PATH|URL",
                     help="where the audit chain's heads are shipped: a SQLite path or redis:// [$PLANGATE_WITNESS]")
    srv.add_argument("--credentials", metavar="FILE", help="TOML file of API credentials [$PLANGATE_CREDENTIALS]")
    srv.add_argument("--max-body", type=_positive, default=1_000_000, metavar="BYTES",
                     help="largest request body [default: 1000000]")
    srv.add_argument("--call-timeout", type=float, default=300.0, metavar="S",
                     help="seconds an allowed call may take before its run is stopped [default: 300]")
    srv.add_argument("--new-token", metavar="ROLE:NAME",
                     help="print a new token and its [[credential]] entry, and exit")

    d = _sub(sub, "demo", "the main job: the inbox assistant over a day of mail (or --deployment support|incident)",
             "  plangate demo --html report.html --json totals.json", c["demo"],
             parents=[par["config"]],
             more="Fifteen bundled emails, benign and malicious, on embedded defaults (temporary "
                  "Maildir and SQLite). No model is configured: each message's bundled worst-case "
                  "plan is replayed. Exit 1 if an attack succeeds or a benign task fails.")
    d.add_argument("--json", metavar="FILE", help="write the totals and every row to FILE")
    d.add_argument("--html", metavar="FILE", help="write a self-contained HTML report to FILE")
    d.add_argument("--db", metavar="PATH",
                   help="keep the audit log in PATH [default: a temporary one, removed afterwards]")
    add_model_options(d)

    d.add_argument("--deployment", choices=["inbox", "support", "incident"], default="inbox",
                   help="which deployment to show [default: inbox]")

    from plangate.cli.areas import add_areas

    add_areas(top=sub, bench=b_sub, parents=par)

    cfg = _sub(sub, "config", "print the settings in effect and where each came from",
               "  plangate config --json\n  PLANGATE_DB=/var/lib/plangate/audit.db plangate config", c["config"],
               parents=[par["config"], par["policy"], par["db"]], more=describe_settings())
    cfg.add_argument("--model", metavar="NAME", help="planner model, PROVIDER:MODEL [$PLANGATE_MODEL]")
    cfg.add_argument("--json", action="store_true", help="print the settings as JSON")
    return p
