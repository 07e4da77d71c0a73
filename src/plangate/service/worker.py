"""One worker process of `plangate serve`: builds the app from the settings in the
environment (uvicorn starts each worker through `app()`; `plangate serve` resolved the
settings first and put them there, so every worker reads the same)."""

from __future__ import annotations

import os
from typing import Any

from plangate.config import load_settings

ENV_MAX_BODY = "PLANGATE_SERVE_MAX_BODY"
ENV_CALL_TIMEOUT = "PLANGATE_SERVE_CALL_TIMEOUT"


def app() -> Any:
    from plangate.catalog import load_catalog
    from plangate.policy import load_policy
    from plangate.service.app import create_app
    from plangate.service.auth import Credentials
    from plangate.storage import open_storage

    settings = load_settings({})
    catalog = load_catalog(settings.catalog) if settings.catalog else None
    policy = load_policy(settings.require("policy"), catalog)
    storage = open_storage(settings.db, redis=settings.redis, witness=settings.witness)
    return create_app(policy=policy, storage=storage,
                      credentials=Credentials.load(settings.require("credentials")),
                      max_body=int(os.environ.get(ENV_MAX_BODY, "1000000")),
                      call_timeout=float(os.environ.get(ENV_CALL_TIMEOUT, "300")))


__all__ = ["app"]
