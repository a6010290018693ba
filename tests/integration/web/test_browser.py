"""End to end in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``,
driven by Selenium): a grid worker logs in on the phone inbox, a gas reading published
over MQTT makes the alert appear without a reload, they acknowledge and resolve it;
meanwhile a property manager's overview shows the detector turn red, then green.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.harness import Publisher, wait_for
from tests.integration.web.conftest import ADMIN_TOKEN, password
from tests.servers import require_binary

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

HINT = "Chromium is not installed: run `apt-get install -y chromium chromium-driver` (Debian)"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-quic", "--window-size=412,915")


@pytest.fixture(scope="module")
def browser_factory() -> Iterator:
    chromium = require_binary("chromium", HINT)
    driver_path = require_binary("chromedriver", HINT)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    drivers, dirs = [], []

    def make():
        profile = tempfile.mkdtemp(prefix="gw-chromium-")
        dirs.append(profile)
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            opts.add_argument(flag)
        d = webdriver.Chrome(service=Service(driver_path), options=opts)
        drivers.append(d)
        return d

    try:
        yield make
    finally:
        for d in drivers:
            d.quit()
        for p in dirs:
            shutil.rmtree(p, ignore_errors=True)


def log_in(driver, api: str, who: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{api}/")  # redirected to the login page
    wait(driver, lambda d: d.find_elements(By.ID, "login-form"))
    driver.find_element(By.ID, "login").send_keys(who)
    driver.find_element(By.ID, "password").send_keys(password(who))
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#live.on"))  # the live stream is open


def wait(driver, cond, what: str = "the page"):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 30, poll_frequency=0.1).until(cond, f"waiting for {what}")


def click(driver, css: str) -> None:
    """Click the element once it is there; the inbox re-renders on live events, so an
    element found a moment ago may be replaced: find it again then."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def attempt(d):
        try:
            els = d.find_elements(By.CSS_SELECTOR, css)
            if els and els[0].is_enabled():
                els[0].click()
                return True
        except StaleElementReferenceException:
            pass
        return False

    wait(driver, attempt, css)


def text_of(driver, css: str) -> str:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def attempt(d):
        try:
            els = d.find_elements(By.CSS_SELECTOR, css)
            return els[0].text if els else None
        except StaleElementReferenceException:
            return None

    return wait(driver, attempt, css)


def state_of(driver, device: str) -> str | None:
    from selenium.webdriver.common.by import By

    els = driver.find_elements(By.CSS_SELECTOR, f'.dot[data-device="{device}"]')
    return els[0].get_attribute("data-state") if els else None


def test_grid_worker_handles_a_gas_alert_while_the_property_manager_watches(service, broker, browser_factory):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    worker, manager = browser_factory(), browser_factory()
    log_in(worker, service.api, "zhangwei")
    assert worker.current_url.endswith("#/inbox")
    wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox .empty"), "the empty inbox")
    log_in(manager, service.api, "chen")
    assert manager.current_url.endswith("#/overview")
    wait(manager, lambda d: d.find_elements(By.CSS_SELECTOR, '#tree a.bldg[data-building="b1"]'), "building b1")
    assert not manager.find_elements(By.CSS_SELECTOR, '#tree a.bldg[data-building="b2"]')  # another company's
    click(manager, '#tree a.bldg[data-building="b1"]')  # the building opens into units and households
    wait(manager, lambda d: state_of(d, "gas-101") == "unknown", "gas-101 in building b1")
    assert state_of(manager, "gas-201") is None

    pub = Publisher(broker.host, broker.port, client_id="web-e2e-pub")
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        pub.publish_all([("gridwatch/tiny/gas-101/state", {"lel_pct": 40.0, "ts": time.time(), "seq": 1})])
        assert "1号楼" in text_of(worker, "#inbox article.alert")  # no reload: the live stream brought it
        wait(manager, lambda d: state_of(d, "gas-101") == "alarm", "gas-101 to turn red")

        click(worker, "#inbox article.alert button.act-ack")
        wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, '#inbox article[data-status="acknowledged"]'),
             "the acknowledged alert")

        pub.publish_all([("gridwatch/tiny/gas-101/state", {"lel_pct": 0.0, "ts": time.time(), "seq": 2})])
        alert_id = httpx.get(f"{service.api}/api/alerts", params={"device": "gas-101"},
                             headers=admin).json()["items"][0]["id"]
        wait_for(lambda: not httpx.get(f"{service.api}/api/alerts/{alert_id}", headers=admin).json()["active"],
                 what="the gas to clear")

        # the clearing may re-render the inbox once more: open the resolve form after it settled
        wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, '#inbox article[data-status="acknowledged"]'))
        click(worker, "#inbox button.act-resolve")
        form = wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox textarea.note"), "the form")
        form[0].send_keys("阀门已关闭，开窗通风")
        Select(worker.find_element(By.CSS_SELECTOR, "#inbox select.outcome")).select_by_value("real_hazard")
        click(worker, "#inbox button.act-submit")
        wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox .empty"), "the inbox to empty")
        wait(manager, lambda d: state_of(d, "gas-101") == "ok", "gas-101 to turn green")
    finally:
        pub.close()

    detail = httpx.get(f"{service.api}/api/alerts/{alert_id}", headers=admin).json()
    assert detail["status"] == "resolved" and detail["outcome"] == "real_hazard"
    done = [e for e in detail["timeline"] if e["actor"] == "w-g1"]
    assert [e["action"] for e in done] == ["acknowledged", "resolved"]
    assert done[-1]["note"] == "阀门已关闭，开窗通风"


def test_an_admin_adds_a_user_who_then_logs_in_and_a_worker_sets_a_silence(service, broker, browser_factory):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    admin_page = browser_factory()
    log_in(admin_page, service.api, "root")
    admin_page.get(f"{service.api}/#/users")
    wait(admin_page, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-user="zhangwei"]'), "the users")
    form = admin_page.find_element(By.ID, "user-form")
    form.find_element(By.NAME, "login").send_keys("xiaoli")
    form.find_element(By.NAME, "name").send_keys("小李")
    Select(form.find_element(By.NAME, "role")).select_by_value("grid_worker")
    form.find_element(By.NAME, "grids").send_keys("g2")
    form.find_element(By.NAME, "password").send_keys(password("xiaoli"))
    click(admin_page, "#user-submit")
    row = wait(admin_page, lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-user="xiaoli"]'), "the new user")
    assert "g2" in row[0].text
    wait(admin_page, lambda d: "新增用户" in d.find_element(By.ID, "audit").text, "the audit log in words")
    assert "user.create" not in admin_page.find_element(By.ID, "audit").text

    newcomer = browser_factory()
    log_in(newcomer, service.api, "xiaoli")  # the password the admin set works
    assert newcomer.current_url.endswith("#/inbox")
    assert not newcomer.find_element(By.CSS_SELECTOR, '#nav a[href="#/users"]').is_displayed()
    me = newcomer.execute_script("return fetch('/api/auth/me').then(r => r.json())")
    assert me["grids"] == ["g2"] and me["role"] == "grid_worker"

    # a grid worker sets a maintenance silence for their building, then lifts it
    worker = browser_factory()
    log_in(worker, service.api, "zhangwei")
    worker.get(f"{service.api}/#/silences")
    form = wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, '#silence-form select[name="place_id"]'),
                "the silence form")
    Select(form[0]).select_by_value("b1")
    worker.find_element(By.CSS_SELECTOR, '#silence-form input[name="reason"]').send_keys("更换烟感")
    worker.find_element(By.CSS_SELECTOR, '#silence-form input[value="smoke"]').click()
    click(worker, "#silence-submit")
    card = wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, '#silences article[data-state="active"]'),
                "the active silence")
    assert "更换烟感" in card[0].text and "一号院 1号楼" in card[0].text  # the place by name
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    active = httpx.get(f"{service.api}/api/silences", headers=admin).json()["items"]
    assert [(s["place_id"], s["device_kinds"], s["author"]) for s in active] == [("b1", ["smoke"], "w-g1")]
    click(worker, "#silences button.act-lift")
    wait(worker, lambda d: d.switch_to.alert, "the confirmation").accept()  # lifting asks first
    wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, "#silences .empty"), "no silence left")
    assert httpx.get(f"{service.api}/api/silences", headers=admin).json()["items"] == []

    # a smoke alarm in the inbox: the worker hushes it from the phone
    worker.get(f"{service.api}/#/inbox")
    pub = Publisher(broker.host, broker.port, client_id="web-e2e-hush")
    try:
        pub.publish_all([("gridwatch/tiny/smoke-101/state", {"smoke": True, "ts": time.time(), "seq": 7})])
    finally:
        pub.close()
    click(worker, "#inbox article.sev-critical button.act-hush")
    wait(worker, lambda d: d.find_elements(By.CSS_SELECTOR, "#inbox article.alert.sev-info"), "the hushed alarm")
    smoke = httpx.get(f"{service.api}/api/alerts", params={"device": "smoke-101"}, headers=admin).json()["items"][0]
    assert smoke["severity"] == "info" and smoke["detail"] == "hushed"
