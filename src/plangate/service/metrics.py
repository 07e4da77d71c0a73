"""Prometheus metrics of one worker (each worker serves its own `/metrics`; scrape each, or
sum them in Prometheus)."""

from __future__ import annotations

import collections
from typing import Any


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        self.registry = CollectorRegistry()
        self.content_type = CONTENT_TYPE_LATEST
        self._requests = Counter("plangate_http_requests", "HTTP requests", ["route", "status"],
                                 registry=self.registry)
        self._latency = Histogram("plangate_http_request_seconds", "HTTP request latency", ["route"],
                                  registry=self.registry,
                                  buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0))
        self._verdicts = Counter("plangate_reviews", "Plans reviewed, by verdict", ["verdict"],
                                 registry=self.registry)
        self._checks = Counter("plangate_call_checks", "Per-call checks, by outcome", ["outcome"],
                               registry=self.registry)
        self._decisions = Counter("plangate_approval_decisions", "Owner decisions", ["decision"],
                                  registry=self.registry)
        self._local: collections.Counter[str] = collections.Counter()

    def request(self, route: str, status: int, seconds: float) -> None:
        self._requests.labels(route, str(status)).inc()
        self._latency.labels(route).observe(seconds)

    def verdict(self, verdict: str) -> None:
        self._verdicts.labels(verdict).inc()
        self._local[f"verdict_{verdict}"] += 1

    def check(self, outcome: str) -> None:
        self._checks.labels(outcome).inc()
        self._local[f"check_{outcome}"] += 1

    def decision(self, decision: str) -> None:
        self._decisions.labels(decision).inc()

    def summary(self) -> dict[str, Any]:
        return dict(self._local)

    def exposition(self) -> bytes:
        from prometheus_client import generate_latest

        return bytes(generate_latest(self.registry))


__all__ = ["Metrics"]
