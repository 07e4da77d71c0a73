"""Turning an Alertmanager webhook, or an engineer's chat message, into triggers.

An Alertmanager notification (webhook format version 4: `receiver`, `status`, `alerts`
[{`status`, `labels`, `annotations`, `startsAt`, `endsAt`, `generatorURL`,
`fingerprint`}], `groupLabels`, `commonLabels`, `commonAnnotations`, `externalURL`,
`groupKey`, `truncatedAlerts`) is parsed here, once. Alertmanager itself does not sign
its webhooks; the deployment puts a signing relay (or Alertmanager's `http_config`
towards a receiver that signs) in front, which sends `X-Plangate-Signature:
sha256=<hex HMAC-SHA256 of the body>` with the shared secret. A missing or wrong
signature leaves the trigger unauthenticated: it falls to the lowest class, never
`monitoring`, and its alerts are not recorded.

Which fields are trusted, and why:

| field | trusted | why |
|---|---|---|
| `labels.alertname` | yes | the name of the team's alert rule |
| `labels.severity` | yes | set by the rule's `labels:` block |
| `labels.service`, `labels.namespace` | yes | set by relabelling from the deployment's metadata |
| other labels (`path`, `user_agent`, `instance`, `exported_*`) | no | copied from traffic |
| `annotations` (summary, description, ...) | no | templated from labels and log lines |
| `generatorURL`, `externalURL`, `fingerprint`, group fields | no | derived from the above |

A client cannot set `service` or `namespace`: Prometheus renames a scraped label that
collides with a target label to `exported_<name>` (`honor_labels: false`, the default).

A trusted field whose value does not have its expected shape (an alertname that is not
an identifier, a service that is not a DNS label, an unknown severity) is not trusted:
it is moved to the untrusted part, and the alert has no such field.

Each firing alert becomes one trigger. Its id is assigned here
(`alert-<alertname>-<namespace>.<service>-<hash>`, 96 bits of a hash of the whole alert;
the names only when all three are trusted fields, so an engineer asked about a step sees
which deployment it is), and the alert's trusted fields are what the deployment records under
that id (`IncomingAlert.fields`): `runbook_step` acts on them and nothing else. The
payload is the alert rendered as text: first the trusted fields (the service's own
words), then every other label and annotation as an `embedded` segment (someone else's
words: tainted whoever signed the body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plangate.deployments.incident.errors import IntakeError
from plangate.deployments.incident.runbooks import ALERTNAME, NAME
from plangate.trigger import Evidence, Segment, Trigger

SIGNATURE_HEADER = "X-Plangate-Signature"
#: The principal alerts arrive as: the policy's `monitoring` class names it.
ALERTMANAGER = "alertmanager@monitoring.acme.example"
MAX_BODY = 1_000_000
MAX_ALERTS = 100
MAX_FIELD = 4000
#: The labels the team's alert rules and relabelling set, with the shape each must have.
TRUSTED_LABELS: dict[str, re.Pattern[str]] = {
    "alertname": re.compile(ALERTNAME),
    "service": re.compile(NAME),
    "namespace": re.compile(NAME),
    "severity": re.compile(r"^(critical|warning|info|page)$"),
}
STANDING_INSTRUCTION = ("Triage the firing alert: look at its logs and metrics, run the steps of "
                        "its runbook that fit, tell the incident channel, page on-call if it is critical.")


class _Alert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: str = Field(max_length=20)
    labels: dict[str, str] = Field(max_length=200)
    annotations: dict[str, str] = Field(default_factory=dict, max_length=200)
    startsAt: str = Field(default="", max_length=100)
    endsAt: str = Field(default="", max_length=100)
    generatorURL: str = Field(default="", max_length=MAX_FIELD)
    fingerprint: str = Field(default="", max_length=100)


class _Notification(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str = Field(max_length=10)
    status: str = Field(max_length=20)
    receiver: str = Field(default="", max_length=500)
    alerts: list[_Alert] = Field(max_length=MAX_ALERTS)
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = Field(default="", max_length=MAX_FIELD)
    groupKey: str = Field(default="", max_length=MAX_FIELD)
    truncatedAlerts: int = 0


@dataclass(frozen=True, slots=True)
class IncomingAlert:
    """One firing alert: its trigger, and the trusted fields to record under the trigger's
    id (empty when the body's signature did not verify: nothing of it is recorded)."""

    trigger: Trigger
    fields: Mapping[str, str]


def alert_signature(body: bytes, secret: bytes) -> str:
    """What the signing relay sends: `sha256=<hex HMAC-SHA256 of the body>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, signature: str | None, secret: bytes) -> bool:
    """Constant-time check of `sha256=<hex>` (or bare hex) against the body; no secret,
    no signature or a wrong one is False."""
    if not secret or not signature:
        return False
    given = signature.strip()
    given = given[7:] if given.lower().startswith("sha256=") else given
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), expected.encode())


def alerts_from_webhook(body: bytes, signature: str | None, secret: bytes, *,
                        source: str = ALERTMANAGER,
                        instruction: str = STANDING_INSTRUCTION) -> list[IncomingAlert]:
    """One `IncomingAlert` per firing alert of an Alertmanager notification. Raises
    `IntakeError` (one line, naming the field) when the body is not one."""
    if len(body) > MAX_BODY:
        raise IntakeError(f"webhook body is larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body.decode("utf-8"))
        note = _Notification.model_validate(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntakeError(f"webhook body is not JSON: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise IntakeError(f"not an Alertmanager notification: {where}: {err['msg']}") from None
    if note.version != "4":
        raise IntakeError(f"Alertmanager webhook version {note.version!r} is not supported (4 is)")
    signed = verify_signature(body, signature, secret)
    out = []
    for alert in note.alerts:
        if alert.status != "firing":
            continue  # a resolved alert starts no run
        trigger, fields = _alert_trigger(alert, signed=signed, source=source, instruction=instruction)
        out.append(IncomingAlert(trigger, fields if signed else {}))
    return out


def trusted_fields(labels: Mapping[str, str]) -> dict[str, str]:
    """The trusted labels that have their expected shape."""
    # fullmatch: `$` alone also matches before a final newline ("checkout\n").
    return {k: v for k, pattern in TRUSTED_LABELS.items()
            if isinstance(v := labels.get(k), str) and pattern.fullmatch(v)}


def _alert_trigger(alert: _Alert, *, signed: bool, source: str,
                   instruction: str) -> tuple[Trigger, dict[str, str]]:
    fields = trusted_fields(alert.labels)
    digest = hashlib.sha256(json.dumps(alert.model_dump(), sort_keys=True).encode()).hexdigest()
    # Readable in a question to on-call (which alert, which deployment), unique by the hash.
    named = (f"{fields['alertname'][:32]}-{fields['namespace'][:24]}.{fields['service'][:24]}-"
             if {"alertname", "namespace", "service"} <= fields.keys() else "")
    alert_id = f"alert-{named}{digest[:24]}"
    own = (f"Alert {fields.get('alertname', '(no valid alertname)')} is firing"
           f" for service {fields.get('service', '(none)')}"
           f" in namespace {fields.get('namespace', '(none)')}"
           f", severity {fields.get('severity', '(none)')}.\n")
    pieces = [Segment(kind="own", text=own)]
    others = {k: v for k, v in sorted(alert.labels.items()) if fields.get(k) != v}
    for key, value in others.items():
        pieces.append(Segment(kind="embedded", text=f"label {key}: {value[:MAX_FIELD]}\n"))
    for key, value in sorted(alert.annotations.items()):
        pieces.append(Segment(kind="embedded", text=f"annotation {key}: {value[:MAX_FIELD]}\n"))
    if alert.generatorURL:
        pieces.append(Segment(kind="embedded", text=f"source: {alert.generatorURL[:MAX_FIELD]}\n"))
    payload = "".join(p.text for p in pieces)
    meta = {k: v for k, v in fields.items()}
    meta["alert_id"] = alert_id
    trigger = Trigger(id=alert_id, channel="webhook", principal=source,
                      evidence=Evidence(signed=signed, id_assigned=True), instruction=instruction,
                      payload=payload, segments=tuple(pieces), meta=meta)
    return trigger, {**fields, "status": "firing"}


def trigger_from_chat(user: str, text: str, paired_ids: frozenset[str] | list[str], *,
                      trigger_id: str = "chat") -> Trigger:
    """An engineer's message in the team chat; `paired` only when the chat id is one the
    team paired with the assistant (constant-time comparison). From the first quote or code
    block on (`chat_segments`), the text is someone else's words the engineer passed on (a
    customer's message, pasted log lines): a `quoted` segment, never the engineer's request."""
    paired = any(hmac.compare_digest(user.encode(), p.encode()) for p in paired_ids)
    payload = text[:MAX_BODY]
    return Trigger(id=trigger_id, channel="chat", principal=user[:320],
                   evidence=Evidence(paired=paired), payload=payload, segments=chat_segments(payload))


#: Where someone else's words start in a chat message: a quote (`>`, or `&gt;` as Slack's API
#: sends it, `>>>` included), a code block (three backticks anywhere in a line, as Slack and
#: Discord open one; `~~~`; a line indented four spaces or a tab, as Markdown chats show
#: code). Lines are lines at "\n" only, as chat clients break them (a NEL or U+2028 inside a
#: customer's text must not end its quote). Every trigger is cut again by the core's marks
#: (`plangate.quoting`: quote marks after any space, the fullwidth one, a chat app's copy
#: header), whatever this finds.
_CHAT_QUOTE = re.compile(r"^[ \t]*(?:>|&gt;|~~~)|```|^(?: {4}|\t)[ \t]*\S", re.M)


def chat_segments(text: str) -> tuple[Segment, ...]:
    """The engineer's own words, then, from the first quote or code marker on, the rest:
    someone else's words the engineer passed on (a customer's message, pasted log lines).
    To the end, whatever follows: a fence the pasted text closes, or a line it breaks with
    a character other than a newline, cannot hand anything back to the engineer; a misread
    own line costs a question, never the reverse. Empty when all of it is their own."""
    found = _CHAT_QUOTE.search(text)
    if found is None:
        return ()
    cut = text.rfind("\n", 0, found.start()) + 1  # the whole line the marker is on
    own, rest = text[:cut], text[cut:]
    return ((Segment(kind="own", text=own),) if own else ()) + (Segment(kind="quoted", text=rest),)


def render_body(notification: Mapping[str, Any]) -> bytes:
    """A notification as Alertmanager sends it (compact JSON, UTF-8)."""
    return json.dumps(notification, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
