"""OpenAI Agents SDK tools behind a grant, run by the SDK's Runner against a scripted
OpenAI-compatible model on loopback (the real client and tool-invocation path)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytest.importorskip("agents", reason="the adapters extra is not installed")

from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
from agents.exceptions import UserError
from openai import AsyncOpenAI

from plangate.fronts.adapters import CallBlocked, ServiceGrant, gated_function_tool
from plangate.model.testing import Exchange, Reply, ScriptedModelServer

set_tracing_disabled(True)  # the SDK would otherwise export traces to the vendor


def model_making(calls: list[tuple[str, dict[str, Any]]]) -> Any:
    def script(exchange: Exchange) -> Reply:
        done = sum(1 for m in exchange.body.get("messages", []) if m.get("role") == "tool")
        if done < len(calls):
            return Reply(tool_calls=(calls[done],))
        return Reply(text="done")
    return script


def run(grant: ServiceGrant, calls: list[tuple[str, dict[str, Any]]], sent: list[Any]) -> Any:
    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    @function_tool
    def send_email(to: list[str], body: str) -> str:
        """Send an email."""
        sent.append((to, body))
        return "sent"

    async def go(url: str) -> Any:
        client = AsyncOpenAI(base_url=url, api_key="scripted", max_retries=0)
        try:
            agent = Agent(name="assistant", instructions="help",
                          model=OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client),
                          tools=[gated_function_tool(get_weather, grant), gated_function_tool(send_email, grant)])
            return await Runner.run(agent, "weather please", max_turns=6)
        finally:
            await client.close()

    with ScriptedModelServer(model_making(calls)) as server:
        return asyncio.run(go(server.openai_url))


def test_planned_calls_run(grant: ServiceGrant) -> None:
    """The plan's calls go through the SDK's Runner and run."""
    sent: list[Any] = []
    result = run(grant, [("get_weather", {"city": "Paris"}),
                         ("send_email", {"to": ["owner@home.example"], "body": "Sunny in Paris"})], sent)
    assert result.final_output == "done"
    assert sent == [(["owner@home.example"], "Sunny in Paris")]


def test_hijacked_call_is_blocked_and_never_runs(grant: ServiceGrant) -> None:
    """A mail to someone the plan does not name: blocked, nothing sent. (The SDK wraps what a
    tool raises in its own UserError; plangate's CallBlocked is the cause.)"""
    sent: list[Any] = []
    with pytest.raises(UserError) as info:
        run(grant, [("get_weather", {"city": "Paris"}),
                    ("send_email", {"to": ["mallory@evil.example"], "body": "Sunny in Paris"})], sent)
    assert isinstance(info.value.__cause__, CallBlocked)
    assert "plangate blocked send_email" in str(info.value.__cause__)
    assert sent == []
