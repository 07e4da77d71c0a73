"""The one exception tree plangate raises. No dependency's exception leaks out.

    PlangateError
    ├── UserError                 input a person or agent wrote is wrong; nothing ran
    │   ├── TriggerError          a trigger or deployment file
    │   ├── CatalogError          a tool catalog
    │   ├── PlanError             a plan (names the step and field)
    │   └── PolicyError           a policy (names file, line and rule)
    ├── GrantError                execution asked for a plan that is not the approved one
    ├── ExecutionHalted           a run stopped: a runtime check denied, a tool failed, a budget ran out
    └── AuditError                the audit log could not be written or does not verify

Every error carries a message that names what is wrong; `where` says where when known.
"""

from __future__ import annotations


class PlangateError(Exception):
    """Base of every error plangate raises on purpose."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class UserError(PlangateError):
    """A document (trigger, catalog, plan, policy) is malformed; nothing was executed."""


class TriggerError(UserError):
    """A trigger or deployment file is malformed."""


class CatalogError(UserError):
    """A tool catalog is malformed."""


class PlanError(UserError):
    """A plan is malformed: cycles, dangling references, type errors, size limits."""


class PolicyError(UserError):
    """A policy is malformed or does not validate against the catalog's schema."""


class GrantError(PlangateError):
    """Execution was asked to run something other than the exact approved plan."""


class ExecutionHalted(PlangateError):
    """A run stopped before finishing; `step` names the step that was blocked or failed."""

    def __init__(self, message: str, *, step: str | None = None, rules: tuple[str, ...] = ()):
        self.step = step
        self.rules = rules
        super().__init__(message, where=f"step {step!r}" if step else None)


class AuditError(PlangateError):
    """The audit log failed to record an event, or its hash chain does not verify."""
