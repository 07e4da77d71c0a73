"""pydantic-ai tools behind a grant: the agent's own tool-call path (a FunctionModel plays
the model) runs the planned calls and never an unplanned one."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("pydantic_ai", reason="the adapters extra is not installed")

from pydantic_ai import Agent, RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from plangate.fronts.adapters import CallBlocked, ServiceGrant, gated


def scripted(calls: list[tuple[str, dict[str, Any]]]) -> FunctionModel:
    """A model that makes `calls` one per turn, then answers."""
    def respond(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        done = sum(1 for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart))
        if done < len(calls):
            name, args = calls[done]
            return ModelResponse(parts=[ToolCallPart(tool_name=name, args=args)])
        return ModelResponse(parts=[TextPart("done")])
    return FunctionModel(respond)


def make_tools(grant: ServiceGrant, sent: list[tuple[list[str], str]]) -> list[Any]:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    async def send_email(ctx: RunContext[None], to: list[str], body: str) -> str:
        """Send an email."""
        sent.append((to, body))
        return "sent"

    return [gated(get_weather, grant), gated(send_email, grant)]


def test_planned_calls_run(grant: ServiceGrant) -> None:
    """The reviewed plan's two calls run through pydantic-ai and are reported."""
    sent: list[tuple[list[str], str]] = []
    model = scripted([("get_weather", {"city": "Paris"}),
                      ("send_email", {"to": ["owner@home.example"], "body": "Sunny in Paris"})])
    result = asyncio.run(Agent(model, tools=make_tools(grant, sent)).run("weather please"))
    assert result.output == "done"
    assert sent == [(["owner@home.example"], "Sunny in Paris")]


def test_hijacked_call_is_blocked_and_never_runs(grant: ServiceGrant) -> None:
    """The model, hijacked by the page it read, mails someone else: blocked, nothing sent."""
    sent: list[tuple[list[str], str]] = []
    model = scripted([("get_weather", {"city": "Paris"}),
                      ("send_email", {"to": ["mallory@evil.example"], "body": "Sunny in Paris"})])
    with pytest.raises(CallBlocked, match="plangate blocked send_email"):
        asyncio.run(Agent(model, tools=make_tools(grant, sent)).run("weather please"))
    assert sent == []


def test_service_down_blocks(service_url: str) -> None:
    """No service at the address: the first call is blocked, the tool never runs."""
    ran: list[str] = []

    def get_weather(city: str) -> str:
        ran.append(city)
        return "x"

    with ServiceGrant("http://127.0.0.1:9", "pgt_x", "gr_00", timeout=2) as down:
        agent = Agent(scripted([("get_weather", {"city": "Paris"})]), tools=[gated(get_weather, down)])
        with pytest.raises(CallBlocked, match="service unusable"):
            asyncio.run(agent.run("weather please"))
    assert ran == []
