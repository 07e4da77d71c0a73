#!/usr/bin/env bash
# The Claude Code CLI for the Claude Code front's end-to-end tests: the binary bundled in the
# PyPI wheel claude-agent-sdk (pinned), unpacked without its dependencies into
# .cache/claude-code/pkg (about 360 MB; a few seconds from a PyPI mirror). The tests run it
# offline against a scripted model server on loopback (tests/fronts_claude_code/).
# Idempotent: a stamp file names what is installed; a re-run with the same pin does nothing.
# Re-test a newer release: CLAUDE_AGENT_SDK_VERSION=0.x.y bash scripts/setup.d/claude_code.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=${CLAUDE_AGENT_SDK_VERSION:-0.2.184}
DIR=.cache/claude-code
STAMP=$DIR/.installed
BIN=$DIR/pkg/claude_agent_sdk/_bundled/claude
want="claude-agent-sdk=$VERSION"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -x "$BIN" ]; then
  exit 0
fi
PY=${VENV:-.venv}/bin/python
[ -x "$PY" ] || PY=python3
mkdir -p "$DIR"
rm -rf "$DIR/pkg"
"$PY" -m pip install -q --no-deps --target "$DIR/pkg" "claude-agent-sdk==$VERSION"
[ -x "$BIN" ] || { echo "claude_code.sh: no bundled claude binary in claude-agent-sdk $VERSION" >&2; exit 1; }
echo "$want" > "$STAMP"
echo "claude_code.sh: installed $want ($("$BIN" --version)) into $DIR"
