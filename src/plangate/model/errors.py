"""Errors of the model layer, inside plangate's one exception tree (`plangate.errors`).

    PlangateError
    ├── UserError
    │   └── ModelConfigError      a models file, a --model spec, a missing API key
    └── ModelError                a model call did not give a usable answer; nothing ran
        ├── ModelUnavailable      timeouts, refused connections, 429s and 5xx after the retries
        ├── ModelOutputError      an answer that is not what was asked: not JSON, off-schema,
        │                         too large, cut off, the wrong kind of answer
        ├── PlanningFailed        the planner gave no valid plan within its repair tries
        └── BudgetExceeded        the call was not made: it would break a budget or rate limit

No SDK exception (openai, anthropic, httpx) leaks out of a client: each is turned into one
of these with a message that names the model, the endpoint and what went wrong.
"""

from __future__ import annotations

from plangate.errors import PlangateError, UserError


class ModelConfigError(UserError):
    """A model configuration is wrong: unknown provider, bad field, API key not set."""


class ModelError(PlangateError):
    """A model call failed; whatever depended on it did not happen."""


class ModelUnavailable(ModelError):
    """The endpoint did not answer usefully within the configured timeout and retries."""

    def __init__(self, message: str, *, status: int | None = None, attempts: int = 1) -> None:
        self.status = status
        self.attempts = attempts
        super().__init__(message)


class ModelOutputError(ModelError):
    """The model answered, but not with what was asked for."""


class PlanningFailed(ModelError):
    """No valid plan after the planner's bounded repair loop; `errors` holds each try's."""

    def __init__(self, message: str, *, errors: tuple[str, ...] = ()) -> None:
        self.errors = errors
        super().__init__(message)


class BudgetExceeded(ModelError):
    """A model call was refused before it was made. `limit` names the limit, e.g.
    `class:unknown:tokens_per_day` or `principal:unknown:calls_per_hour`."""

    def __init__(self, message: str, *, limit: str) -> None:
        self.limit = limit
        super().__init__(message)


__all__ = ["BudgetExceeded", "ModelConfigError", "ModelError", "ModelOutputError",
           "ModelUnavailable", "PlanningFailed"]
