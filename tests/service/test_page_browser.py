"""The approvals page end to end in headless Chromium (Debian's package, driven by Playwright's
Python package; no browser download): an approver logs in on a phone-sized screen, an
escalation arrives over the event stream without a reload, and they approve it with a
reason. Saves docs/approvals-page.png (390x844).

Skips, saying why, only when Chromium or Playwright is absent and the session is not root;
as root (CI, after `PLANGATE_SETUP_SERVICES=1 scripts/setup`) an absent one is a failure.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from plangate.storage import Storage

from .conftest import ROOT, TOKENS, auth, credentials, example, policy

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
SCREENSHOT = ROOT / "docs" / "approvals-page.png"


def _require() -> None:
    missing = [what for what, ok in (("chromium (Debian package chromium)", CHROMIUM is not None),
                                     ("playwright (the `browser` extra)",
                                      importlib.util.find_spec("playwright") is not None)) if not ok]
    if not missing:
        return
    what = " and ".join(missing)
    if os.geteuid() == 0 or os.environ.get("CI"):
        pytest.fail(f"{what} not installed: run PLANGATE_SETUP_SERVICES=1 scripts/setup")
    pytest.skip(f"{what} not installed and this session is not root to install it "
                "(PLANGATE_SETUP_SERVICES=1 scripts/setup)")


@pytest.fixture
def server(storage: Storage) -> Iterator[str]:
    """The service on a loopback port, in this process (uvicorn in a thread)."""
    import uvicorn

    from plangate.service import create_app

    app = create_app(policy=policy(), storage=storage, credentials=credentials())
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not (srv.started and srv.servers):
        assert time.time() < deadline and thread.is_alive(), "the service did not start"
        time.sleep(0.05)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_an_approver_approves_an_escalation_that_arrives_live(server: str, storage: Storage,
                                                              tmp_path: Path) -> None:
    _require()
    import httpx
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context: Any = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True, has_touch=True)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{server}/ui/approvals")
            assert page.url.endswith("/ui/login")
            page.fill("#token", TOKENS["approver"])
            page.click("button[type=submit]")
            page.wait_for_url("**/ui/approvals")
            page.wait_for_selector("text=Nothing waits for a decision.")
            page.wait_for_function("document.getElementById('live').textContent === 'live'")
            page.evaluate("window.__sameDocument = true")

            # An agent's plan escalates while the page is open: it appears without a reload.
            body = example("payment-escalates")
            r = httpx.post(f"{server}/v1/plans", json=body, headers=auth("agent"), timeout=10)
            assert r.status_code == 200 and r.json()["verdict"] == "escalate", r.text
            ident = r.json()["approval"]
            card = page.wait_for_selector(f"#card-{ident}", timeout=10_000)
            assert card is not None
            assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
            text = card.inner_text()
            assert "ask-before-paying" in text and "owner@home.example" in text
            assert page.locator(f"#card-{ident} .untrusted").count() >= 2

            # Fits a phone: nothing wider than the screen.
            assert page.evaluate("document.documentElement.scrollWidth") <= 390

            page.fill(f"#reason-{ident}", "The plumber's invoice, checked by phone.")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
            page.click(f"#card-{ident} button.approve")
            page.wait_for_url("**/ui/approvals?done=approved")
            page.wait_for_selector("text=Nothing waits for a decision.")

            # A hostile memo arrives live: it shows as text, nothing in it runs or renders.
            hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\u202e'
            body = example("payment-escalates")
            body["trigger"]["payload"] += " " + hostile
            body["plan"]["steps"][0]["args"]["memo"] = {"literal": hostile, "origin": "payload"}
            r = httpx.post(f"{server}/v1/plans", json=body, headers=auth("agent"), timeout=10)
            assert r.status_code == 200 and r.json()["verdict"] == "escalate", r.text
            bad = page.wait_for_selector(f"#card-{r.json()['approval']}", timeout=10_000)
            assert bad is not None
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned === undefined")
            assert page.locator("#approvals img, #approvals script").count() == 0
            assert '<img src=x onerror="window.__pwned=1">' in bad.inner_text()
        finally:
            context.close()
    decided = storage.approvals.get(ident)
    assert decided.status == "approved" and decided.decided_by == "approver"
    assert SCREENSHOT.stat().st_size > 10_000
