"""Browser tests: Playwright drives Debian's `chromium` (never a Playwright-downloaded build)
against the suite's live server (tests/conftest.py `platform_server`), with committed data.

- Hosts: chromium resolves every `*.localhost` name to the loopback address itself, so
  `http://alpha.localhost:<port>/` reaches the live server with the org's Host header, as a
  person's browser reaches `make run`.
- Every page a test visits is screenshotted to `tests/artifacts/screenshots/<name>.png`
  (gitignored; CI keeps them as artifacts) and checked with axe-core (shipped inside the
  `axe-playwright-python` package: nothing is fetched at test time): no serious or critical
  violation is allowed.
- When `chromium` is not installed these tests are skipped, saying so; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import LiveServer

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
BLOCKING_IMPACTS = ("serious", "critical")


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless chromium for the session."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls
    # from test code ("async context") although they are synchronous and in the right thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    # --no-sandbox: CI runs as root, where chromium's sandbox refuses to start;
    # --disable-dev-shm-usage: containers' small /dev/shm crashes renderers.
    instance = playwright.chromium.launch(
        executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
    )
    yield instance
    instance.close()
    playwright.stop()


@dataclass(frozen=True)
class Web:
    """Addresses on the live server, by host."""

    server: LiveServer

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.server.port}{path}"

    def public(self, path: str = "/") -> str:
        return self.url(settings.BASE_DOMAIN, path)


@pytest.fixture
def web(platform_server, live_db) -> Web:
    """The live server with committed data (live_db empties the orgs' tables afterwards)."""
    return Web(platform_server)


def _new_page(browser, viewport: dict[str, int]):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context (no cookies) at desktop size."""
    context, page = _new_page(browser, DESKTOP)
    yield page
    context.close()


@pytest.fixture
def new_page(browser) -> Iterator[object]:
    """`new_page(phone=False)`: another fresh context, e.g. a second person or a phone."""
    contexts = []

    def make(*, phone: bool = False):
        context, page = _new_page(browser, PHONE if phone else DESKTOP)
        contexts.append(context)
        return page

    yield make
    for context in contexts:
        context.close()


def check_page(page, name: str) -> None:
    """Screenshot the page (full height) as `<name>.png` and assert that axe-core finds no
    serious or critical violation on it (the message lists each rule, its help and targets)."""
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    blocking = [
        violation
        for violation in results.response["violations"]
        if violation.get("impact") in BLOCKING_IMPACTS
    ]
    assert not blocking, f"axe-core on {page.url} ({name}):\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    )
