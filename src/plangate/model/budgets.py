"""Budgets and rate limits on model calls, per trust class and per principal.

Each trust class has its own pool (all its principals together) and each principal of
the class a pool of its own, with limits on calls, tokens and cost over a rolling window
(`ClassBudget` in the models file). Before a call, its worst case is *reserved* in both
pools: one call, the input-token bound plus `max_tokens`, and what that costs; the call is
made only if every limit still holds with the reservation counted. After the call the
reservation is *settled* to what was actually spent (the tokens the server reported,
streamed ones included; the worst case when it reported none). So concurrent calls can
never overshoot a limit: each holds its worst case until it settles.

Pools are separate: a flood from unknown senders spends the `unknown` pool (and each
stranger only their own share of it), never the owner's. A class with no budget and no
`default` budget is unlimited.

The ledger lives in the process (microseconds per check), seeded on start from the usage
rows still inside each window, so a restart does not refill a spent budget. Workers that
share one audit database do not share reservations in flight (a shared ledger in Redis is
for the service; see docs/models.md).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from plangate.audit.usage import UsageLog
from plangate.model.config import ClassBudget, PoolLimits
from plangate.model.errors import BudgetExceeded
from plangate.model.prices import NANO

WINDOWS: Mapping[str, float] = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}


@dataclass(slots=True)
class _Pool:
    name: str                      # "class:unknown" / "principal:unknown"
    who: str                       # what the error names
    limits: PoolLimits
    window: str
    spent: collections.deque[tuple[float, int, int, int]] = field(default_factory=collections.deque)
    calls: int = 0                 # settled within the window
    tokens: int = 0
    cost: int = 0                  # nano-USD
    r_calls: int = 0               # reserved, not yet settled
    r_tokens: int = 0
    r_cost: int = 0

    def expire(self, now: float) -> None:
        horizon = now - WINDOWS[self.window]
        while self.spent and self.spent[0][0] <= horizon:
            _ts, c, t, k = self.spent.popleft()
            self.calls -= c
            self.tokens -= t
            self.cost -= k

    def problem(self, tokens: int, cost: int | None) -> tuple[str, str] | None:
        """(limit id, message) of the first limit the reservation would break."""
        lim = self.limits
        per = f"per_{self.window}"
        if lim.calls is not None and self.calls + self.r_calls + 1 > lim.calls:
            return f"calls_{per}", f"{self.calls + self.r_calls} of {lim.calls} calls used"
        if lim.tokens is not None and self.tokens + self.r_tokens + tokens > lim.tokens:
            return (f"tokens_{per}", f"{self.tokens + self.r_tokens} of {lim.tokens} tokens used, "
                                     f"this call may take {tokens}")
        if lim.cost_usd is not None:
            if cost is None:
                return f"cost_usd_{per}", "no price is known for this model, so its cost cannot be bounded"
            allowed = int(lim.cost_usd * NANO)
            if self.cost + self.r_cost + cost > allowed:
                return (f"cost_usd_{per}", f"${(self.cost + self.r_cost) / NANO:.6f} of ${lim.cost_usd:g} "
                                           f"used, this call may cost ${cost / NANO:.6f}")
        return None


@dataclass(frozen=True, slots=True)
class Reservation:
    pools: tuple[_Pool, ...]
    tokens: int
    cost: int


class Budgets:
    """The ledger. `reserve` raises `BudgetExceeded`; `settle` always succeeds."""

    def __init__(self, limits: Mapping[str, ClassBudget], *, usage: UsageLog | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.limits = dict(limits)
        self._clock = clock
        self._lock = threading.Lock()
        self._pools: dict[tuple[str, str], _Pool] = {}
        if usage is not None:
            self._seed(usage)

    def budget_of(self, trust_class: str) -> ClassBudget | None:
        return self.limits.get(trust_class) or self.limits.get("default")

    def _pools_for(self, trust_class: str, principal: str) -> tuple[_Pool, ...]:
        budget = self.budget_of(trust_class)
        if budget is None:
            return ()
        out = []
        key = ("class", trust_class)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(f"class:{trust_class}", f"class {trust_class!r}", budget,
                                            budget.window)
        out.append(pool)
        if budget.per_principal is not None:
            key = (trust_class, principal)
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = _Pool(f"principal:{trust_class}", f"principal {principal!r}",
                                                budget.per_principal, budget.window)
            out.append(pool)
        return tuple(out)

    def reserve(self, trust_class: str, principal: str, *, tokens: int, cost: int | None) -> Reservation:
        now = self._clock()
        with self._lock:
            pools = self._pools_for(trust_class, principal)
            for pool in pools:
                pool.expire(now)
                hit = pool.problem(tokens, cost)
                if hit is not None:
                    limit, detail = hit
                    raise BudgetExceeded(f"model call refused: {pool.who} is over its {limit.replace('_', ' ')} "
                                         f"limit ({detail})", limit=f"{pool.name}:{limit}")
            for pool in pools:
                pool.r_calls += 1
                pool.r_tokens += tokens
                pool.r_cost += cost or 0
        return Reservation(pools, tokens, cost or 0)

    def settle(self, reservation: Reservation, *, tokens: int, cost: int | None) -> None:
        now = self._clock()
        spent = (now, 1, tokens, cost or 0)
        with self._lock:
            for pool in reservation.pools:
                pool.r_calls -= 1
                pool.r_tokens -= reservation.tokens
                pool.r_cost -= reservation.cost
                pool.spent.append(spent)
                pool.calls += 1
                pool.tokens += tokens
                pool.cost += cost or 0

    def charge(self, trust_class: str, principal: str, *, tokens: int, cost: int | None) -> None:
        """Count one call that was not made as spent (`MeteredClient.charge_unmade`): no
        limit refuses it."""
        now = self._clock()
        with self._lock:
            for pool in self._pools_for(trust_class, principal):
                pool.expire(now)
                pool.spent.append((now, 1, tokens, cost or 0))
                pool.calls += 1
                pool.tokens += tokens
                pool.cost += cost or 0

    def state(self) -> dict[str, Any]:
        """What each pool has spent and holds reserved (for benchmarks and `usage`)."""
        with self._lock:
            return {f"{p.name}:{k[1]}": {"calls": p.calls, "tokens": p.tokens, "cost_usd": p.cost / NANO,
                                         "reserved_calls": p.r_calls, "limits": p.limits.model_dump()}
                    for k, p in self._pools.items()}

    def _seed(self, usage: UsageLog) -> None:
        if not self.limits:
            return
        longest = max(WINDOWS[b.window] for b in self.limits.values())
        now = self._clock()
        for rec in usage.records(since=now - longest):
            if not rec.ok and (rec.error or "").startswith("refused:"):
                continue
            cost = round((rec.cost_usd or 0.0) * NANO)
            for pool in self._pools_for(rec.trust_class, rec.principal):
                if rec.ts > now - WINDOWS[pool.window]:
                    pool.spent.append((rec.ts, 1, rec.tokens_in + rec.tokens_out, cost))
                    pool.calls += 1
                    pool.tokens += rec.tokens_in + rec.tokens_out
                    pool.cost += cost


__all__ = ["WINDOWS", "Budgets", "Reservation"]
