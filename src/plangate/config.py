"""Settings: the one place plangate reads its configuration.

Every front (the command line now; `serve`, `agent` and `usage` next) asks
`load_settings()` and nothing else reads flags, files or the environment for these. Each
setting comes from the first of:

1. a command-line flag (`--policy`, `--catalog`, `--db`, `--model`);
2. an environment variable (`PLANGATE_POLICY`, `PLANGATE_CATALOG`, `PLANGATE_DB`,
   `PLANGATE_MODEL`);
3. the config file: `--config FILE`, else `$PLANGATE_CONFIG`, else `plangate.toml` in the
   current folder if there is one. TOML, top-level keys named as the settings; relative
   paths in it are relative to the file's folder;
4. the default.

`plangate config` prints the settings in effect and where each came from. The table of
settings (`SETTINGS`) is also what `--help` prints, so the two cannot drift apart.
Documented in docs/cli.md.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plangate.errors import UserError

CONFIG_ENV = "PLANGATE_CONFIG"
CONFIG_FILE = "plangate.toml"


class ConfigError(UserError):
    """A setting, the config file, or an environment variable is wrong."""


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    env: str
    default: str | None
    help: str
    path: bool = True  # a file path: relative to the config file's folder when set there


SETTINGS: tuple[Setting, ...] = (
    Setting("policy", "PLANGATE_POLICY", None,
            "policy file (YAML); names its tool catalog"),
    Setting("catalog", "PLANGATE_CATALOG", None,
            "tool catalog (YAML) to use instead of the one the policy names"),
    Setting("db", "PLANGATE_DB", "plangate.db",
            "audit log and approvals: a SQLite file path, sqlite:///PATH, or (for `serve`) "
            "postgresql://USER@HOST/DB"),
    Setting("model", "PLANGATE_MODEL", None,
            "planner model for `agent` and `demo`: PROVIDER:MODEL, e.g. openai:gpt-4o-mini",
            path=False),
    Setting("redis", "PLANGATE_REDIS", None,
            "(serve) redis://HOST:PORT/N for request limits and run counts shared by workers",
            path=False),
    Setting("witness", "PLANGATE_WITNESS", None,
            "(serve) where the audit chain's heads are shipped: a SQLite path or redis://URL"),
    Setting("credentials", "PLANGATE_CREDENTIALS", None,
            "(serve) TOML file of API credentials: agent, approver and admin tokens (hashed)"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """The settings in effect. `sources` says where each came from: `--db`,
    `$PLANGATE_DB`, `plangate.toml`, or `default`."""

    policy: str | None = None
    catalog: str | None = None
    db: str = "plangate.db"
    model: str | None = None
    redis: str | None = None
    witness: str | None = None
    credentials: str | None = None
    config_file: str | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def require(self, name: str) -> str:
        """A setting that the command cannot do without, or an error saying how to give it."""
        value = getattr(self, name)
        if value is None:
            spec = _BY_NAME[name]
            raise ConfigError(f"no {name} given: pass --{name} FILE, set {spec.env}, or put "
                              f"`{name} = \"FILE\"` in {CONFIG_FILE}")
        return str(value)

    def to_json(self) -> dict[str, Any]:
        return {**{s.name: getattr(self, s.name) for s in SETTINGS},
                "config_file": self.config_file, "sources": dict(self.sources)}


def load_settings(flags: Mapping[str, Any] | None = None, *, config: str | None = None,
                  environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """Settings from flags (None = not given), environment, config file and defaults."""
    flags = flags or {}
    env = os.environ if environ is None else environ
    here = cwd or Path.cwd()
    file_path, file_values = _config_file(config, env, here)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for spec in SETTINGS:
        flag = flags.get(spec.name)
        if flag is not None:
            values[spec.name], sources[spec.name] = str(flag), f"--{spec.name}"
        elif env.get(spec.env):
            values[spec.name], sources[spec.name] = env[spec.env], f"${spec.env}"
        elif spec.name in file_values and file_path is not None:
            value = file_values[spec.name]
            if spec.name == "db":
                value = database_url(value, source=str(file_path))
            if spec.path and value != ":memory:" and "://" not in value:
                value = str(file_path.parent / value)  # absolute paths stay as they are
            values[spec.name], sources[spec.name] = value, str(file_path)
        elif spec.default is not None:
            values[spec.name], sources[spec.name] = spec.default, "default"
    if "db" in values:
        values["db"] = database_url(values["db"], source=sources["db"])
    if values.get("model") is not None and not str(values["model"]).strip():
        raise ConfigError(f"{sources['model']}: model is empty")
    return Settings(**values, config_file=str(file_path) if file_path else None,
                    sources=sources)


def sqlite_path(url: str, *, source: str = "db") -> str:
    """The SQLite file a database setting names: a path, `sqlite:///relative/path`,
    `sqlite:////absolute/path` or `:memory:`. Other databases are refused by name."""
    if url == ":memory:" or "://" not in url:
        if not url.strip():
            raise ConfigError(f"{source}: the database path is empty")
        return url
    scheme, _, rest = url.partition("://")
    if scheme != "sqlite":
        raise ConfigError(f"{source}: {scheme}:// databases are not supported yet; "
                          "use a SQLite file path or sqlite:///PATH (postgresql:// with `plangate serve`)")
    if not rest.startswith("/") or rest == "/":
        raise ConfigError(f"{source}: a SQLite URL is sqlite:///PATH (three slashes)")
    return rest[1:]


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def database_url(url: str, *, source: str = "db") -> str:
    """A database setting: a SQLite path (as `sqlite_path` gives it) or a PostgreSQL URL,
    kept as written (only `plangate serve` opens PostgreSQL; see plangate.storage)."""
    if url.startswith(POSTGRES_SCHEMES):
        return url
    return sqlite_path(url, source=source)


def _config_file(explicit: str | None, env: Mapping[str, str],
                 here: Path) -> tuple[Path | None, dict[str, Any]]:
    if explicit is not None:
        path, origin = Path(explicit), "--config"
    elif env.get(CONFIG_ENV):
        path, origin = Path(env[CONFIG_ENV]), f"${CONFIG_ENV}"
    elif (here / CONFIG_FILE).is_file():
        path, origin = here / CONFIG_FILE, "found"
    else:
        return None, {}
    if not path.is_absolute():
        path = here / path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({origin}): "
                          f"{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    for key, value in data.items():
        if key not in _BY_NAME:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: "
                              f"{', '.join(s.name for s in SETTINGS)}")
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{path}: {key} must be a non-empty string")
    return path, data


def describe_settings() -> str:
    """The settings table for `--help`: name, variable, default, meaning."""
    lines = ["settings (flag > environment > config file > default; see `plangate config`):"]
    for s in SETTINGS:
        default = f" [default: {s.default}]" if s.default else ""
        lines.append(f"  --{s.name:<8} ${s.env:<17} {s.help}{default}")
    lines.append(f"  --config   ${CONFIG_ENV:<17} a TOML file with these keys [default: ./{CONFIG_FILE} "
                 "if present]")
    return "\n".join(lines)


__all__ = ["CONFIG_ENV", "CONFIG_FILE", "POSTGRES_SCHEMES", "SETTINGS", "ConfigError", "Setting", "Settings",
           "database_url", "describe_settings", "load_settings", "sqlite_path"]
