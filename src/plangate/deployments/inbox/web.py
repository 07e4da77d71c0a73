"""`web_fetch` without the internet: every host name is answered by one local server.

The URL a plan asks for is recorded exactly as given, then the request goes to the
configured loopback server with the original host in the `Host` header and the path
and query unchanged, so the test server can play any site (an attacker's collector, a
cloud metadata address, an intranet page) and log what would have left the machine.
Redirects are followed by hand through the same routing, never by a library that
might dial out. Count, time and size are bounded.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BYTES = 1_000_000
MAX_REDIRECTS = 5
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class WebError(ValueError):
    """A fetch was refused (bad URL, budget spent) or the local server failed."""


@dataclass(frozen=True, slots=True)
class Page:
    url: str
    status: int
    content_type: str
    text: str

    def to_json(self) -> dict[str, object]:
        return {"url": self.url, "status": self.status, "content_type": self.content_type,
                "text": self.text}


class LoopbackWeb:
    """Routes every http(s) URL to the server at `base_url` (which must be loopback)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, max_fetches: int = 50) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or parts.hostname not in _LOOPBACK:
            raise ValueError(f"web_base_url {base_url!r} must be http:// on a loopback address")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.remaining = max_fetches

    def fetch(self, url: str, record: list[str]) -> Page:
        """GET `url`; every URL requested (redirects included) is appended to `record`
        before the request is made, so a refused or failed fetch is still on record."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise WebError(f"only http(s) URLs with a host can be fetched, not {current!r}")
            if self.remaining <= 0:
                raise WebError("the fetch budget for this runtime is spent")
            self.remaining -= 1
            record.append(current)
            status, headers, body = self._get(parts.netloc.rpartition("@")[2],
                                              parts.path or "/", parts.query)
            location = headers.get("location")
            if status in (301, 302, 303, 307, 308) and location:
                base = f"{parts.scheme}://{parts.netloc}"
                current = location if urlsplit(location).scheme else base + "/" + location.lstrip("/")
                continue
            ctype = headers.get("content-type", "")
            charset = "utf-8"
            if "charset=" in ctype:
                charset = ctype.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
            try:
                text = body.decode(charset, "replace")
            except LookupError:
                text = body.decode("utf-8", "replace")
            return Page(url=current, status=status, content_type=ctype, text=text)
        raise WebError(f"more than {MAX_REDIRECTS} redirects from {url!r}")

    def _get(self, host: str, path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        target = self.prefix + path + (f"?{query}" if query else "")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("GET", target, headers={"Host": host, "User-Agent": "plangate-assistant",
                                                 "Accept-Encoding": "identity"})
            resp = conn.getresponse()
            body = resp.read(MAX_BYTES)
            headers = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, headers, body
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise WebError(f"the local web server failed: {exc}") from None
        finally:
            conn.close()
