"""Both SDK clients against the scripted wire server: structured answers and tool calls,
streamed and not, and a hostile server. Every failure is one of plangate's model errors
with a clear message; retries are bounded; Retry-After is honoured (recorded, not slept)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from plangate.model import make_client, parse_spec
from plangate.model.client import Message, ModelClient, ModelRequest, Structured, ToolDef
from plangate.model.errors import ModelConfigError, ModelError, ModelOutputError, ModelUnavailable
from plangate.model.testing import Exchange, Reply, ScriptedModelServer

from .conftest import Sleeps

SCHEMA = {"type": "object", "properties": {"value": {"type": "boolean"}}, "required": ["value"]}
ASK = ModelRequest(purpose="extractor", system="sys", messages=(Message(role="user", content="hi"),),
                   output=Structured(name="plangate_extract", schema=SCHEMA))
TOOLS = ModelRequest(purpose="agent", system="sys", messages=(Message(role="user", content="go"),),
                     tools=(ToolDef(name="send", description="send", parameters={
                         "type": "object", "properties": {"to": {"type": "string"}}}),))
KINDS = [(p, s) for p in ("openai", "anthropic") for s in (False, True)]


def client(server: ScriptedModelServer, provider: str, stream: bool, sleeps: Sleeps | None = None,
           **fields: Any) -> ModelClient:
    url = server.openai_url if provider == "openai" else server.anthropic_url
    model = "gpt-4o-mini" if provider == "openai" else "claude-3-5-haiku-latest"
    return make_client(parse_spec(f"{provider}:{model}", base_url=url, stream=stream, **fields), sleep=sleeps)


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_structured_answer_and_usage_through_the_real_sdk(provider: str, stream: bool) -> None:
    """A structured request reaches the server in the provider's own form (json_schema
    response_format, or a forced tool) and the answer's JSON and token counts come back."""
    with ScriptedModelServer(lambda ex: Reply(json={"value": True}, usage=(120, 7))) as server:
        answer = client(server, provider, stream).complete(ASK)
        sent = server.exchanges[0]
    assert answer.json() == {"value": True}
    assert (answer.tokens_in, answer.tokens_out, answer.streamed) == (120, 7, stream)
    assert sent.schema_name == "plangate_extract" and sent.stream == stream
    if provider == "openai":
        assert sent.body["response_format"]["json_schema"]["schema"] == SCHEMA
        assert "tools" not in sent.body
    else:
        assert sent.body["tools"][0]["input_schema"] == SCHEMA
        assert sent.body["tool_choice"] == {"type": "tool", "name": "plangate_extract"}


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_tool_calls_come_back_parsed(provider: str, stream: bool) -> None:
    """Tool calls (the ReAct baseline's) arrive with their arguments, streamed or not."""
    with ScriptedModelServer(lambda ex: Reply(tool_calls=(("send", {"to": "a@b.example"}),))) as server:
        answer = client(server, provider, stream).complete(TOOLS)
    assert [(c.name, dict(c.arguments)) for c in answer.tool_calls] == [("send", {"to": "a@b.example"})]


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_429_waits_retry_after_then_succeeds(provider: str, stream: bool, sleeps: Sleeps) -> None:
    """A 429's Retry-After is honoured before the next attempt."""
    replies = [Reply(status=429, headers={"Retry-After": "7"}), Reply(json={"value": False})]
    with ScriptedModelServer(replies) as server:
        answer = client(server, provider, stream, sleeps).complete(ASK)
    assert answer.json() == {"value": False} and answer.attempts == 2
    assert sleeps.waits == [7.0]


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_retry_after_beyond_the_cap_fails_at_once(provider: str, stream: bool, sleeps: Sleeps) -> None:
    """A server asking to wait longer than max_retry_wait is not waited for."""
    with ScriptedModelServer(lambda ex: Reply(status=429, headers={"retry-after": "3600"})) as server, \
            pytest.raises(ModelUnavailable, match=r"retry after 3600 s,") as err:
        client(server, provider, stream, sleeps, max_retry_wait=60).complete(ASK)
    assert len(server.exchanges) == 1
    assert err.value.status == 429 and sleeps.waits == []


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_500s_are_retried_a_bounded_number_of_times(provider: str, stream: bool, sleeps: Sleeps) -> None:
    """Three 500s with max_retries=2: three attempts, then a clear error naming the status."""
    with ScriptedModelServer(lambda ex: Reply(status=500)) as server, pytest.raises(
            ModelUnavailable, match=r"HTTP 500.*gave up after 3 attempts"):
        client(server, provider, stream, sleeps, max_retries=2).complete(ASK)
    assert len(server.exchanges) == 3
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_a_slow_answer_past_the_timeout(provider: str, stream: bool) -> None:
    """An answer slower than the timeout fails as a timeout, within about timeout x attempts."""
    start = time.monotonic()
    with ScriptedModelServer(lambda ex: Reply(json={"value": True}, delay=5)) as server, \
            pytest.raises(ModelUnavailable, match="no answer within the timeout"):
        client(server, provider, stream, Sleeps(), timeout=0.2, max_retries=1).complete(ASK)
    assert len(server.exchanges) == 2
    assert time.monotonic() - start < 3


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_a_body_that_is_not_json(provider: str, stream: bool) -> None:
    """A malformed body is a ModelOutputError, not a JSONDecodeError or an SDK error."""
    with ScriptedModelServer(lambda ex: Reply(body="{not json at all")) as server, \
            pytest.raises(ModelOutputError, match=r"malformed|without an answer"):
        client(server, provider, stream).complete(ASK)


@pytest.mark.parametrize(("provider", "stream"), KINDS)
def test_an_enormous_answer_is_refused(provider: str, stream: bool) -> None:
    """An answer far beyond max_tokens is cut off (streamed) or refused (not)."""
    with ScriptedModelServer(lambda ex: Reply(text="A" * 2_000_000)) as server, \
            pytest.raises(ModelOutputError, match="characters"):
        client(server, provider, stream, max_tokens=100).complete(TOOLS)


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_structured_answer_that_is_not_json(provider: str) -> None:
    """Plain text where JSON was asked: the caller gets ModelOutputError from .json()."""
    def script(ex: Exchange) -> Reply:
        return Reply(text="Sure! Here is your plan: ...") if ex.api == "openai" else Reply(text="Sure!")
    with ScriptedModelServer(script) as server, pytest.raises(ModelOutputError):
        client(server, provider, False).complete(ASK).json()


@pytest.mark.parametrize("stream", [False, True])
def test_unreported_usage_counts_as_the_worst_case(stream: bool) -> None:
    """A server that reports no usage (some OpenAI-compatible ones do not, streamed or not):
    the answer's counts are the worst case, flagged as unreported."""
    with ScriptedModelServer(lambda ex: Reply(json={"value": True}, no_usage=True)) as server:
        answer = client(server, "openai", stream, max_tokens=50).complete(ASK)
    assert not answer.usage_reported and answer.tokens_out == 50 and answer.tokens_in >= 30


def test_a_refused_connection_is_unavailable(sleeps: Sleeps) -> None:
    """Nothing listening: ModelUnavailable naming the endpoint, after the retries."""
    server = ScriptedModelServer([])
    url = server.openai_url
    server.close()
    config = parse_spec("openai:gpt-4o-mini", base_url=url, max_retries=1)
    with pytest.raises(ModelUnavailable, match="cannot connect"):
        make_client(config, sleep=sleeps).complete(ASK)


def test_errors_sit_in_plangates_tree() -> None:
    """Model errors are PlangateErrors; a missing key names its variable."""
    from plangate.errors import PlangateError

    assert issubclass(ModelError, PlangateError)
    config = parse_spec("openai:gpt-4o-mini", base_url="https://api.example.invalid/v1",
                        api_key_env="PLANGATE_TEST_NO_SUCH_KEY")
    with pytest.raises(ModelConfigError, match=r"\$PLANGATE_TEST_NO_SUCH_KEY"):
        config.api_key({})
    with pytest.raises(ModelConfigError, match="PROVIDER:MODEL"):
        parse_spec("gpt-4o-mini")
    with pytest.raises(ModelConfigError, match="unknown provider"):
        parse_spec("cohere:command")
