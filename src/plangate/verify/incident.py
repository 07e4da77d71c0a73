"""Scratch environments for the incident assistant's tools (`plangate.deployments.incident`).

Each scratch is a fresh `IncidentRuntime` on its own SQLite cluster (in memory where the
OS offers it), seeded with canaries in every kind of stored item the tools can read: a
deployment (replicas, release history), a secret, a silence, a runbook that parses (its
description, alert name and step names), a verified alert pointing at it, log lines and
metrics. Resource names follow the catalog: `cluster:<ns>/<deployment>`,
`secrets:<ns>/<name>`, `silences:<id>`, `runbooks:<name>`, `alerts:<id>`,
`logs:<ns>/<service>`, `metrics:<ns>/<service>`. Outbound: every message posted (the
incident channel, the pager, other chat channels, the status page). Nothing leaves the
machine: the channels are rows in the scratch database.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plangate.catalog import Catalog, ToolSpec
from plangate.deployments.incident.runtime import IncidentRuntime, incident_catalog
from plangate.verify.canary import Canaries, Origin, as_text
from plangate.verify.engine import Case, CaseBuilder, Observation, Sent, resource

NS = "seedns"
_SCRATCH_ROOT = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None


class IncidentScratch:
    def __init__(self, canaries: Canaries) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="plangate-verify-incident-", dir=_SCRATCH_ROOT))
        self.rt = IncidentRuntime(self.dir)
        self.c = canaries
        self.seed_deployment(NS, self.c.text(Origin("resource", "cluster:seed", "name")))

    # ---- seeding: every stored item's content is a canary of that item ------------------
    def seed_deployment(self, ns: str, name: str, extra_release: str | None = None, *,
                        replicas: int | None = None) -> str:
        """`replicas`: a plain count instead of a canary (a scale step only adds replicas,
        so it needs a deployment running fewer than it asks for)."""
        key = f"{ns}/{name}"
        res = resource("cluster", key)
        history = [self.c.text(Origin("resource", res, "release")) for _ in range(2)]
        if extra_release:
            history.insert(0, extra_release)
        count = replicas if replicas is not None else self.c.integer(Origin("resource", res, "replicas"))
        self.rt.seed({"deployments": {key: {"replicas": count,
                                            "history": history}},
                      "logs": {key: [f"ERROR {self.c.text(Origin('resource', resource('logs', key), 'line'))}"]},
                      "metrics": {key: {"note": self.c.text(Origin("resource", resource("metrics", key), "v"))}}})
        return key

    def seed_secret(self, ns: str, name: str) -> None:
        key = f"{ns}/{name}"
        self.rt.seed({"secrets": {key: self.c.text(Origin("resource", resource("secrets", key), "value"))}})

    def seed_runbook(self, name: str, deployment: str, *, step: str = "restart", action: str = "restart",
                     ns: str = NS) -> str:
        res = resource("runbooks", name)
        alertname = self.c.text(Origin("resource", res, "alert"))
        bounds = ", min: 1, max: 5" if action == "scale" else ""
        text = (f"name: {name}\nalert: {alertname}\ndescription: {self.c.text(Origin('resource', res, 'text'))}\n"
                f"services: [{deployment}]\nnamespaces: [{ns}]\nsteps:\n  {step}: {{action: {action}{bounds}}}\n")
        self.rt.seed({"runbooks": {name: text}})
        return alertname

    def seed_alert(self, alert_id: str, alertname: str, service: str, ns: str = NS) -> None:
        self.rt.record_alert(alert_id, {"alertname": alertname, "service": service, "namespace": ns,
                                        "severity": "critical", "status": "firing"})

    # ---- the Scratch protocol -------------------------------------------------------------
    def call(self, tool: str, args: Mapping[str, Any]) -> Any:
        return self.rt.call(tool, args).value

    def observe(self) -> Observation:
        cl = self.rt.cluster
        stored: dict[str, Any] = {}
        stored.update({resource("cluster", k): v for k, v in cl.deployments().items()})
        stored.update({resource("secrets", k): v for k, v in cl.secrets().items()})
        stored.update({resource("silences", str(s["id"])): s for s in cl.silences()})
        stored.update({resource("runbooks", k): v for k, v in cl.runbooks().items()})
        stored.update({resource("alerts", k): v for k, v in cl.alerts().items()})
        stored.update({resource("logs", k): v for k, v in cl.all_logs().items()})
        stored.update({resource("metrics", k): v for k, v in cl.all_metrics().items()})
        outbound = [Sent("chat message", (m["channel"],), m["text"]) for m in cl.messages()]
        return Observation({k: as_text(v) for k, v in stored.items()}, outbound)

    def close(self) -> None:
        self.rt.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---- cases ------------------------------------------------------------------------------
def _arg(c: Canaries, name: str) -> str:
    return c.text(Origin("arg", name))


def _target(s: IncidentScratch, c: Canaries, name_arg: str = "deployment") -> dict[str, Any]:
    """A namespace and a deployment named by the arguments' canaries, seeded."""
    ns, name = _arg(c, "namespace"), _arg(c, name_arg)
    s.seed_deployment(ns, name)
    return {"namespace": ns, name_arg: name}


def _logs_query(s: IncidentScratch, c: Canaries) -> Case:
    args = _target(s, c, "service")
    query = _arg(c, "query")
    key = f"{args['namespace']}/{args['service']}"
    line = c.text(Origin("resource", resource("logs", key), "line"))
    s.rt.cluster.add_log(key, f"WARN {line} matched {query}")   # a stored line the query selects
    return Case({**args, "query": query, "limit": 50}, {"limit": "a count from 1 to 200"})


def _metrics_query(s: IncidentScratch, c: Canaries) -> Case:
    return Case(_target(s, c, "service"))


def _deploy_status(s: IncidentScratch, c: Canaries) -> Case:
    return Case(_target(s, c))


def _runbook_read(s: IncidentScratch, c: Canaries) -> Case:
    name = _arg(c, "name")
    s.seed_runbook(name, "x")
    return Case({"name": name})


def _runbook_step(action: str, s: IncidentScratch, c: Canaries) -> Case:
    alert, step = _arg(c, "alert"), _arg(c, "step")
    dep = c.text(Origin("resource", resource("alerts", alert), "service"))   # the alert's trusted service
    s.seed_deployment(NS, dep, replicas=1 if action == "scale" else None)
    alertname = s.seed_runbook(c.text(Origin("resource", "runbooks:seed", "name")), dep, step=step, action=action)
    s.seed_alert(alert, alertname, dep)
    args: dict[str, Any] = {"alert": alert, "step": step}
    if action == "scale":
        args["replicas"] = 3
    return Case(args, {"replicas": "a count within the runbook's bounds (at most 50)"}, name=action)


def _deploy_restart(s: IncidentScratch, c: Canaries) -> Case:
    return Case(_target(s, c))


def _deploy_scale(s: IncidentScratch, c: Canaries) -> Case:
    return Case({**_target(s, c), "replicas": 2}, {"replicas": "a count from 0 to 50"})


def _deploy_rollback(s: IncidentScratch, c: Canaries) -> Case:
    ns, name, release = _arg(c, "namespace"), _arg(c, "deployment"), _arg(c, "release")
    s.seed_deployment(ns, name, extra_release=release)
    return Case({"namespace": ns, "deployment": name, "release": release})


def _secret(s: IncidentScratch, c: Canaries) -> Case:
    ns, name = _arg(c, "namespace"), _arg(c, "name")
    s.seed_secret(ns, name)
    return Case({"namespace": ns, "name": name})


def _alert_silence(s: IncidentScratch, c: Canaries) -> Case:
    return Case({"matcher": f"alertname={_arg(c, 'matcher')}", "minutes": 60, "comment": _arg(c, "comment")},
                {"minutes": "a duration from 1 to 10080 minutes"})


def _runbook_edit(s: IncidentScratch, c: Canaries) -> Case:
    name = _arg(c, "name")
    s.seed_runbook(name, "x")
    return Case({"name": name, "text": _arg(c, "text")})


def _text_case(arg: str, s: IncidentScratch, c: Canaries) -> Case:
    return Case({arg: _arg(c, arg)})


def _chat_post(s: IncidentScratch, c: Canaries) -> Case:
    return Case({"channel": _arg(c, "channel"), "text": _arg(c, "text")})


def _partial(fn: Any, *first: Any) -> CaseBuilder:
    from functools import partial

    built: CaseBuilder = partial(fn, *first)
    return built


CASES: dict[str, list[CaseBuilder]] = {
    "logs_query": [_logs_query], "metrics_query": [_metrics_query], "deploy_status": [_deploy_status],
    "runbook_read": [_runbook_read],
    "runbook_step": [_partial(_runbook_step, "restart"), _partial(_runbook_step, "scale"),
                     _partial(_runbook_step, "rollback")],
    "deploy_restart": [_deploy_restart], "deploy_scale": [_deploy_scale], "deploy_rollback": [_deploy_rollback],
    "secret_read": [_secret], "secret_rotate": [_secret], "alert_silence": [_alert_silence],
    "runbook_edit": [_runbook_edit], "incident_post": [_partial(_text_case, "text")],
    "page_oncall": [_partial(_text_case, "summary")], "status_post": [_partial(_text_case, "text")],
    "chat_post": [_chat_post],
}


class IncidentAdapter:
    """Scratch environments for `plangate/deployments/incident/catalog.yaml` (or a variant
    of it with other annotations, as the tests use)."""

    name = "incident"

    def __init__(self, catalog: Catalog | None = None) -> None:
        self.catalog = catalog or incident_catalog()

    def scratch(self, canaries: Canaries) -> IncidentScratch:
        return IncidentScratch(canaries)

    def cases(self, tool: str, spec: ToolSpec) -> list[CaseBuilder] | str:
        return CASES.get(tool) or f"the incident runtime has no scratch case for {tool!r}"

    def probes(self, scratch: IncidentScratch) -> list[tuple[str, dict[str, Any]]]:
        cl = scratch.rt.cluster
        out: list[tuple[str, dict[str, Any]]] = []
        for key in cl.deployments():
            ns, name = key.split("/", 1)
            out += [("deploy_status", {"namespace": ns, "deployment": name}),
                    ("logs_query", {"namespace": ns, "service": name, "limit": 200}),
                    ("metrics_query", {"namespace": ns, "service": name})]
        for key in cl.secrets():
            ns, name = key.split("/", 1)
            out.append(("secret_read", {"namespace": ns, "name": name}))
        out += [("runbook_read", {"name": n}) for n in cl.runbooks()]
        return [(tool, args) for tool, args in out if tool in self.catalog.tools]
