"""`plangate serve`: the gate over HTTP (FastAPI; OpenAPI at /openapi.json, docs at /docs).

    POST /v1/plans                     agent     trigger + plan -> verdict, grant or approval
    GET  /v1/grants/{id}               agent     a grant's state
    POST /v1/grants/{id}/check         agent     may this concrete call run now?
    POST /v1/grants/{id}/results       agent     the call's result (its label comes back)
    GET  /v1/approvals/{id}/status     agent     pending / approved / denied / executed
    POST /v1/approvals/{id}/grant      agent     an owner-approved plan -> a grant (once)
    GET  /v1/approvals                 approver  pending approvals with what they would do
    GET  /v1/approvals/{id}            approver  one approval
    POST /v1/approvals/{id}/decision   approver  approve or deny, with a reason
    GET  /v1/audit/tail|head|verify    admin     the hash-chained audit log
    GET  /v1/usage                     admin     runs per class, verdicts, model usage
    GET  /metrics                      admin     Prometheus
    GET  /healthz                      anyone    200 when every backend answers, else 503
    /ui/...                            approver  the approvals page (page.py)

Every failure is a JSON body `{"error": "..."}` naming the problem: 400 malformed JSON,
401 no or unknown credential, 403 a credential of the wrong role or a call the grant does not
allow, 404 unknown grant or approval, 409 out of order / already decided, 410 a grant whose
run is over (replayed grant), 413 body too large, 422 a field that does not validate,
429 over the credential's rate (`Retry-After`), 503 a backend down (nothing was approved or
run). `Idempotency-Key` on a POST makes a retry return the first answer; a retry of a
request that never finished (its worker died) is refused, never run again.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from plangate.errors import AuditError, GrantError, TriggerError, UserError
from plangate.policy import CompiledPolicy
from plangate.service.asgi import PATH as PLANS_PATH
from plangate.service.asgi import BodyLimit, BodyTooLarge, FastPlans, JsonBodyRoute, RequestMetrics
from plangate.service.auth import Credential, Credentials, Role
from plangate.service.gateway import Meter, OverRate, ServiceGate
from plangate.service.metrics import Metrics
from plangate.service.runs import GrantRunner, RunProblem, granted, run_granted
from plangate.service.schemas import (
    CheckRequest,
    CheckResponse,
    Decision,
    ErrorBody,
    PlanRequest,
    PlanResponse,
    ResultRequest,
    ResultResponse,
)
from plangate.storage import Storage, StorageUnavailable
from plangate.storage.postgres import HOLDER_KIND

MAX_BODY = 1_000_000
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": what} for code, what in (
        (400, "malformed JSON or input"), (401, "no or unknown credential"),
        (403, "wrong role, or a call the grant does not allow"), (404, "unknown grant or approval"),
        (409, "out of order, in progress or already decided"), (410, "the grant's run is over"),
        (413, "body too large"), (422, "a field does not validate"),
        (429, "over the credential's rate limit"), (503, "a backend is down; nothing ran"))}


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None,
                 **detail: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.headers, self.detail = status, message, headers, detail


async def _sweep(runner: GrantRunner, storage: Storage, *, every: float) -> None:
    """Each worker, every few seconds: stop runs whose outstanding call is past its deadline
    (a hanging tool, an agent that never reports), so the audit shows them stopped."""
    while True:
        await asyncio.sleep(every)
        try:
            with storage.lock:
                runner.sweep()
        except Exception:  # storage down: the next request answers 503; try again later
            continue


def create_app(*, policy: CompiledPolicy, storage: Storage, credentials: Credentials,
               max_body: int = MAX_BODY, call_timeout: float = 300.0) -> Any:
    gate = ServiceGate(policy, storage)
    runner = GrantRunner(gate, storage, call_timeout=call_timeout)
    metrics = Metrics()
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep(runner, storage, every=min(5.0, max(0.2, call_timeout / 4))))
        # Everything built so far (modules, the policy, the app) lives as long as the worker:
        # out of the collector's sight, a full collection no longer walks it (one took
        # 15-22 ms, stalling every request in flight).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            sweeper.cancel()

    app = FastAPI(lifespan=lifespan, title="plangate", version="1", description=__doc__ or "",
                  openapi_tags=[{"name": t} for t in ("agent", "approver", "admin", "health")])
    # Bodies read as `FastPlans` reads them: one bound on nesting, every refusal malformed JSON.
    app.router.route_class = JsonBodyRoute
    app.state.storage = storage
    app.state.credentials = credentials
    app.state.gate = gate
    app.state.metrics = metrics

    # -- errors ------------------------------------------------------------------------

    def error(status: int, message: str, headers: dict[str, str] | None = None, **detail: Any) -> JSONResponse:
        return JSONResponse({"error": message, **detail}, status_code=status, headers=headers)

    def answered(exc: Exception) -> JSONResponse | None:
        """The answer to an error the app names (FastAPI's handlers below, and `FastPlans`)."""
        if isinstance(exc, ApiError):
            return error(exc.status, exc.message, exc.headers, **exc.detail)
        if isinstance(exc, OverRate):
            return error(429, str(exc), {"Retry-After": str(max(1, math.ceil(exc.wait)))})
        if isinstance(exc, StorageUnavailable):
            return error(503, f"storage unavailable, nothing was approved or run: {exc}"[:500])
        if isinstance(exc, AuditError):
            return error(503, f"the audit log cannot be written or read, nothing was approved or run: {exc}"[:500])
        return None

    @app.exception_handler(ApiError)
    async def _api_error(_r: Request, exc: ApiError) -> JSONResponse:
        return answered(exc)  # type: ignore[return-value]

    @app.exception_handler(OverRate)
    async def _over_rate(_r: Request, exc: OverRate) -> JSONResponse:
        return answered(exc)  # type: ignore[return-value]

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        meter = getattr(request.state, "meter", None)
        if meter is None:
            # A body that is not JSON ends before any dependency ran: counted all the same,
            # against the credential it names (none, or an unknown one: nothing to count).
            try:
                cred = identified(request)
            except ApiError:
                cred = None
            if cred is not None:
                meter = Meter(cred.name, cred.rate)
        if meter is not None:  # a submit's request, counted here as it ends
            try:
                settle(meter)
            except OverRate as over:
                return await _over_rate(request, over)
        problems = []
        for e in exc.errors()[:5]:
            where = ".".join(str(p) for p in e.get("loc", ()))
            if e.get("type") == "json_invalid":
                return error(400, f"malformed JSON: {e.get('msg')}"[:300])
            problems.append(f"{where}: {e.get('msg')}")
        return error(422, "; ".join(problems)[:1000])

    @app.exception_handler(BodyTooLarge)
    async def _too_large(_r: Request, exc: BodyTooLarge) -> JSONResponse:
        return error(413, exc.detail)  # as `BodyLimit` answers it on `POST /v1/plans`

    @app.exception_handler(StorageUnavailable)
    async def _down(_r: Request, exc: StorageUnavailable) -> JSONResponse:
        return answered(exc)  # type: ignore[return-value]

    @app.exception_handler(AuditError)
    async def _audit(_r: Request, exc: AuditError) -> JSONResponse:
        return answered(exc)  # type: ignore[return-value]

    # -- credentials -------------------------------------------------------------------

    def identified(request: Request) -> Credential:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "no credential: send `Authorization: Bearer TOKEN`",
                           headers={"WWW-Authenticate": "Bearer"})
        cred = credentials.find(token.strip())
        if cred is None:
            raise ApiError(401, "unknown credential", headers={"WWW-Authenticate": "Bearer"})
        return cred

    def settle(meter: Meter) -> None:
        """Count a request against its credential's rate, if not counted yet (429 if over)."""
        if not meter.counted:
            with storage.lock:
                gate.settle(meter)

    # Dependencies are coroutines: FastAPI runs a plain function in a thread per request.
    async def authenticated(request: Request) -> Credential:
        cred = identified(request)
        request.state.meter = meter = Meter(cred.name, cred.rate)  # counted: not again on a 422
        settle(meter)
        return cred

    def refuse_role(cred: Credential, allowed: tuple[Role, ...]) -> None:
        if cred.role not in allowed:
            raise ApiError(403, f"a {cred.role} credential cannot do this (needs: {', '.join(allowed)})")

    def role(*allowed: Role) -> Callable[[Credential], Awaitable[Credential]]:
        async def check(cred: Credential = Depends(authenticated)) -> Credential:
            refuse_role(cred, allowed)
            return cred
        return check

    agent, approver, admin = role("agent"), role("approver"), role("admin")

    async def agent_submitting(request: Request) -> Credential:
        """An agent whose request is counted with the run it starts (one round trip on
        Redis: `ServiceGate.submit_for_grant`), or, if it ends before that, as it ends
        (`settle`, in `submit` and in the 422 handler): once either way."""
        cred = identified(request)
        request.state.meter = meter = Meter(cred.name, cred.rate)
        if cred.role != "agent":
            settle(meter)
            refuse_role(cred, ("agent",))
        return cred

    # -- idempotency -------------------------------------------------------------------

    def idempotent(request: Request, cred: Credential, body: Callable[[], Any],
                   work: Callable[[], JSONResponse]) -> JSONResponse:
        """`work()` once per Idempotency-Key; `body()`: what the key must always come with
        (only computed when there is a key)."""
        key = request.headers.get("idempotency-key")
        if key is None:
            return work()
        if not 1 <= len(key) <= 200:
            raise ApiError(400, "Idempotency-Key must be 1 to 200 characters")
        digest = hashlib.sha256(json.dumps([request.url.path, body()], sort_keys=True,
                                           default=str).encode()).hexdigest()
        with storage.lock:
            claim = storage.keys.claim(key, cred.name, digest)
        if claim.state == "done":
            return JSONResponse(claim.response, status_code=claim.status_code or 200,
                                headers={"Idempotent-Replay": "true"})
        if claim.state == "mismatch":
            raise ApiError(422, "Idempotency-Key was used before with a different request")
        if claim.state == "running":
            raise ApiError(409, "a request with this Idempotency-Key is in progress, or its worker "
                                "stopped before answering; it is not run again (see the audit log)")
        try:
            response = work()
        except ApiError as exc:
            response = error(exc.status, exc.message, exc.headers, **exc.detail)
        except Exception:
            with storage.lock:
                storage.keys.forget(key, cred.name)
            raise
        if response.status_code >= 500:
            with storage.lock:
                storage.keys.forget(key, cred.name)
        else:
            with storage.lock:
                storage.keys.finish(key, cred.name, json.loads(bytes(response.body)), response.status_code)
        return response

    def problem(exc: RunProblem) -> ApiError:
        return ApiError(exc.status, exc.message, **exc.detail)

    # -- agent ---------------------------------------------------------------------------

    # The agent's hot paths run on the event loop, not in a thread: every request on this
    # worker's storage takes `storage.lock` anyway (one connection), so a thread hop would
    # add its cost (about a third of a review's) and no parallelism. Workers scale out.
    @app.post("/v1/plans", response_model=PlanResponse, tags=["agent"], responses=ERRORS)
    async def submit(body: PlanRequest, request: Request,
                     cred: Credential = Depends(agent_submitting)) -> JSONResponse:
        """Review a plan for a trigger. Approved: a grant to check each call against.
        Escalated: an approval for the owner. Denied: the rules that decided it."""
        return plans(body, request, cred, request.state.meter)

    def plans(body: PlanRequest, request: Request, cred: Credential, meter: Meter) -> JSONResponse:
        """`submit`'s work (`FastPlans` calls it too, for the requests FastAPI would hand it)."""
        def work() -> JSONResponse:
            # A credential whose sessions do not count has one: everything it was shown.
            session = (body.session or "") if cred.sessions else ""
            with storage.lock:
                if body.run_id is not None:
                    run_id_free(body.run_id, cred)
                # The plan is reviewed with all its session's planner was shown before: a
                # secret read on one grant is not the agent's own word in the next plan.
                shown = storage.context.label(cred.name, session)
                try:
                    outcome, grant, grant_id, trigger_seen = gate.submit_for_grant(
                        body.trigger, body.plan, run_id=body.run_id, credential=cred.name, meter=meter,
                        session=session, planner_context=shown)
                except TriggerError as exc:
                    raise ApiError(400, f"trigger: {exc}"[:1000]) from None
                except GrantError as exc:  # another worker granted this run id first
                    raise ApiError(409, str(exc)) from None
                if grant is not None and grant_id is None:
                    grant_id = runner.create(grant, outcome.run_id, cred.name, session)
                if outcome.approval is not None:  # whose approval it is: see `_own_approval`
                    storage.audit.append(HOLDER_KIND, outcome.run_id, {"approval": outcome.approval,
                                                                       "credential": cred.name,
                                                                       "session": session})
                # This trigger is now something the session's planner has read.
                if shown is None or shown.join(trigger_seen) != shown:
                    storage.context.add(cred.name, session, trigger_seen)
            review = outcome.review
            metrics.verdict(review.verdict)
            return JSONResponse(PlanResponse(run_id=outcome.run_id, verdict=review.verdict, rules=list(review.rules),
                                             summary=review.summary, grant=grant_id, approval=outcome.approval,
                                             review=review.to_json()).model_dump())
        try:
            return idempotent(request, cred, body.model_dump, work)
        finally:
            settle(meter)  # a submit that ended before its run was counted (a 4xx, a replay)

    def plans_answered(body: PlanRequest, request: Request, cred: Credential) -> Response:
        """`plans` for `FastPlans`: its errors answered as the handlers above answer them."""
        try:
            return plans(body, request, cred, Meter(cred.name, cred.rate))
        except Exception as exc:
            response = answered(exc)
            if response is None:
                raise
            return response

    @app.get("/v1/grants/{grant_id}", tags=["agent"], responses=ERRORS)
    def grant_state(grant_id: str, cred: Credential = Depends(agent)) -> dict[str, Any]:
        """A grant's state: open or finished, results reported, the outstanding call."""
        with storage.lock:
            try:
                return runner.status(grant_id, cred.name)
            except RunProblem as exc:
                raise problem(exc) from None

    @app.post("/v1/grants/{grant_id}/check", response_model=CheckResponse, tags=["agent"], responses=ERRORS)
    def check(grant_id: str, body: CheckRequest, request: Request, cred: Credential = Depends(agent)) -> JSONResponse:
        """May this concrete call run now? The executor's own runtime check: the step must be
        the grant's next call, its arguments the ones the plan resolves to, and the policy must
        allow them with every value known. Allowed: run the tool, then report its result."""
        def work() -> JSONResponse:
            with storage.lock:
                try:
                    answer = runner.check(grant_id, cred.name, body.step, body.tool, body.args)
                except RunProblem as exc:
                    metrics.check("refused")
                    raise problem(exc) from None
            metrics.check("allowed" if answer.status == 200 else "blocked")
            return JSONResponse(answer.body, status_code=answer.status)
        return idempotent(request, cred, lambda: {"grant": grant_id, **body.model_dump()}, work)

    @app.post("/v1/grants/{grant_id}/results", response_model=ResultResponse, tags=["agent"], responses=ERRORS)
    def report(grant_id: str, body: ResultRequest, request: Request, cred: Credential = Depends(agent)) -> JSONResponse:
        """The result of an allowed call (or an extraction's answer). Its label comes back:
        who may read it and whether an attacker could have shaped it."""
        def work() -> JSONResponse:
            with storage.lock:
                try:
                    answer = runner.report(grant_id, cred.name, call=body.call, ok=body.ok, value=body.value,
                                           error=body.error, readers=body.readers, extraction=body.extraction,
                                           is_extraction=body.is_extraction)
                except RunProblem as exc:
                    raise problem(exc) from None
            return JSONResponse(answer.body, status_code=answer.status)
        return idempotent(request, cred, lambda: {"grant": grant_id, **body.model_dump()}, work)

    @app.get("/v1/approvals/{approval_id}/status", tags=["agent"], responses=ERRORS)
    def approval_status(approval_id: str, cred: Credential = Depends(agent)) -> dict[str, Any]:
        """Whether the owner has decided (agents read the status only, of their own approvals)."""
        with storage.lock:
            found, _session = _own_approval(approval_id, cred)
        return {"approval": found.id, "status": found.status, "run_id": found.run_id}

    @app.post("/v1/approvals/{approval_id}/grant", response_model=PlanResponse, tags=["agent"], responses=ERRORS)
    def approved_grant(approval_id: str, request: Request, cred: Credential = Depends(agent)) -> JSONResponse:
        """A grant for a plan the owner approved: re-reviewed first; used once."""
        def work() -> JSONResponse:
            with storage.lock:
                found, session = _own_approval(approval_id, cred)
                if granted(storage, found.run_id):
                    raise ApiError(409, run_granted(found.run_id))
                try:
                    outcome, grant = gate.grant_approved(approval_id, storage.context.label(cred.name, session))
                except GrantError as exc:
                    raise ApiError(409, str(exc)) from None
                except UserError as exc:
                    raise ApiError(409, str(exc)) from None
                assert grant is not None
                try:
                    grant_id = runner.create(grant, outcome.run_id, cred.name, session)
                except RunProblem as exc:
                    raise problem(exc) from None
            review = outcome.review
            return JSONResponse(PlanResponse(run_id=outcome.run_id, verdict=review.verdict, rules=list(review.rules),
                                             summary=review.summary, grant=grant_id, approval=approval_id,
                                             review=review.to_json()).model_dump())
        return idempotent(request, cred, lambda: {"approval": approval_id}, work)

    # -- approver ----------------------------------------------------------------------

    def run_id_free(run_id: str, cred: Credential) -> None:
        """A caller's run id may name a new plan of the same agent after a refused or
        escalated one, never a run with a grant (a second plan's calls would be replayed as
        the first's: its logged calls taken for the other's) nor another agent's escalation
        (whose grant would run under it later)."""
        if storage.sql.one("SELECT 1 FROM grants WHERE run_id = ? LIMIT 1", (run_id,)) is not None:
            raise ApiError(409, f"run_id {run_id!r} already has a grant; a new plan needs a new run id "
                                "(leave it out; retry a request with an Idempotency-Key)")
        rows = storage.sql.all("SELECT data FROM audit_events WHERE run_id = ? AND kind = ?", (run_id, HOLDER_KIND))
        if any(json.loads(r[0]).get("credential") != cred.name for r in rows):
            raise ApiError(409, f"run_id {run_id!r} is another credential's run")

    def _own_approval(approval_id: str, cred: Credential) -> Any:
        """The approval, if this agent credential's plan asked for it: another agent may
        neither read its status nor take its grant (the grant's run, its review and its
        summary are the submitter's). Unknown to everyone else: 404, as for no approval.
        An approval without a holder record (made outside the service, or before holders
        were recorded) is no agent's."""
        found = _approval(approval_id)
        rows = storage.sql.all("SELECT data FROM audit_events WHERE run_id = ? AND kind = ?",
                               (found.run_id, HOLDER_KIND))
        held = [d for d in map(json.loads, (r[0] for r in rows)) if d.get("approval") == approval_id]
        if {d.get("credential") for d in held} != {cred.name}:
            raise ApiError(404, f"no approval {approval_id!r}")
        sessions = {str(d.get("session") or "") for d in held}
        if len(sessions) != 1:  # whose context the take-up is judged by is not one session's
            raise ApiError(409, f"approval {approval_id!r} is recorded for more than one session")
        return found, sessions.pop()

    def _approval(approval_id: str) -> Any:
        try:
            return storage.approvals.get(approval_id)
        except GrantError as exc:
            raise ApiError(409, str(exc)) from None
        except UserError:
            raise ApiError(404, f"no approval {approval_id!r}") from None

    @app.get("/v1/approvals", tags=["approver"], responses=ERRORS)
    def approvals(status: str = "pending", _cred: Credential = Depends(approver)) -> list[dict[str, Any]]:
        """Approvals with what they would do, why they ask and the concrete values."""
        if status not in ("pending", "approved", "denied", "executed", "all"):
            raise ApiError(422, "status must be pending, approved, denied, executed or all")
        with storage.lock:
            items = storage.approvals.list(None if status == "all" else status)
        return [{**a.to_json(), "review": a.review, "trigger": a.trigger, "plan": a.plan} for a in items]

    @app.get("/v1/approvals/{approval_id}", tags=["approver"], responses=ERRORS)
    def approval(approval_id: str, _cred: Credential = Depends(approver)) -> dict[str, Any]:
        with storage.lock:
            a = _approval(approval_id)
        return {**a.to_json(), "review": a.review, "trigger": a.trigger, "plan": a.plan}

    @app.post("/v1/approvals/{approval_id}/decision", tags=["approver"], responses=ERRORS)
    def decide(approval_id: str, body: Decision, cred: Credential = Depends(approver)) -> dict[str, Any]:
        """Approve or deny, with a reason; recorded in the audit log, bound to the plan hash."""
        return decide_as(approval_id, body.decision, body.reason, cred)

    def decide_as(approval_id: str, decision: str, reason: str, cred: Credential) -> dict[str, Any]:
        if cred.role != "approver":  # the one door to a decision: approvers only
            raise ApiError(403, "only an approver credential can decide approvals")
        with storage.lock:
            _approval(approval_id)
            try:
                decided = storage.approvals.decide(approval_id, "approved" if decision == "approve" else "denied",
                                                   by=cred.name, note=reason)
            except UserError as exc:
                raise ApiError(409, str(exc)) from None
        metrics.decision(decided.status)
        return decided.to_json()  # type: ignore[no-any-return]

    app.state.decide_as = decide_as
    app.state.approval = _approval

    # -- admin -------------------------------------------------------------------------

    @app.get("/v1/audit/tail", tags=["admin"], responses=ERRORS)
    def audit_tail(n: int = 20, run_id: str | None = None, _cred: Credential = Depends(admin)) -> list[dict[str, Any]]:
        if not 1 <= n <= 1000:
            raise ApiError(422, "n must be 1 to 1000")
        with storage.lock:
            return [e.to_json() for e in storage.audit.tail(n, run_id=run_id)]

    @app.get("/v1/audit/head", tags=["admin"], responses=ERRORS)
    def audit_head(_cred: Credential = Depends(admin)) -> dict[str, Any]:
        with storage.lock:
            seq, digest = storage.audit.head()
        return {"seq": seq, "hash": digest, "anchor": f"{seq}:{digest}"}

    @app.get("/v1/audit/verify", tags=["admin"], responses=ERRORS)
    def audit_verify(_cred: Credential = Depends(admin)) -> dict[str, Any]:
        """Recompute the chain, compare approvals and stored labels with it, and check
        every head the witness holds."""
        with storage.lock:
            result = storage.audit.verify()
        return {"ok": result.ok, "events": result.events, "first_bad": result.first_bad,
                "problem": result.problem, "witness": storage.witness is not None}

    @app.get("/v1/usage", tags=["admin"], responses=ERRORS)
    def usage(_cred: Credential = Depends(admin)) -> dict[str, Any]:
        """Runs started per trust class (last hour and day), verdicts and checks since this
        worker started, and model usage when the model layer records it."""
        now = time.time()
        with storage.lock:
            rows = storage.sql.all("SELECT trust_class, SUM(CASE WHEN ts > ? THEN 1 ELSE 0 END), COUNT(*) "
                                   "FROM run_starts WHERE ts > ? GROUP BY trust_class", (now - 3600, now - 86400))
        return {"runs": {r[0]: {"last_hour": int(r[1] or 0), "last_day": int(r[2])} for r in rows},
                "worker": metrics.summary(),
                "runs_counted_in": "redis" if storage.redis is not None else storage.kind}

    @app.get("/metrics", tags=["admin"], response_class=PlainTextResponse, responses=ERRORS)
    def prometheus(_cred: Credential = Depends(admin)) -> Response:
        return Response(metrics.exposition(), media_type=metrics.content_type)

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        try:
            with storage.lock:
                storage.ping()
        except StorageUnavailable as exc:
            return error(503, f"unhealthy: {exc}"[:300])
        return JSONResponse({"ok": True, "storage": storage.kind, "redis": storage.redis is not None,
                             "witness": storage.witness is not None})

    from plangate.service.page import add_page

    add_page(app)
    fast_route = next(r for r in app.routes if getattr(r, "path", None) == PLANS_PATH
                      and "POST" in getattr(r, "methods", ()))
    app.add_middleware(FastPlans, route=fast_route, identify=credentials.find, plans=plans_answered)
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.add_middleware(BodyLimit, limit=max_body)
    return app


__all__ = ["MAX_BODY", "ApiError", "create_app"]
