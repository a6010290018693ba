"""The pages and the API docs work under the service's Content-Security-Policy, in
headless Chromium: every page of the app, the login page, Swagger UI and ReDoc load
with no CSP violation in the browser's console (issue 14)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.integration.web.test_browser import FLAGS, HINT, log_in, wait
from tests.servers import require_binary

pytestmark = pytest.mark.integration

PAGES = ("#/inbox", "#/overview", "#/devices", "#/stats", "#/silences")


@pytest.fixture(scope="module")
def driver() -> Iterator:
    chromium = require_binary("chromium", HINT)
    driver_path = require_binary("chromedriver", HINT)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    profile = tempfile.mkdtemp(prefix="gw-chromium-csp-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        yield d
    finally:
        d.quit()
        shutil.rmtree(profile, ignore_errors=True)


# ReDoc's footer always asks a CDN for its logo; the CSP blocking it is the point
# (nothing loads from outside) and the page hides the broken image itself.
EXPECTED = ("https://cdn.redoc.ly/redoc/logo-mini.svg",)


def violations(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser")
            if ("Content Security Policy" in e["message"] or "Refused to" in e["message"])
            and not any(x in e["message"] for x in EXPECTED)]


def test_the_pages_and_docs_run_under_the_csp(service, driver):
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    log_in(driver, service.api, "zhangwei")
    seen = []
    for page in PAGES:
        driver.get(f"{service.api}/{page}")
        wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#live.on"), f"page {page}")
        seen += violations(driver)
    driver.get(f"{service.api}/docs")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock"), "Swagger UI")
    seen += violations(driver)
    driver.get(f"{service.api}/redoc")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[role=search], .menu-content"), "ReDoc")
    seen += violations(driver)
    assert not seen, "\n".join(seen)
