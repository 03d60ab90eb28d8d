"""Browser tests: the real app on a loopback port, driven by Playwright in Debian's Chromium.

No browser is ever downloaded: Playwright launches /usr/bin/chromium (ops/test installs the
Debian package when it is missing and the run is root). The tests skip, saying why, only when
that executable or the `playwright` package is absent.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp
import pytest
from werkzeug.serving import make_server

from browser import accessibility
from engine.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ROOT = Path(__file__).resolve().parents[2]
STATIC_VENDOR = ROOT / "engine" / "web" / "static" / "vendor" / "relais-bpmn.js"


def _skip_reason() -> str | None:
    if not os.path.exists(CHROMIUM):
        return (f"Chromium absent ({CHROMIUM}) : installez le paquet Debian « chromium » "
                "(ops/test le fait quand il tourne en root) pour lancer les tests navigateur.")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return ("Paquet Python « playwright » absent : installez l'extra [dev] "
                "(pip install -e '.[dev]') pour lancer les tests navigateur.")
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    assert STATIC_VENDOR.exists(), (
        f"{STATIC_VENDOR} manque : ops/_setup.sh construit le modeleur avec npm (npm ci && "
        "npm run build) ; lancez ops/test ou ops/run.")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        yield instance
        instance.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The test app (its own database, demo territory) served on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="relais-live-server",
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass
class Watched:
    """A page with what went wrong in it: JS exceptions and CSP violations."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path

    def assert_clean(self) -> None:
        assert not self.problems, "erreurs dans la page :\n" + "\n".join(self.problems)


def _watch(page: Any, base: str) -> Watched:
    watched = Watched(page, base)

    def on_console(message: Any) -> None:
        text = message.text
        if message.type == "error" and ("Content Security Policy" in text
                                        or "Refused to" in text):
            watched.problems.append(f"CSP : {text}")

    page.on("console", on_console)
    # The violation event says which code did it (the console only says what was blocked).
    page.add_init_script("""document.addEventListener('securitypolicyviolation', e =>
        console.error('Refused to (securitypolicyviolation) ' + e.violatedDirective + ' at ' +
                      e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber +
                      ' sample=' + JSON.stringify(e.sample)));""")
    page.on("pageerror", lambda exc: watched.problems.append(f"exception JS : {exc}"))
    return watched


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Any]:
    contexts = []

    def make() -> Watched:
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="fr-FR")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return _watch(context.new_page(), live_server)

    yield make
    for context in contexts:
        context.close()


def log_in(watched: Watched, username: str) -> None:
    page = watched.page
    page.goto(watched.url("/connexion"))
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")


@pytest.fixture
def user_page(new_page):
    """A page logged in as a user without second factor (any demo account but demo-admin)."""

    def make(username: str) -> Watched:
        watched = new_page()
        log_in(watched, username)
        watched.page.wait_for_url(watched.url("/"))
        return watched

    return make


@pytest.fixture
def admin(new_page, clock) -> Watched:
    """demo-admin logged in through the real pages, enrolling TOTP from the page's secret."""
    watched = new_page()
    log_in(watched, "demo-admin")
    page = watched.page
    page.wait_for_url("**/connexion/activer-2fa")
    secret = page.inner_text(".secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).at(clock.now()))
    page.click("form.formulaire button[type=submit]")
    page.wait_for_url(watched.url("/admin/"))  # administrators land on the console
    assert page.inner_text("h1") == "Administration"
    return watched


@pytest.fixture(scope="session")
def axe_source() -> str:
    return accessibility.axe_source()
