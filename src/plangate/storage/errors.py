"""The storage layer's one error: a backend that cannot be reached or answer."""

from __future__ import annotations

from plangate.errors import AuditError


class StorageUnavailable(AuditError):
    """PostgreSQL, Redis or the witness did not answer: nothing may be approved or run
    (the service answers 503)."""


__all__ = ["StorageUnavailable"]
