"""A small MCP server on streamable HTTP (127.0.0.1) for the gateway's HTTP-upstream test,
built with the official SDK's MCPServer: notes kept in a JSON file, so the test can see
exactly what reached it. Usage: python notes_server.py PORT NOTES_FILE."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer


def main() -> None:
    port, path = int(sys.argv[1]), Path(sys.argv[2])
    server = MCPServer("notes")

    @server.tool()
    def add_note(text: str) -> str:
        """Add a note."""
        notes = json.loads(path.read_text()) if path.exists() else []
        notes.append(text)
        path.write_text(json.dumps(notes))
        return f"{len(notes)} notes"

    @server.tool()
    def count_notes() -> int:
        """How many notes there are."""
        return len(json.loads(path.read_text())) if path.exists() else 0

    server.run("streamable-http", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
