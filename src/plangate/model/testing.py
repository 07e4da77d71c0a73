"""A scripted model server on loopback that speaks the real wire protocols.

    with ScriptedModelServer(script) as server:
        client = OpenAIClient(parse_spec("openai:gpt-4o-mini", base_url=server.openai_url))
        ...
        server.exchanges      # every request the SDKs sent, parsed

It answers OpenAI chat completions (`/v1/chat/completions`: `response_format` json_schema,
tool calls, streamed as server-sent events with a usage chunk, or not) and Anthropic
messages (`/v1/messages`: text, tool_use, the streamed event sequence). `script` is a
function of the parsed request (`Exchange`) returning a `Reply`, or a list of replies
served in order. A reply can also be hostile: a status with headers (429 with
Retry-After, 500), a raw body that is not JSON, a delay past the client's timeout, an
enormous answer, usage that is never reported.

Token counts are realistic without a tokenizer: a quarter of the characters of the
request's messages, system text, tools and schema, and of the answer.

Tests and benchmarks use it through the official SDKs (`tests/model/`, `plangate bench
tokens`, `plangate bench budget`); it binds to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import math
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """One scripted answer. `json` is a structured answer (OpenAI: the message content;
    Anthropic: the forced tool's input); `text` plain text; `tool_calls` (name, arguments)
    pairs. `status` != 200 answers with an error body; `body` replaces the whole body."""

    text: str = ""
    json: Any = None
    tool_calls: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    delay: float = 0.0
    #: Report no token usage (a server that does not count).
    no_usage: bool = False
    #: Override the counted tokens (input, output).
    usage: tuple[int, int] | None = None
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """A request as the server received it."""

    api: str                 # "openai" or "anthropic"
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def schema_name(self) -> str:
        """The structured output asked for: the json_schema name (OpenAI) or the forced
        tool (Anthropic); "" for a free answer."""
        fmt = self.body.get("response_format") or {}
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return str((fmt.get("json_schema") or {}).get("name", ""))
        choice = self.body.get("tool_choice") or {}
        if isinstance(choice, dict) and choice.get("type") == "tool":
            return str(choice.get("name", ""))
        return ""

    def prompt_text(self) -> str:
        """Everything the model is shown, as one string (for leak checks)."""
        return json.dumps({k: v for k, v in self.body.items() if k in (
            "messages", "system", "tools", "response_format")}, ensure_ascii=False)

    def prompt_tokens(self) -> int:
        return math.ceil(len(self.prompt_text()) / 4)


Script = Callable[[Exchange], Reply] | Iterable[Reply]


class ScriptedModelServer:
    """Serves `script` on 127.0.0.1 (a free port) in a background thread."""

    def __init__(self, script: Script) -> None:
        if callable(script):
            self._script: Callable[[Exchange], Reply] = script
        else:
            replies: Iterator[Reply] = iter(list(script))
            lock = threading.Lock()

            def next_reply(_exchange: Exchange) -> Reply:
                with lock:
                    return next(replies, Reply(status=500, body='{"error": "script exhausted"}'))
            self._script = next_reply
        self.exchanges: list[Exchange] = []
        self._closing = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="scripted-model", daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ScriptedModelServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _record(self, exchange: Exchange) -> Reply:
        with self._lock:
            self.exchanges.append(exchange)
        return self._script(exchange)


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        path = self.path.split("?")[0]
        api = "anthropic" if path.endswith("/messages") else "openai"
        exchange = Exchange(api=api, path=path, headers={k.lower(): v for k, v in self.headers.items()},
                            body=body if isinstance(body, dict) else {})
        reply = self.owner._record(exchange)
        if reply.delay and self.owner._closing.wait(reply.delay):
            return
        if reply.body is not None or reply.status != 200:
            text = reply.body if reply.body is not None else json.dumps(
                {"error": {"message": f"scripted status {reply.status}", "type": "scripted"}},)
            self._send(reply.status, text.encode(), "application/json", reply.headers)
            return
        if api == "anthropic":
            self._anthropic(exchange, reply)
        else:
            self._openai(exchange, reply)

    def _send(self, status: int, data: bytes, ctype: str, headers: Mapping[str, str] = {}) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        # One request per connection: a client never keeps an idle socket to a test server
        # that outlives it (and Python warns about every unclosed one).
        self.send_header("connection", "close")
        self.close_connection = True
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _events(self, events: Iterable[tuple[str | None, Any]]) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for name, data in events:
                chunk = (f"event: {name}\n" if name else "") + "data: " + (
                    data if isinstance(data, str) else json.dumps(data)) + "\n\n"
                self.wfile.write(chunk.encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client cut the stream off (an answer too large): fine

    # ---- OpenAI chat completions ------------------------------------------------------

    def _openai(self, exchange: Exchange, reply: Reply) -> None:
        model = str(exchange.body.get("model", "scripted"))
        content = json.dumps(reply.json) if reply.json is not None else reply.text
        calls: list[dict[str, Any]] = [{"id": f"call_{secrets.token_hex(4)}", "type": "function",
                  "function": {"name": name, "arguments": json.dumps(args)}}
                 for name, args in reply.tool_calls]
        tokens_in, tokens_out = reply.usage or (exchange.prompt_tokens(), math.ceil(
            (len(content) + sum(len(c["function"]["arguments"]) for c in calls)) / 4) or 1)
        usage = {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                 "total_tokens": tokens_in + tokens_out}
        finish = reply.finish_reason or ("tool_calls" if calls else "stop")
        ident, created = f"chatcmpl-{secrets.token_hex(6)}", int(time.time())
        if not exchange.stream:
            message: dict[str, Any] = {"role": "assistant", "content": content if not calls else (content or None)}
            if calls:
                message["tool_calls"] = calls
            out: dict[str, Any] = {"id": ident, "object": "chat.completion", "created": created, "model": model,
                                   "choices": [{"index": 0, "message": message, "finish_reason": finish}]}
            if not reply.no_usage:
                out["usage"] = usage
            self._send(200, json.dumps(out).encode(), "application/json", reply.headers)
            return

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

        def events() -> Iterator[tuple[str | None, Any]]:
            yield None, chunk({"role": "assistant", "content": ""})
            for piece in _pieces(content):
                yield None, chunk({"content": piece})
            for i, c in enumerate(calls):
                yield None, chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                                   "function": {"name": c["function"]["name"], "arguments": ""}}]})
                for piece in _pieces(c["function"]["arguments"]):
                    yield None, chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
            yield None, chunk({}, finish)
            include = (exchange.body.get("stream_options") or {}).get("include_usage")
            if include and not reply.no_usage:
                yield None, {"id": ident, "object": "chat.completion.chunk", "created": created,
                             "model": model, "choices": [], "usage": usage}
            yield None, "[DONE]"
        self._events(events())

    # ---- Anthropic messages -----------------------------------------------------------

    def _anthropic(self, exchange: Exchange, reply: Reply) -> None:
        model = str(exchange.body.get("model", "scripted"))
        blocks: list[dict[str, Any]] = []  # each: type, then text or id/name/input
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        if reply.json is not None:
            name = exchange.schema_name or "answer"
            blocks.append({"type": "tool_use", "id": f"toolu_{secrets.token_hex(4)}", "name": name,
                           "input": reply.json})
        for name, args in reply.tool_calls:
            blocks.append({"type": "tool_use", "id": f"toolu_{secrets.token_hex(4)}", "name": name,
                           "input": dict(args)})
        size = sum(len(b.get("text", "")) + len(json.dumps(b.get("input", ""))) for b in blocks)
        tokens_in, tokens_out = reply.usage or (exchange.prompt_tokens(), math.ceil(size / 4) or 1)
        stop = reply.finish_reason or ("tool_use" if any(b["type"] == "tool_use" for b in blocks)
                                       else "end_turn")
        ident = f"msg_{secrets.token_hex(6)}"
        if not exchange.stream:
            out = {"id": ident, "type": "message", "role": "assistant", "model": model, "content": blocks,
                   "stop_reason": stop, "stop_sequence": None,
                   "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}
            self._send(200, json.dumps(out).encode(), "application/json", reply.headers)
            return

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "message_start", {"type": "message_start", "message": {
                "id": ident, "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": tokens_in, "output_tokens": 1}}}
            for i, b in enumerate(blocks):
                if b["type"] == "text":
                    yield "content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {"type": "text", "text": ""}}
                    for piece in _pieces(b["text"]):
                        yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                                      "delta": {"type": "text_delta", "text": piece}}
                else:
                    yield "content_block_start", {"type": "content_block_start", "index": i, "content_block": {
                        "type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}}
                    for piece in _pieces(json.dumps(b["input"])):
                        yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                                      "delta": {"type": "input_json_delta", "partial_json": piece}}
                yield "content_block_stop", {"type": "content_block_stop", "index": i}
            yield "message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": tokens_out}}
            yield "message_stop", {"type": "message_stop"}
        self._events(events())


class ReplayModel:
    """A script that plays a model behind the gate: the planner is answered with `plan`
    (set it before each trigger: a bundled plan, an attacker's plan), the extractor with a
    default of its declared type (the first enum value, false, 0, 2026-01-01, or the source
    itself for a copy), the reviewer with `verdict`. Anything else is a 500."""

    def __init__(self, *, verdict: str = "approve") -> None:
        self.plan: Any = None
        self.verdict = verdict

    def __call__(self, exchange: Exchange) -> Reply:
        name = exchange.schema_name
        if name == "plangate_plan":
            return Reply(json=self.plan)
        if name == "plangate_review":
            return Reply(json={"verdict": self.verdict})
        if name == "plangate_extract":
            return Reply(json={"value": _default_answer(exchange)})
        return Reply(status=500, body='{"error": {"message": "not scripted"}}')


def _default_answer(exchange: Exchange) -> Any:
    body = exchange.body
    if exchange.api == "openai":
        schema = body["response_format"]["json_schema"]["schema"]
        content = body["messages"][-1]["content"]
    else:
        schema = body["tools"][0]["input_schema"]
        content = body["messages"][-1]["content"]
    value = schema["properties"]["value"]
    if "enum" in value:
        return value["enum"][0]
    kind = value.get("type")
    if kind == "boolean":
        return False
    if kind == "number":
        return value.get("minimum", 0)
    if value.get("format") == "date":
        return "2026-01-01"
    source = json.loads(content)["source"]
    try:
        parsed = json.loads(source)
    except ValueError:
        return source
    return parsed[0] if isinstance(parsed, list) and parsed else source


def _pieces(text: str, size: int = 64) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i:i + size]


__all__ = ["Exchange", "ReplayModel", "Reply", "Script", "ScriptedModelServer"]
