"""OpenClaw behind plangate: the catalog of OpenClaw's tools, a starting policy, and the
signed mail envelope a mail relay puts in front of an email it hands to OpenClaw's webhook.

The plugin itself is TypeScript (`integrations/openclaw/`, loaded into the OpenClaw
gateway); it talks to `plangate serve`. This package holds the parts that are plangate
documents or that a relay written in Python needs:

* `CATALOG`, `POLICY`: `catalog.yaml` and `policy.yaml` beside this file;
* `relay_email(raw, ...)`: the `message` of a `POST /hooks/agent` request for one delivered
  email, with the envelope the plugin verifies (who sent it, what the receiving servers
  verified, who wrote which part; HMAC-signed with a key the relay and the plugin share;
  docs/openclaw.md); `hook_message(...)` builds one from parts.
"""

from __future__ import annotations

from pathlib import Path

from plangate.fronts.openclaw.envelope import ENVELOPE_TAG, Envelope, hook_message, parse_hook_message
from plangate.fronts.openclaw.relay import relay_email

HERE = Path(__file__).resolve().parent
CATALOG = HERE / "catalog.yaml"
POLICY = HERE / "policy.yaml"

__all__ = ["CATALOG", "ENVELOPE_TAG", "POLICY", "Envelope", "hook_message", "parse_hook_message", "relay_email"]
