"""The hook's settings: one TOML file, parsed once, every problem named in one line.

    service = "http://127.0.0.1:8750"   # plangate serve
    token_file = "/etc/plangate/claude-code.token"   # an agent credential (or token_env)
    state_dir = "~/.local/state/plangate/claude-code"
    deadline = 8.0        # seconds: the hook answers deny by then (below Claude Code's timeout)
    on_allow = "defer"    # "defer": Claude Code's own permissions still apply; "allow": skip them
    protect = []          # more paths no file tool may touch, whatever the grant

The file is named by `--config` or `$PLANGATE_CLAUDE_CODE_CONFIG`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from plangate.fronts.claude_code.fields import FieldError, number, strings, text, unknown

CONFIG_ENV = "PLANGATE_CLAUDE_CODE_CONFIG"
DEFAULT_STATE = "~/.local/state/plangate/claude-code"


class ConfigError(ValueError):
    """The hook's settings are missing or wrong; the hook denies and says which."""


_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_KNOWN = ("service", "token", "token_file", "token_env", "state_dir", "deadline", "request_timeout", "on_allow",
          "protect", "hook_token_env")


@dataclass(frozen=True, slots=True)
class _File:
    service: str
    token: str | None
    token_file: str | None
    token_env: str | None
    state_dir: str
    deadline: float
    request_timeout: float | None
    on_allow: Literal["defer", "allow"]
    protect: list[str]
    # the http hook's own shared secret (sent by Claude Code in a header)
    hook_token_env: str | None

    @classmethod
    def read(cls, data: dict[str, Any]) -> _File:
        unknown(data, _KNOWN)
        on_allow = text(data, "on_allow", required=False) or "defer"
        if on_allow not in ("defer", "allow"):
            raise FieldError("on_allow: Input should be 'defer' or 'allow'")
        return cls(service=str(text(data, "service", pattern=r"https?://\S+")),
                   token=text(data, "token", required=False, min_len=8),
                   token_file=text(data, "token_file", required=False),
                   token_env=text(data, "token_env", required=False, pattern=_ENV_NAME),
                   state_dir=text(data, "state_dir", required=False) or DEFAULT_STATE,
                   deadline=float(number(data, "deadline", default=8.0, gt=0, le=600) or 8.0),
                   request_timeout=number(data, "request_timeout", default=None, gt=0, le=600),
                   on_allow=on_allow,  # type: ignore[arg-type]  # checked above
                   protect=strings(data, "protect"),
                   hook_token_env=text(data, "hook_token_env", required=False, pattern=_ENV_NAME))


@dataclass(frozen=True, slots=True, kw_only=True)
class HookConfig:
    service: str
    token: str
    state_dir: Path
    deadline: float = 8.0
    request_timeout: float = 5.0
    on_allow: Literal["defer", "allow"] = "defer"
    protect: tuple[Path, ...] = ()
    hook_token: str | None = None
    source: str = ""


def load_hook_config(path: str | Path | None = None, *, env: dict[str, str] | None = None,
                     on_deadline: Callable[[float], None] | None = None) -> HookConfig:
    """The settings at `path` (or `$PLANGATE_CLAUDE_CODE_CONFIG`). `on_deadline` hears the
    deadline as soon as the file is parsed, before the token file is read (the command
    hook's watchdog switches to it)."""
    environ = os.environ if env is None else env
    where = str(path) if path else environ.get(CONFIG_ENV, "")
    if not where:
        raise ConfigError(f"no hook settings: pass --config FILE or set ${CONFIG_ENV}")
    try:
        data: Any = tomllib.loads(Path(where).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such settings file") from None
    except OSError as exc:
        raise ConfigError(f"{where}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not TOML: {exc}"[:300]) from None
    try:
        raw = _File.read(data)
    except FieldError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if on_deadline is not None:
        on_deadline(raw.deadline)
    token = _token(raw, where, environ)
    hook_token = environ.get(raw.hook_token_env) if raw.hook_token_env else None
    if raw.hook_token_env and not hook_token:
        raise ConfigError(f"{where}: hook_token_env names ${raw.hook_token_env}, which is not set")
    timeout = raw.request_timeout if raw.request_timeout is not None else max(0.5, raw.deadline * 0.6)
    state = Path(raw.state_dir).expanduser()
    protect = [state, Path(where)] + [Path(p).expanduser() for p in raw.protect]
    if raw.token_file:
        protect.append(Path(raw.token_file).expanduser())
    return HookConfig(service=raw.service, token=token, state_dir=state, deadline=raw.deadline,
                      request_timeout=min(timeout, raw.deadline), on_allow=raw.on_allow,
                      protect=tuple(p.resolve() for p in protect), hook_token=hook_token, source=where)


def _token(raw: _File, where: str, environ: Any) -> str:
    given = [k for k in ("token", "token_file", "token_env") if getattr(raw, k)]
    if len(given) != 1:
        raise ConfigError(f"{where}: give exactly one of token, token_file, token_env")
    if raw.token:
        return raw.token
    if raw.token_env:
        value = environ.get(raw.token_env, "").strip()
        if not value:
            raise ConfigError(f"{where}: token_env names ${raw.token_env}, which is not set")
        return str(value)
    assert raw.token_file is not None
    try:
        value = Path(raw.token_file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{where}: token_file {raw.token_file}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{where}: token_file {raw.token_file} is empty")
    return value


__all__ = ["CONFIG_ENV", "ConfigError", "HookConfig", "load_hook_config"]
