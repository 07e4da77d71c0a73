"""Audit: the append-only, hash-chained record of everything, and the approvals queue."""

from plangate.audit.approvals import Approval, ApprovalQueue, OwnerConsole
from plangate.audit.log import AuditLog, Event, Verification
from plangate.audit.resource_labels import SqliteResourceLabels

__all__ = ["Approval", "ApprovalQueue", "AuditLog", "Event", "OwnerConsole",
           "SqliteResourceLabels", "Verification"]
