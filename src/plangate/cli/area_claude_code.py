"""Command line of the Claude Code front: `plangate hook claude-code [run|serve|submit|settings]`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from plangate.cli.parser import positive, sub_command

ACTIONS = ("run", "serve", "submit", "settings")


def add(*, top: Any, bench: Any, parents: dict[str, Any]) -> None:
    hook = sub_command(top, "hook", "hooks that put plangate in front of an agent's tool calls",
                       "  plangate hook claude-code --config /etc/plangate/claude-code.toml", _no_front)
    fronts = hook.add_subparsers(dest="front", metavar="FRONT", help="which agent the hook is for")
    p = sub_command(
        fronts, "claude-code", "Claude Code's PreToolUse/PostToolUse hook: every tool call checked against "
        "the session's grant, denied on any failure",
        "  plangate hook claude-code --config cc.toml < event.json        # the command hook\n"
        "  plangate hook claude-code serve --config cc.toml --port 8751   # the http hook\n"
        "  plangate hook claude-code submit --config cc.toml --session $ID --trigger t.yaml --plan p.json\n"
        "  plangate hook claude-code settings --config cc.toml            # settings.json to paste",
        cmd_claude_code,
        more="run (default): read one hook event on stdin; a PreToolUse that is not allowed exits 2 with "
             "the reason on stderr. serve: the same decisions over HTTP for a hook of type http. submit: "
             "bind a session id to a reviewed plan before the session starts. settings: print the hooks "
             "section of Claude Code's settings.json. Guide: docs/claude-code.md.")
    p.add_argument("action", nargs="?", choices=ACTIONS, default="run", help="what to do [default: run]")
    p.add_argument("--config", metavar="FILE",
                   help="the hook's TOML settings [default: $PLANGATE_CLAUDE_CODE_CONFIG]")
    p.add_argument("--serve", action="store_true", help="same as the action serve")
    p.add_argument("--host", default="127.0.0.1", help="serve: address to bind [default: 127.0.0.1]")
    p.add_argument("--port", type=positive, default=8751, help="serve: port [default: 8751]")
    p.add_argument("--session", metavar="ID", help="submit: Claude Code session id (claude --session-id ID)")
    p.add_argument("--trigger", metavar="FILE", help="submit: the trigger (YAML or JSON)")
    p.add_argument("--plan", metavar="FILE", help="submit: the plan (JSON or YAML)")
    p.add_argument("--type", choices=("command", "http"), default="command",
                   help="settings: hook type [default: command]")


def _no_front(args: argparse.Namespace) -> int:
    from plangate.cli.files import InputError

    raise InputError("name a front: plangate hook claude-code ...")


def cmd_claude_code(args: argparse.Namespace) -> int:
    action = "serve" if args.serve else args.action
    if action == "run":
        from plangate.fronts.claude_code.command import run

        # The command hook answers on its own terms (exit 2 = deny), whatever happens.
        return run(sys.stdin.buffer, sys.stdout, sys.stderr, args.config)
    if action == "settings":
        return _settings(args)
    from plangate.cli.files import InputError
    from plangate.fronts.claude_code.config import ConfigError, load_hook_config

    try:
        cfg = load_hook_config(args.config)
    except ConfigError as exc:
        raise InputError(str(exc)) from None
    if action == "serve":
        from plangate.fronts.claude_code.server import serve

        serve(cfg, host=args.host, port=args.port)
        return 0
    return _submit(args, cfg)


def _submit(args: argparse.Namespace, cfg: Any) -> int:
    from plangate.cli.files import InputError, read_document
    from plangate.cli.output import EXIT_FOR_VERDICT, say
    from plangate.fronts.claude_code.client import ServiceClient, ServiceDown
    from plangate.fronts.claude_code.state import SessionStore, StateError
    from plangate.fronts.claude_code.submit import SubmitError, submit_plan
    from plangate.safetext import visible

    if not (args.session and args.trigger and args.plan):
        raise InputError("submit needs --session, --trigger and --plan")
    trigger = read_document(args.trigger, "--trigger", what="trigger")
    plan = read_document(args.plan, "--plan", what="plan")
    client = ServiceClient(cfg.service, cfg.token, timeout=max(cfg.request_timeout, 30.0))
    try:
        bound = submit_plan(client, SessionStore(cfg.state_dir), args.session, trigger, plan)
    except (SubmitError, ServiceDown, StateError) as exc:
        raise InputError(str(exc)) from None
    finally:
        client.close()
    say(f"{bound.verdict}: session {visible(args.session)} run {visible(bound.run_id)}",
        f"rules: {visible(', '.join(bound.rules)) or '-'}")
    if bound.grant:
        say(f"grant: {bound.grant}")
    if bound.approval:
        say(f"approval: {bound.approval} (the hook picks up the grant once the owner approves)")
    return int(EXIT_FOR_VERDICT.get(bound.verdict, 3))


def _settings(args: argparse.Namespace) -> int:
    from plangate.fronts.claude_code.settings import hook_settings

    print(json.dumps(hook_settings(kind=args.type, config=args.config, port=args.port), indent=2))
    return 0
