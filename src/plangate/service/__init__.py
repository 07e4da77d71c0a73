"""plangate as a service: the HTTP API, the approvals page, credentials (`plangate serve`).

An edge above the core (import-linter holds it): the core never imports the service.
Needs the `service` extra (FastAPI, uvicorn; psycopg and redis for shared storage).
"""

from plangate.service.app import create_app

__all__ = ["create_app"]
