"""The inbox assistant: an OpenClaw-style tool set on real protocols, behind plangate.

    from plangate.deployments.inbox import AssistantRuntime, trigger_from_email
    runtime = AssistantRuntime(Path("state"))            # Maildir, SQLite, outbox
    gate = Gate(policy, runtime)                         # a plangate ToolRuntime
    gate.submit(trigger_from_email(raw, trusted_authserv_ids=["mx.home.example"]), plan)

Error tree: every refusal or backend failure of a tool is a `ToolCallError`
(a `plangate.errors.PlangateError`) naming the tool and the argument.
"""

from plangate.deployments.inbox.errors import ToolCallError
from plangate.deployments.inbox.imapstore import ImapBackend
from plangate.deployments.inbox.intake import (
    trigger_from_chat,
    trigger_from_email,
    trigger_from_schedule,
    trigger_from_webhook,
    webhook_signature,
)
from plangate.deployments.inbox.mailstore import MailBackend, MaildirBackend
from plangate.deployments.inbox.outbox import SmtpRelay
from plangate.deployments.inbox.runtime import AssistantRuntime, assistant_catalog

__all__ = [
    "AssistantRuntime",
    "ImapBackend",
    "MailBackend",
    "MaildirBackend",
    "SmtpRelay",
    "ToolCallError",
    "assistant_catalog",
    "trigger_from_chat",
    "trigger_from_email",
    "trigger_from_schedule",
    "trigger_from_webhook",
    "webhook_signature",
]
