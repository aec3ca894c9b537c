"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser), against
a real gunicorn serving the test database."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("PORTAL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


@pytest.fixture
def phone(browser):
    """Return a function making a new phone-sized page (412 px wide), JavaScript on or off."""
    contexts = []

    def make(javascript=True, language="fr"):
        context = browser.new_context(
            viewport={"width": 412, "height": 915},
            device_scale_factor=2.6,
            is_mobile=True,
            has_touch=True,
            java_script_enabled=javascript,
            locale=language,
        )
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def demo_server(app, runner, gunicorn_server):
    """gunicorn with the demo data loaded into the test database."""
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return gunicorn_server(workers=2, threads=4)
