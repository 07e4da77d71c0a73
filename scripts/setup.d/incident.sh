#!/usr/bin/env bash
# A real Alertmanager for the incident assistant's intake test (tests/incident/test_alertmanager.py):
# Debian's prometheus-alertmanager, run by the test on loopback with clustering off. Root
# installs it; without root the test skips (under CI it fails). Quick when already there.
set -euo pipefail
if command -v prometheus-alertmanager >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "incident.sh: skipping prometheus-alertmanager (not root); its test will skip" >&2
  exit 0
fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus-alertmanager >/dev/null
echo "incident.sh: installed $(prometheus-alertmanager --version 2>&1 | head -1)"
