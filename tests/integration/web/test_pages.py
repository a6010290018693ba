"""Every page in a real headless Chromium at phone (390 px) and desktop (1280 px) width,
in Chinese and English: no visible text is an untranslated key or a raw field name;
readings show with units; the alert page shows the notices as recipients read them; the
overview of the bundled Wuyang sample (3,592 households) is a few screens tall; the
Users page of an open (demo) service explains itself.

Screenshots of each page at both widths and in both languages go to
``$GRIDWATCH_SCREENSHOTS`` when it is set.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import httpx
import pytest

from alerts.model import AlertStatus, Outcome, ReportCategory
from alerts.rules.types import Hazard
from alerts.system import SystemHazard
from alerts.words import CATALOGUE
from sensors.fields import FIELDS
from tests.integration.harness import Publisher, ServiceThread, wait_for
from tests.integration.web.conftest import ADMIN_TOKEN
from tests.integration.web.test_browser import browser_factory, log_in, wait  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SIZES = {"phone": (390, 844, True), "desktop": (1280, 900, False)}
SHOTS = os.environ.get("GRIDWATCH_SCREENSHOTS")
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# What must never be seen as text: the catalogue's keys, raw reading fields, raw enum values.
RAW = {*CATALOGUE["zh"], *(f.name for f in FIELDS), *(h.value for h in Hazard), *(s.value for s in AlertStatus),
       *(o.value for o in Outcome), *(c.value for c in ReportCategory), *(s.value for s in SystemHazard),
       "auth.login", "user.create", "user.update", "alert.ack", "silence.create", "k_gateway", "battery_low"}
RAW_SNAKE = {r for r in RAW if "_" in r or "." in r}
# English words of the catalogue that must not show on a Chinese page (an untranslated text).
EN_ONLY = {v for k, v in CATALOGUE["en"].items() if v != CATALOGUE["zh"][k] and re.fullmatch(r"[A-Za-z][A-Za-z ,']{7,}", v)}


def raw_words(text: str) -> list[str]:
    """Tokens of the visible text that are keys or raw field names."""
    return sorted({tok for tok in re.findall(r"[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9]", text) if tok in RAW_SNAKE})


def resize(driver, size: str) -> None:
    w, h, mobile = SIZES[size]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": mobile})


def set_lang(driver, lang: str) -> None:
    driver.execute_script("localStorage.setItem('gw.lang', arguments[0])", lang)


def settle(driver, ready_css: str) -> str:
    """Wait for the page's content, then return its visible text."""
    from selenium.webdriver.common.by import By

    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ready_css) and not d.find_elements(By.CSS_SELECTOR, "#view .loading"),
         ready_css)
    time.sleep(0.3)  # the last fetch of the page (charts, lists) lands
    return driver.execute_script("return document.body.innerText")


def check_page(driver, name: str, size: str, lang: str, text: str) -> None:
    assert raw_words(text) == [], f"{name} ({size}, {lang}) shows raw keys"
    if lang == "zh":
        leaked = sorted(w for w in EN_ONLY if w in text)
        assert leaked == [], f"{name} ({size}, zh) shows English words"
    errors = driver.find_elements("css selector", "#view > p.error")
    assert not errors, f"{name} ({size}, {lang}): {errors[0].text}"
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{name} ({size}, {lang}) is {overflow} px wider than the screen"
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 4000)")
        w, _, mobile = SIZES[size]
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": w, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        driver.save_screenshot(str(Path(SHOTS) / f"{name}-{size}-{lang}.png"))
        resize(driver, size)


def _gas_alert(service, broker) -> int:
    pub = Publisher(broker.host, broker.port, client_id="web-pages-pub")
    now = time.time()
    try:
        msgs = [("gridwatch/tiny/gas-101/state", {"lel_pct": v, "battery_pct": 80.0, "ts": now - 180 + i * 60, "seq": i + 1})
                for i, v in enumerate((1.0, 2.0, 3.0, 30.0))]
        msgs += [(f"gridwatch/tiny/{d}/state", {"battery_pct": 64.0, "ts": now}) for d in ("smoke-101", "water-101", "gas-201")]
        pub.publish_all(msgs)
    finally:
        pub.close()
    return wait_for(lambda: next(iter(httpx.get(f"{service.api}/api/alerts", params={"device": "gas-101"},
                                                headers=ADMIN).json()["items"]), {}).get("id"), what="the gas alert")


def test_every_page_at_phone_and_desktop_width_in_both_languages(service, broker, browser_factory):  # noqa: F811
    from selenium.webdriver.common.by import By

    alert_id = _gas_alert(service, broker)
    httpx.post(f"{service.api}/api/silences", headers=ADMIN, json={
        "reason": "更换烟感", "place_id": "b1-u1", "device_kinds": ["smoke"], "duration_s": 3600}).raise_for_status()
    pages = [  # (name, hash, a selector that shows the page is there)
        ("overview", "#/overview", "#tree .bldg"),
        ("building", "#/overview?building=b1", "#tree .hh"),
        ("devices", "#/devices", "table.devices tbody tr"),
        ("device", "#/device/gas-101", ".device-charts canvas"),
        ("inbox", "#/inbox", "#inbox article.alert"),
        ("alert", f"#/alert/{alert_id}", "#notices li"),
        ("stats", "#/stats", "table.list tbody tr"),
        ("silences", "#/silences", "#silences article.silence"),
        ("users", "#/users", "#audit li"),
    ]
    driver = browser_factory()
    log_in(driver, service.api, "root")
    login_page = browser_factory()
    for size in SIZES:
        resize(driver, size)
        resize(login_page, size)
        for lang in ("zh", "en"):
            login_page.get(f"{service.api}/login")
            set_lang(login_page, lang)
            login_page.get(f"{service.api}/login")
            check_page(login_page, "login", size, lang, settle(login_page, "#login-form"))
            set_lang(driver, lang)
            driver.refresh()  # the app reads the language when it starts
            for name, route, ready in pages:
                driver.get(f"{service.api}/{route}")
                text = settle(driver, ready)
                assert driver.execute_script("return document.documentElement.lang") == ("zh-CN" if lang == "zh" else "en")
                check_page(driver, name, size, lang, text)
                if name == "device":
                    reading = driver.find_element(By.CSS_SELECTOR, ".fact-reading").text
                    assert reading.endswith("30 %LEL"), reading
                    levels = driver.find_element(By.CSS_SELECTOR, ".device-charts figcaption").text
                    assert "5 %LEL" in levels and "10 %LEL" in levels, levels  # the rule's warning and alarm levels
                if name in ("inbox", "alert"):
                    card = driver.find_element(By.CSS_SELECTOR, "article.alert .reading").text
                    assert "30 %LEL" in card, card
                if name == "alert":
                    notices = driver.find_element(By.ID, "notices").text
                    assert "张伟" in notices, notices  # the grid worker, by name
                    msgs = httpx.get(f"{service.api}/api/alerts/{alert_id}/messages", headers=ADMIN).json()["items"]
                    assert msgs and all(m["title"] and m["body"] for m in msgs)
                    assert any(m["recipient"] == "w-g1" and "30 %LEL" in m["body"] for m in msgs)
                if name == "users":
                    audit = driver.find_element(By.ID, "audit").text
                    assert "auth.login" not in audit and CATALOGUE[lang]["au_auth.login"] in audit
                if name == "silences":
                    card = driver.find_element(By.CSS_SELECTOR, "#silences article").text
                    assert "一号院 1号楼 1单元" in card and "b1-u1 " not in card


def test_the_wuyang_overview_is_a_few_screens_and_the_demo_users_page_explains_itself(broker, browser_factory, tmp_path):  # noqa: F811
    from selenium.webdriver.common.by import By

    with ServiceThread(data_dir=tmp_path / "data", mqtt=broker.url, mqtt_client_id="web-wuyang") as svc:
        summary = httpx.get(f"{svc.api}/api/places/summary").json()
        assert sum(c["households"] for c in summary["compounds"]) == 3592
        pub = Publisher(broker.host, broker.port, client_id="web-wuyang-pub")
        try:  # a leak in the demo's kitchen: its compound opens, its building is red
            pub.publish_all([("gridwatch/wuyang/c1-b01-u1-101-gas/state", {"lel_pct": 30.0, "ts": time.time()})])
        finally:
            pub.close()
        wait_for(lambda: httpx.get(f"{svc.api}/api/overview").json()["in_alarm"] == 1, what="the alarm")
        driver = browser_factory()
        heights, opened = {}, {}
        for size in SIZES:
            resize(driver, size)
            for lang in ("zh", "en"):
                driver.get(f"{svc.api}/")
                set_lang(driver, lang)
                driver.get(f"{svc.api}/#/overview")
                driver.refresh()
                text = settle(driver, "#tree .bldg")
                check_page(driver, "wuyang-overview", size, lang, text)
                assert len(driver.find_elements(By.CSS_SELECTOR, "#tree .bldg")) == 68
                red = driver.find_elements(By.CSS_SELECTOR, "#tree details[open] a.bldg.st-alarm")
                assert [e.get_attribute("data-building") for e in red] == ["c1-b01"]
                heights[size, lang] = driver.execute_script("return document.documentElement.scrollHeight")
                driver.execute_script("document.querySelectorAll('details.compound').forEach(d => { d.open = true; })")
                opened[size, lang] = driver.execute_script("return document.documentElement.scrollHeight")
                driver.find_element(By.ID, "place-search").send_keys("1号楼 101")
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#place-results a"), "search results")
                driver.find_elements(By.CSS_SELECTOR, "#place-results a")[0].click()
                wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#tree .hh.focus"), "the household")
                driver.get(f"{svc.api}/#/users")
                text = settle(driver, "#users-hint:not([hidden])")
                check_page(driver, "demo-users", size, lang, text)
        screens = {f"{s}-{lang}": round(v / SIZES[s][1], 2) for (s, lang), v in heights.items()}
        all_open = {f"{s}-{lang}": round(v / SIZES[s][1], 2) for (s, lang), v in opened.items()}
        print("Wuyang overview height in screens:", json.dumps(screens), "every compound open:", json.dumps(all_open))
        assert max(screens.values()) <= 2.5, screens
        assert max(all_open.values()) <= 5, all_open
