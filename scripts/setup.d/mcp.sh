#!/usr/bin/env bash
# Real upstream MCP servers from npm for the MCP gateway's tests and bench
# (tests/fronts_mcp, plangate bench mcp): @modelcontextprotocol/server-filesystem and
# server-memory, pinned, into .cache/mcp/, run with the machine's Node (20 or newer).
# (server-everything's HTTP mode binds every interface, so the HTTP upstream of the tests
# is a server built with the mcp SDK on 127.0.0.1 instead.)
# The PyPI upstreams (mcp-server-time, mcp-server-git) come with the `dev` extra.
# Idempotent: a stamp file names what is installed; a re-run with the same pins does nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

FS_VERSION=${MCP_FS_VERSION:-2026.8.31}
MEMORY_VERSION=${MCP_MEMORY_VERSION:-2026.8.31}
DIR=.cache/mcp
STAMP=$DIR/.installed
want="server-filesystem=$FS_VERSION server-memory=$MEMORY_VERSION"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -e "$DIR/node_modules/@modelcontextprotocol/server-filesystem/package.json" ] \
   && [ -e "$DIR/node_modules/@modelcontextprotocol/server-memory/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "mcp.sh: npm is not installed (Debian package npm)" >&2; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "mcp.sh: the npm MCP servers need Node 20 or newer (found ${major})" >&2; exit 1
fi
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "plangate-mcp-cache", "private": true}' > "$DIR/package.json"
# --ignore-scripts: nothing from the registry runs at install time.
npm install --prefix "$DIR" --no-audit --no-fund --ignore-scripts --loglevel=error \
  "@modelcontextprotocol/server-filesystem@$FS_VERSION" \
  "@modelcontextprotocol/server-memory@$MEMORY_VERSION" >/dev/null
echo "$want" > "$STAMP"
echo "mcp.sh: installed $want into $DIR"
