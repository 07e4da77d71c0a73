"""Rate limits and run counts on Redis, atomic across every worker.

Each check-and-count is one Lua script, so two workers cannot both take the last slot:

* `RedisLimiter.hit`: a fixed window per credential (INCR + PEXPIRE), answering how long
  to wait when over (the service's 429 `Retry-After`);
* `RedisRunCounter.exceeded`: the policy's per-principal / per-class run limits over sliding
  windows (sorted sets); it counts the run in the same script when it is allowed, so
  `record` is a no-op (the gate calls it only after an allowed check);
* `RedisRunCounter.admit`: the two above in one script, one round trip (the service's
  plan submissions: the credential's request, then the run);
* `RedisWitness`: the audit chain's heads kept off the database (see `witness.py`).

A Redis that does not answer raises `StorageUnavailable`: nothing is approved or run.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from plangate.audit.rate import window_wait
from plangate.errors import UserError
from plangate.policy.model import RateLimit
from plangate.storage.errors import StorageUnavailable

_WINDOW = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""

# KEYS: principal key, class key. ARGV: now, member, then (limit, window) x 3 (-1 = none):
# principal/hour, principal/day, class/hour. Answers 0 (counted) or the index of the limit hit.
_RUNS_BODY = """
local now = tonumber(ARGV[1])
local checks = {{KEYS[1], 3, 3600}, {KEYS[1], 5, 86400}, {KEYS[2], 7, 3600}}
for i, c in ipairs(checks) do
  local limit = tonumber(ARGV[c[2]])
  if limit >= 0 then
    local n = redis.call('ZCOUNT', c[1], '(' .. (now - c[3]), '+inf')
    if n >= limit then return answer(i) end
  end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 86400)
redis.call('EXPIRE', KEYS[1], 90000)
redis.call('EXPIRE', KEYS[2], 90000)
return answer(0)
"""
_RUNS = "local function answer(i) return i end\n" + _RUNS_BODY

# `_WINDOW` on KEYS[3] (ARGV[8]: its expiry, ARGV[9]: its limit), then, within it, `_RUNS`:
# {requests in the window, -1 (over it: no run counted) or `_RUNS`' answer}.
_ADMIT = """
local n = redis.call('INCR', KEYS[3])
if n == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[8]) end
local function answer(i) return {n, i} end
if n > tonumber(ARGV[9]) then return answer(-1) end
""" + _RUNS_BODY

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


class _Direct:
    """One connection of the client's pool, kept for a script run on every plan submission:
    its command sent and its reply read directly, without the pool's per-call bookkeeping
    (about half of a call's CPU in redis-py 8). Never retried: a call that fails is an error
    (the script may have counted), and the connection is closed and given back to the pool
    (kept, it would use up one of the pool's places for good), a new one taken next time.
    Before a command is sent, the kept connection is looked at (one poll, nothing read): one
    the server has closed (a Redis restart, an idle timeout) or that holds bytes nobody asked
    for is dropped and a fresh one taken, so a restart costs no request an error."""

    def __init__(self, client: Any) -> None:
        from redis.exceptions import NoScriptError  # here: a SQLite server never loads redis

        self._client = client
        self._conn: Any = None
        self._lock = threading.Lock()
        self._no_script: type[Exception] = NoScriptError

    def run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        with self._lock:
            if self._conn is not None and not self._usable(self._conn):
                self._drop(self._conn)
            if self._conn is None:
                self._conn = self._client.connection_pool.get_connection()
            conn = self._conn
            try:
                try:
                    conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                    return conn.read_response()
                except self._no_script:  # not run (the server lost its scripts): load, run once
                    script.sha = self._client.script_load(script.script)
                    conn.send_command("EVALSHA", script.sha, len(keys), *keys, *args)
                    return conn.read_response()
            except BaseException:
                self._drop(conn)
                raise

    @staticmethod
    def _usable(conn: Any) -> bool:
        """Whether a kept connection is open with nothing unread: `can_read` polls the
        socket, and raises for one the server closed."""
        try:
            return not conn.can_read()
        except Exception:
            return False

    def _drop(self, conn: Any) -> None:
        self._conn = None
        conn.disconnect()  # closed first: no half-read reply goes back to the pool
        self._client.connection_pool.release(conn)


class RedisLimiter(_Redis):
    """Requests per credential per window, shared by all workers."""

    def __init__(self, client: Any, prefix: str = "plangate:", clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, prefix)
        self._script = client.register_script(_WINDOW)
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def hit(self, key: str, limit: int, window: float) -> float | None:
        now = self._clock()
        win = int(now // window)
        count = self.call(lambda: self._script(keys=[self.window_key(key, win)], args=[int(window * 1000) + 1000]))
        return window_wait(int(count), limit, win, window, now)

    def window_key(self, key: str, win: int) -> str:
        return f"{self.prefix}rl:{key}:{win}"


class RedisRunCounter(_Redis):
    """`RunCounter` on Redis: check and count a run start in one atomic step."""

    def __init__(self, client: Any, prefix: str = "plangate:", clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, prefix)
        self._script = client.register_script(_RUNS)
        self._admit = client.register_script(_ADMIT)
        self._direct = _Direct(client)
        self._clock = clock

    def exceeded(self, limit: RateLimit, *, principal: str, trust_class: str) -> str | None:
        keys, args = self._runs(limit, principal, trust_class)
        hit = self.call(lambda: self._script(keys=keys, args=args))
        return _NAMES[int(hit)] or None

    def admit(self, limiter: RedisLimiter, meter: tuple[str, int, float], limit: RateLimit, *,
              principal: str, trust_class: str) -> tuple[float | None, str | None]:
        """`limiter.hit(*meter)` and, within that limit, `exceeded` (which counts the run),
        in one script: (seconds to wait, None) when over the request limit (no run
        counted), else (None, the run limit hit or None)."""
        key, per, window = meter
        now = limiter.now()  # the window is the limiter's, as in its `hit`
        win = int(now // window)
        keys, args = self._runs(limit, principal, trust_class)
        count, hit = self.call(lambda: self._direct.run(
            self._admit, [*keys, limiter.window_key(key, win)], [*args, int(window * 1000) + 1000, per]))
        wait = window_wait(int(count), per, win, window, now)
        if wait is not None or int(hit) < 0:
            return wait or 0.001, None
        return None, _NAMES[int(hit)] or None

    def _runs(self, limit: RateLimit, principal: str, trust_class: str) -> tuple[list[str], list[Any]]:
        def arg(value: int | None) -> int:
            return -1 if value is None else value

        member = f"{self._clock():.6f}:{secrets.token_hex(4)}"
        return ([f"{self.prefix}runs:p:{principal}", f"{self.prefix}runs:c:{trust_class}"],
                [self._clock(), member, arg(limit.per_principal_per_hour), 0,
                 arg(limit.per_principal_per_day), 0, arg(limit.per_class_per_hour)])

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
