"""The MCP gateway's configuration file (`plangate mcp-gateway --config gateway.yaml`).

    policy: policy.yaml          # deployment, classes, request types, rules
    audit: plangate.db           # audit log and approvals (`plangate approvals --db`)
    trigger: trigger.yaml        # whom this session acts for: set by the launcher
    overrides: overrides.yaml    # security annotations per tool (`fs__write_file: {...}`)
    upstreams:
      fs: {command: [npx, "@modelcontextprotocol/server-filesystem", /srv/notes]}
      api: {url: "http://127.0.0.1:8001/mcp"}
    timeouts: {start_s: 30, call_s: 60, idle_s: 3600}
    http_token_env: PLANGATE_MCP_TOKEN   # --http: the agent's bearer token, from the environment

Paths are relative to the configuration file. The policy is compiled against the gateway's
catalog (every upstream's listing plus the overrides); a `catalog:` key in it is not read.
The trigger comes from here (or the launcher's `--trigger FILE`), never from the agent: an
agent cannot name its own trust class.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plangate.documents import load_document, validation_message
from plangate.errors import UserError

UPSTREAM_NAME = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"  # no "__": that separates upstream and tool


class GatewayConfigError(UserError):
    """The gateway's configuration is wrong (names the file and the field)."""


class Upstream(BaseModel):
    """One upstream MCP server: a command (stdio) or a URL (streamable HTTP)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | None = Field(default=None, min_length=1)
    env: dict[str, str] | None = None  # None: the SDK's minimal environment, not the gateway's
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    #: Take this upstream's MCP hints (readOnlyHint, openWorldHint...) as the starting
    #: effects instead of the worst case (output and reads stay the worst case: hints say
    #: nothing about the data a tool returns). Overrides still replace them.
    trust_hints: bool = False

    @model_validator(mode="after")
    def _one_transport(self) -> Upstream:
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of `command` (stdio) and `url` (streamable HTTP)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError("`url` must be an http:// or https:// URL")
        return self


class Timeouts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start_s: float = Field(default=30.0, gt=0, le=600)   # connect and list, per upstream
    call_s: float = Field(default=60.0, gt=0, le=3600)   # one upstream call
    idle_s: float = Field(default=3600.0, gt=0, le=86400)  # a grant waiting for its next call


class GatewayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: str
    audit: str = "plangate.db"
    trigger: str | dict[str, Any] | None = None
    overrides: str | dict[str, dict[str, Any]] | None = None
    upstreams: dict[str, Upstream] = Field(min_length=1)
    timeouts: Timeouts = Timeouts()
    #: Refused calls on one grant before the grant is closed (a hijacked agent probing).
    max_refusals: int = Field(default=20, ge=1, le=10_000)
    #: Over HTTP: the environment variable holding the agent's bearer token. Every request
    #: must carry `Authorization: Bearer <token>`; without it anyone who can reach the
    #: port drives this session's grant.
    http_token_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _names(self) -> GatewayConfig:
        import re

        for name in self.upstreams:
            if not re.match(UPSTREAM_NAME, name) or len(name) > 32:
                raise ValueError(f"upstream name {name!r}: lower-case letters, digits and single "
                                 "underscores, at most 32 characters")
        return self


def parse_gateway_config(data: Any, *, source: str = "gateway config") -> GatewayConfig:
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise GatewayConfigError(validation_message(exc, source=source, data=data)) from None


def load_gateway_config(path: str | Path) -> tuple[GatewayConfig, Path]:
    """The configuration and the folder its relative paths start from."""
    try:
        data = load_document(path)
    except ValueError as exc:
        raise GatewayConfigError(str(exc)) from None
    return parse_gateway_config(data, source=str(path)), Path(path).resolve().parent


def resolve(base: Path, path: str) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def load_mapping(value: str | Mapping[str, Any] | None, base: Path, what: str) -> dict[str, Any]:
    """An inline mapping, or the mapping in the file it names (relative to `base`)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    try:
        data = load_document(resolve(base, value))
    except ValueError as exc:
        raise GatewayConfigError(f"{what}: {exc}") from None
    if not isinstance(data, Mapping):
        raise GatewayConfigError(f"{what} {value!r}: not a mapping")
    return dict(data)
