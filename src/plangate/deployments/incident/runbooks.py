"""Runbooks: the team's YAML, naming the alert they answer and their pre-approved steps.

    name: high-error-rate
    alert: HighErrorRate            # the alertname this runbook answers
    services: [checkout, search]    # the only services its steps may act on
    namespaces: [prod]              # ... in these namespaces
    steps:
      restart: {action: restart}
      scale-up: {action: scale, min: 3, max: 8}
      rollback: {action: rollback}  # to the release before the current one
    max_per_hour: 2                 # restarts (scales, rollbacks) of one deployment an hour (default 2)

A step acts on the alert's trusted `service` in its trusted `namespace`, and only when
both are listed here; `scale` needs a replica count within `min`..`max` (never below 1)
and never below the count the deployment runs (a step answers an alert, which traffic can
raise: it adds capacity, never removes it); `rollback` goes to the release before the
current one, never to a named release. A deployment gets at most `max_per_hour` of one
action (restart, scale, rollback) an hour, counted over every step name, every runbook and
the engineers' own restarts, however many alerts fire: traffic an attacker sends can make
alerts flap, not restart a service all day. The
runbook is parsed here, once, when a step runs: a runbook that does not parse runs nothing.
"""

from __future__ import annotations

from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plangate.documents import validation_message

NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
ALERTNAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
#: No runbook may let an alert scale a service past this many replicas.
MAX_REPLICAS = 50
#: No runbook may let one step run more often than this an hour on one deployment.
MAX_PER_HOUR = 12


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["restart", "scale", "rollback"]
    min: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    max: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)

    @model_validator(mode="after")
    def _bounds(self) -> Step:
        if self.action == "scale":
            if self.min is None or self.max is None or self.min > self.max:
                raise ValueError("a scale step needs min <= max (both at least 1)")
        elif self.min is not None or self.max is not None:
            raise ValueError(f"a {self.action} step takes no bounds")
        return self


class Runbook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME)
    alert: str = Field(pattern=ALERTNAME)
    description: str = Field(default="", max_length=4000)
    services: list[str] = Field(min_length=1, max_length=100)
    namespaces: list[str] = Field(min_length=1, max_length=100)
    steps: dict[str, Step] = Field(min_length=1, max_length=20)
    max_per_hour: int = Field(default=2, ge=1, le=MAX_PER_HOUR)

    @model_validator(mode="after")
    def _names(self) -> Runbook:
        import re

        for value in [*self.services, *self.namespaces, *self.steps]:
            if not re.fullmatch(NAME, value):
                raise ValueError(f"{value!r} is not a lower-case DNS label")
        return self


class RunbookError(ValueError):
    """A runbook's text is not a valid runbook (names the runbook and the field)."""


def parse_runbook(text: str, source: str = "runbook") -> Runbook:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RunbookError(f"{source}: not YAML ({str(exc).splitlines()[0]})") from None
    try:
        return Runbook.model_validate(data)
    except ValidationError as exc:
        raise RunbookError(validation_message(exc, source=source, data=data)) from None
