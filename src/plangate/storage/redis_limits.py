"""Rate limits and run counts on Redis, atomic across every worker.

Each check-and-count is one Lua script, so two workers cannot both take the last slot:

* `RedisLimiter.hit`: a fixed window per credential (INCR + PEXPIRE), answering how long
  to wait when over (the service's 429 `Retry-After`);
* `RedisRunCounter.exceeded`: the policy's per-principal / per-class run limits over sliding
  windows (sorted sets); it counts the run in the same script when it is allowed, so
  `record` is a no-op (the gate calls it only after an allowed check);
* `RedisWitness`: the audit chain's heads kept off the database (see `witness.py`).

A Redis that does not answer raises `StorageUnavailable`: nothing is approved or run.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from plangate.errors import UserError
from plangate.policy.model import RateLimit
from plangate.storage.errors import StorageUnavailable

_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS: principal key, class key. ARGV: now, member, then (limit, window) x 3 (-1 = none):
# principal/hour, principal/day, class/hour. Returns 0 (counted) or the index of the limit hit.
_RUNS = """
local now = tonumber(ARGV[1])
local checks = {{KEYS[1], 3, 3600}, {KEYS[1], 5, 86400}, {KEYS[2], 7, 3600}}
for i, c in ipairs(checks) do
  local limit = tonumber(ARGV[c[2]])
  if limit >= 0 then
    local n = redis.call('ZCOUNT', c[1], '(' .. (now - c[3]), '+inf')
    if n >= limit then return i end
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 86400)
redis.call('EXPIRE', KEYS[1], 90000)
redis.call('EXPIRE', KEYS[2], 90000)
return 0
"""

_NAMES = ("", "per_principal_per_hour", "per_principal_per_day", "per_class_per_hour")


def connect(url: str) -> Any:
    try:
        import redis
    except ImportError:  # pragma: no cover - the `service` extra
        raise UserError("a redis:// URL needs the redis client: pip install 'plangate[service]'") from None
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


class _Redis:
    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def call(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise StorageUnavailable(f"redis: {type(exc).__name__}: {exc}"[:300]) from None


class RedisLimiter(_Redis):
    """Requests per credential per window, shared by all workers."""

    def __init__(self, client: Any, prefix: str = "plangate:", clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, prefix)
        self._script = client.register_script(_WINDOW)
        self._clock = clock

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        win = int(now // window)
        count = self.call(lambda: self._script(keys=[f"{self.prefix}rl:{key}:{win}"],
                                               args=[int(window * 1000) + 1000]))
        if int(count) > limit:
            return max(0.001, (win + 1) * window - now)
        return None


class RedisRunCounter(_Redis):
    """`RunCounter` on Redis: check and count a run start in one atomic step."""

    def __init__(self, client: Any, prefix: str = "plangate:", clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, prefix)
        self._script = client.register_script(_RUNS)
        self._clock = clock

    def exceeded(self, limit: RateLimit, *, principal: str, trust_class: str) -> str | None:
        def arg(value: int | None) -> int:
            return -1 if value is None else value

        member = f"{self._clock():.6f}:{secrets.token_hex(4)}"
        hit = self.call(lambda: self._script(
            keys=[f"{self.prefix}runs:p:{principal}", f"{self.prefix}runs:c:{trust_class}"],
            args=[self._clock(), member, arg(limit.per_principal_per_hour), 0,
                  arg(limit.per_principal_per_day), 0, arg(limit.per_class_per_hour)]))
        return _NAMES[int(hit)] or None

    def record(self, *, principal: str, trust_class: str) -> None:
        """Counted by `exceeded` already (atomically with the check)."""


class RedisWitness(_Redis):
    """Audit heads on Redis: a sorted set seq -> 'seq:hash', newest kept."""

    KEEP = 10_000

    def __init__(self, client: Any, prefix: str = "plangate:") -> None:
        super().__init__(client, prefix)
        self.key = f"{prefix}witness"

    def record(self, seq: int, digest: str, *, durable: bool = True) -> None:
        """Keep a head (Redis's own persistence settings decide when it reaches the disk)."""
        def ship() -> None:
            pipe = self.client.pipeline()
            pipe.zadd(self.key, {f"{seq}:{digest}": seq})
            pipe.zremrangebyrank(self.key, 0, -self.KEEP - 1)
            pipe.execute()
        self.call(ship)

    def heads(self) -> list[tuple[int, str]]:
        raw = self.call(lambda: self.client.zrange(self.key, 0, -1))
        out = []
        for item in raw:
            seq, _, digest = item.decode().partition(":")
            out.append((int(seq), digest))
        return out

    def ping(self) -> None:
        self.call(self.client.ping)


__all__ = ["RedisLimiter", "RedisRunCounter", "RedisWitness", "connect"]
