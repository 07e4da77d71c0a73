"""Fronts: where agents meet the gate (MCP gateway, Claude Code hook, OpenClaw's service
client, framework adapters). Each depends on the core and the service, never the reverse,
and no front imports another (the import contract in pyproject.toml)."""
