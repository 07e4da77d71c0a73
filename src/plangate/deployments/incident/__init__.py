"""The incident assistant: Alertmanager alerts and on-call chat, runbooks, a cluster, behind plangate.

    from plangate.deployments.incident import IncidentRuntime, AlertReceiver, SigningRelay
    runtime = IncidentRuntime(Path("cluster"))                  # SQLite: the simulated cluster
    gate = Gate(load_policy(POLICY_PATH), runtime)
    receiver = AlertReceiver(secret, runtime, on_trigger=lambda t: agent.handle(t))
    relay = SigningRelay(receiver.url, secret, token)           # Alertmanager's webhook target

Error tree: a tool's refusal is a `ToolCallError`, a webhook body that is not an
Alertmanager notification an `IntakeError`; both are `plangate.errors.PlangateError`s.
See docs/incident.md.
"""

from pathlib import Path

from plangate.deployments.incident.errors import IntakeError, ToolCallError
from plangate.deployments.incident.intake import (
    IncomingAlert,
    alert_signature,
    alerts_from_webhook,
    trigger_from_chat,
)
from plangate.deployments.incident.receiver import AlertReceiver, SigningRelay
from plangate.deployments.incident.runtime import CATALOG_PATH, IncidentRuntime, incident_catalog

POLICY_PATH = Path(__file__).with_name("policy.yaml")

__all__ = [
    "CATALOG_PATH",
    "POLICY_PATH",
    "AlertReceiver",
    "IncidentRuntime",
    "IncomingAlert",
    "IntakeError",
    "SigningRelay",
    "ToolCallError",
    "alert_signature",
    "alerts_from_webhook",
    "incident_catalog",
    "trigger_from_chat",
]
