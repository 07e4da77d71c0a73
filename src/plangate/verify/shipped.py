"""Which scratch environment verifies which catalog, and the shipped catalogs.

`plangate catalog verify CATALOG` needs an implementation of the catalog's tools to run:
the inbox assistant's runtime, or one of AgentDojo's suites. `--env` names it; without
it, the environment whose tools include every tool of the catalog is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from plangate.catalog import Catalog, load_catalog
from plangate.errors import CatalogError
from plangate.verify.engine import Adapter, Report, ToolReport, verify_catalog

ENVIRONMENTS = ("assistant", "agentdojo-workspace", "agentdojo-travel", "agentdojo-banking",
                "agentdojo-slack", "support", "incident")


def shipped_catalog(env: str) -> Catalog:
    """The catalog shipped for an environment (what CI verifies)."""
    if env == "assistant":
        from plangate.deployments.inbox.runtime import assistant_catalog

        return assistant_catalog()
    if env == "support":
        from plangate.deployments.support.runtime import support_catalog

        return support_catalog()
    if env == "incident":
        from plangate.deployments.incident.runtime import incident_catalog

        return incident_catalog()
    from plangate.verify.agentdojo import suite_catalog

    return suite_catalog(_suite(env))


def adapter(env: str, catalog: Catalog | None = None) -> Adapter:
    """The scratch environments of `env`, for `catalog` (default: the shipped one)."""
    if env == "assistant":
        from plangate.verify.assistant import AssistantAdapter

        return AssistantAdapter(catalog)
    if env == "support":
        from plangate.verify.support import SupportAdapter

        return SupportAdapter(catalog)
    if env == "incident":
        from plangate.verify.incident import IncidentAdapter

        return IncidentAdapter(catalog)
    from plangate.verify.agentdojo import AgentDojoAdapter

    return AgentDojoAdapter(_suite(env), catalog)


def _suite(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise CatalogError(f"no scratch environment {env!r} (one of {', '.join(ENVIRONMENTS)})")
    return env.removeprefix("agentdojo-")


def environment_for(catalog: Catalog) -> str:
    """The environment implementing every tool of `catalog` (same names, same arguments)."""
    for env in ENVIRONMENTS:
        try:
            tools = shipped_catalog(env).tools
        except ImportError:  # AgentDojo is an optional extra
            continue
        if all(name in tools and set(spec.args) <= set(tools[name].args)
               for name, spec in catalog.tools.items()):
            return env
    raise CatalogError("no scratch environment implements every tool of this catalog "
                       f"(environments: {', '.join(ENVIRONMENTS)}); mark the tools `unverifiable: "
                       "<reason>` or name the environment with --env")


def verify_file(catalog: Catalog, source: str, env: str | None = None,
                progress: Callable[[ToolReport], Any] | None = None) -> Report:
    """Verify a loaded catalog (read from `source`) in its environment."""
    runner = adapter(env or environment_for(catalog), catalog)
    try:
        report = verify_catalog(runner, progress=progress)
    finally:
        close = getattr(runner, "close", None)
        if close is not None:
            close()
    report.catalog = source
    return report


def verify_path(path: str | Path, env: str | None = None) -> Report:
    """Load a catalog file and verify it in its environment."""
    return verify_file(load_catalog(path), str(path), env)
