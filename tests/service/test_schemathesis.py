"""Schemathesis against the service's own OpenAPI: cases generated from every operation's
schema (valid and invalid), sent with each role's credential and with none; no answer may
be a 5xx (a crash or an unhandled input), whatever the body, path or query."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="the dev extra is not installed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from plangate.service import create_app  # noqa: E402
from plangate.storage import open_storage  # noqa: E402

from .conftest import auth, credentials, example, policy  # noqa: E402

EXAMPLES_PER_OPERATION = 25


@pytest.mark.parametrize("who", ["agent", "approver", "admin", None])
def test_no_generated_request_gets_a_server_error(tmp_path: Path, who: str | None) -> None:
    """Every operation, `EXAMPLES_PER_OPERATION` generated cases each, against a store that
    holds a grant and a pending approval (so ids can exist): every answer is below 500."""
    store = open_storage(str(tmp_path / "plangate.db"), witness=str(tmp_path / "witness.db"))
    app = create_app(policy=policy(), storage=store, credentials=credentials())
    from fastapi.testclient import TestClient

    with TestClient(app) as client:  # something to find: a grant and an approval
        for name in ("meeting-reply", "payment-escalates"):
            assert client.post("/v1/plans", json=example(name), headers=auth("agent")).status_code == 200
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = auth(who) if who else {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
    store.close()
