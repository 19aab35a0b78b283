"""Fixtures of the browser test: a live gunicorn shop, Debian's Chromium through Playwright, pages
that record console errors and CSP violations, and screenshots of every open page on failure.

Playwright is imported inside the fixtures only: without it (or without Chromium) the test
module skips itself and this file must still import.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from tests.browser.browser_support import ARTIFACTS_DIR, CHROMIUM, LiveShop, missing_requirement


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium against a live gunicorn (skipped without Chromium/Playwright)"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)  # read by the fixtures' teardown
    return report


def _failed(request) -> bool:
    return any(getattr(request.node, f"report_{when}", None) is not None
               and getattr(request.node, f"report_{when}").failed for when in ("setup", "call"))


@pytest.fixture(scope="module")
def live_shop(tmp_path_factory, request):
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    shop = LiveShop(tmp_path_factory.mktemp("live-shop"))
    try:
        shop.prepare()
        shop.start()
        yield shop
    finally:
        shop.stop()


@pytest.fixture(scope="module")
def browser():
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@dataclass
class PageLog:
    """What the pages said that a shopper would not see: console errors, uncaught exceptions,
    Content-Security-Policy violations and 5xx answers."""

    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # everything, for the failure artifacts
    allowed: list[re.Pattern] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """A problem the test provokes on purpose (Chromium logs every 4xx page as a console error)."""
        self.allowed.append(re.compile(pattern))

    def watch(self, page) -> None:
        def on_console(message):
            text = f"console.{message.type} on {page.url}: {message.text}"
            self.lines.append(text)
            if message.type == "error":
                self.problems.append(text)

        def on_page_error(error):
            self.problems.append(f"uncaught exception on {page.url}: {error}")

        def on_response(response):
            if response.status >= 500:
                self.problems.append(f"HTTP {response.status} for {response.request.method} {response.url}")

        def on_csp_violation(source, report):
            self.problems.append(f"CSP violation on {source['frame'].url}: {report}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("response", on_response)
        # Chromium also logs CSP violations as console errors; the DOM event is the reliable record.
        page.expose_binding("__reportCspViolation", on_csp_violation)
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => window.__reportCspViolation("
            "`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || ''})`));"
        )

    def assert_clean(self) -> None:
        problems = [p for p in self.problems if not any(allowed.search(p) for allowed in self.allowed)]
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.fixture
def new_page(browser, live_shop, page_log, request):
    """``new_page(**context_options)``: a page in a fresh browser context (its own cookies, so
    its own visitor), watched by ``page_log``; on failure every page is screenshotted."""
    contexts = []

    def make(**options):
        context = browser.new_context(base_url=live_shop.base_url, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page_log.watch(page)
        return page

    yield make
    try:
        if _failed(request):
            folder = ARTIFACTS_DIR / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::")[-1])
            folder.mkdir(parents=True, exist_ok=True)
            for c, context in enumerate(contexts):
                for p, page in enumerate(context.pages):
                    stem = folder / f"context{c}-page{p}"
                    try:
                        page.screenshot(path=f"{stem}.png", full_page=True)
                        stem.with_suffix(".html").write_text(page.content())
                        stem.with_suffix(".url").write_text(page.url + "\n")
                    except Exception as error:  # noqa: BLE001 - a closed page must not hide the failure
                        stem.with_suffix(".error").write_text(repr(error))
            (folder / "browser-console.log").write_text(
                "\n".join(page_log.lines) + "\n\nproblems:\n" + json.dumps(page_log.problems, indent=1)
            )
            live_shop.save_logs(folder)
            print(f"\nbrowser test artifacts (screenshots, HTML, logs): {folder}")
    finally:
        for context in contexts:
            context.close()
