"""Issue 14's doors, one regression test each, on a real service: cross-site and
``Host`` checks in the open demo, body limits, security headers, the docs served
offline, who may start where, user changes taking effect at once (from another
process), the last admin, tokens revoked on a new password, proxies trusted only
when configured.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.integration.harness import ROOT, Publisher, ServiceThread, wait_for, write_site
from tests.integration.web.conftest import password, web_site
from tests.sites import tiny_site

pytestmark = pytest.mark.integration

EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}


def gridwatch(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "gridwatch.cli", *args], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})}, input=stdin, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def demo(broker, tmp_path_factory):
    """The open demo: no users, no admin token, on 127.0.0.1."""
    tmp = tmp_path_factory.mktemp("demo")
    site = write_site(tmp / "site.yaml", tiny_site())
    with ServiceThread(site=site, data_dir=tmp / "data", mqtt=broker.url, mqtt_client_id=f"demo-{tmp.name}",
                       allowed_hosts="gridwatch.example") as svc:
        yield svc


@pytest.fixture(scope="module")
def water_alert(demo, broker):
    pub = Publisher(broker.host, broker.port, client_id="guard-pub")
    try:
        pub.publish_all([("gridwatch/tiny/water-101/state", {"water_leak": True, "ts": time.time(), "seq": 1})])
    finally:
        pub.close()
    return wait_for(lambda: httpx.get(f"{demo.api}/api/alerts", params={"device": "water-101"}).json()["items"],
                    what="the water alert")[0]


def test_a_bodyless_cross_site_post_cannot_act_in_the_open_demo(demo, water_alert):
    url = f"{demo.api}/api/alerts/{water_alert['id']}/ack"
    other_port = {"Origin": "http://127.0.0.1:1"}  # another local service: same host, other origin
    for headers in (EVIL, other_port, {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"}, {"Sec-Fetch-Site": "same-site", "Origin": f"http://127.0.0.1:{demo.settings.port}"}):
        r = httpx.post(url, headers=headers)  # no body: a plain HTML form or fetch with no-cors
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site", headers
    assert httpx.get(f"{demo.api}/api/alerts/{water_alert['id']}").json()["status"] == "raised"
    # the page's own request (same origin) and a script without browser headers pass
    same = {"Origin": demo.api, "Sec-Fetch-Site": "same-origin"}
    r = httpx.post(url, headers=same, json={"note": "on my way"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"


def test_a_foreign_host_is_refused_and_a_configured_one_served(demo):
    """A DNS-rebinding page reaches 127.0.0.1 with its own name in Host."""
    r = httpx.get(f"{demo.api}/api/devices", headers={"Host": "rebind.attacker.example"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host"
    assert httpx.get(f"{demo.api}/api/devices", headers={"Host": "gridwatch.example"}).status_code == 200
    assert httpx.get(f"{demo.api}/api/devices", headers={"Host": "localhost:1234"}).status_code == 200
    assert httpx.get(f"{demo.api}/", headers={"Host": "rebind.attacker.example"}).status_code == 400


def test_bodies_over_the_limit_are_refused_unread(demo):
    limit = demo.settings.max_body_bytes
    big = b"x" * (limit + 1)
    r = httpx.post(f"{demo.api}/api/auth/login", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    r = httpx.post(f"{demo.api}/api/reports", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert httpx.get(f"{demo.api}/api/live").status_code == 200


def test_every_answer_carries_the_security_headers(demo):
    for path in ("/", "/login", "/api/live", "/api/devices", "/static/app.css", "/docs", "/nope"):
        r = httpx.get(f"{demo.api}{path}")
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp.split("style-src")[0], path  # never for scripts
        assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert httpx.get(f"{demo.api}/api/devices").headers["cache-control"] == "no-store"


def test_the_pages_need_no_inline_script_beyond_what_the_csp_names(demo):
    """Each inline <script> of a page is allowed by its hash, nothing more (none once
    the pages load only files)."""
    import base64  # noqa: PLC0415
    import hashlib  # noqa: PLC0415
    import re  # noqa: PLC0415

    csp = httpx.get(f"{demo.api}/login").headers["content-security-policy"]
    script_src = csp.split("script-src ")[1].split(";")[0].split()
    for page in ("/", "/login"):
        html = httpx.get(f"{demo.api}{page}", follow_redirects=False).content
        for body in re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S):
            digest = "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
            assert digest in script_src
        assert b" style=" not in html and b"<style" not in html
        assert not re.search(rb"\son[a-z]+=", html), "inline event handlers break under the CSP"


def test_api_docs_are_served_by_the_service_itself(demo):
    for path in ("/docs", "/redoc"):
        html = httpx.get(f"{demo.api}{path}").text
        assert "cdn" not in html.lower() and "https://" not in html and "http://" not in html
        for src in [s.split('"')[1] for s in html.split("src=")[1:]]:
            r = httpx.get(f"{demo.api}{src}")
            assert r.status_code == 200 and len(r.content) > 100, src
    assert httpx.get(f"{demo.api}/docs-assets/swagger-ui.css").status_code == 200
    assert "'unsafe-inline'" in httpx.get(f"{demo.api}/redoc").headers["content-security-policy"]


def test_no_open_admin_beyond_loopback(broker, tmp_path):
    site = write_site(tmp_path / "site.yaml", tiny_site())
    args = ("run", "--site", str(site), "--data-dir", str(tmp_path / "data"), "--mqtt", broker.url,
            "--host", "0.0.0.0", "--port", "1", "--no-console")  # noqa: S104 - what is refused
    p = gridwatch(*args, env={"GRIDWATCH_ADMIN_TOKEN": ""})
    assert p.returncode == 2 and "refusing to listen on 0.0.0.0" in p.stderr, p.stderr[-2000:]
    weak = gridwatch(*args, env={"GRIDWATCH_ADMIN_TOKEN": "a"})
    assert weak.returncode == 2 and "too short" in weak.stderr
    repeated = gridwatch(*args, env={"GRIDWATCH_ADMIN_TOKEN": "ab" * 20})
    assert repeated.returncode == 2 and "predictable" in repeated.stderr


def test_a_user_added_from_the_command_line_closes_the_running_demo_at_once(broker, tmp_path):
    site = write_site(tmp_path / "site.yaml", tiny_site())
    data = tmp_path / "data"
    with ServiceThread(site=site, data_dir=data, mqtt=broker.url, mqtt_client_id="guard-live-users") as svc:
        assert httpx.get(f"{svc.api}/api/devices").status_code == 200  # the open demo
        common = gridwatch("user", "add", "boss", "--role", "admin", "--password-stdin", "--data-dir", str(data),
                           stdin="password\n")
        assert common.returncode != 0 and "common" in common.stderr + common.stdout
        p = gridwatch("user", "add", "boss", "--role", "admin", "--password-stdin", "--data-dir", str(data),
                      stdin="an admin passphrase 7\n")
        assert p.returncode == 0, p.stderr
        assert httpx.get(f"{svc.api}/api/devices").status_code == 401  # no restart
        # the last admin stays, by the command line and by the API
        for cmd in (("user", "delete", "boss"), ("user", "disable", "boss")):
            q = gridwatch(*cmd, "--data-dir", str(data))
            assert q.returncode == 1 and "last admin" in q.stderr, q.stderr
        with httpx.Client(base_url=svc.api) as c:
            assert c.post("/api/auth/login", json={"login": "boss", "password": "an admin passphrase 7"}).status_code == 200
            assert c.delete("/api/users/boss").json()["error"]["code"] == "last_admin"
            r = c.put("/api/users/boss", json={"role": "leader"})
            assert r.status_code == 409
            assert c.put("/api/users/boss", json={"disabled": True}).status_code == 409
            assert c.put("/api/users/deputy", json={"role": "admin", "password": "password1"}).status_code == 422
            assert c.put("/api/users/deputy", json={"role": "admin", "password": "deputy passphrase 9"}).status_code == 200
            assert c.delete("/api/users/boss").status_code == 200  # another admin exists now


def test_a_new_password_revokes_api_tokens(broker, tmp_path):
    site = write_site(tmp_path / "site.yaml", web_site())
    with ServiceThread(site=site, data_dir=tmp_path / "data", mqtt=broker.url,
                       mqtt_client_id="guard-tokens") as svc, httpx.Client(base_url=svc.api) as root:
        assert root.post("/api/auth/login", json={"login": "root", "password": password("root")}).status_code == 200
        made = root.post("/api/auth/tokens", json={"label": "bot"}).json()
        bearer = {"Authorization": f"Bearer {made['token']}"}
        assert httpx.get(f"{svc.api}/api/devices", headers=bearer).status_code == 200
        assert root.put("/api/users/root", json={"password": "a brand new passphrase"}).status_code == 200
        assert httpx.get(f"{svc.api}/api/devices", headers=bearer).status_code == 401
        assert root.get("/api/auth/me").status_code == 401  # the session too


def test_forwarded_headers_count_only_from_trusted_proxies(broker, tmp_path):
    """X-Forwarded-For/-Proto from 127.0.0.1 are ignored unless 127.0.0.1 is a trusted
    proxy: the throttling key, the audit row and the cookie's Secure flag follow."""
    site = write_site(tmp_path / "site.yaml", web_site())
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for trusted, client in (("", "127.0.0.1"), ("127.0.0.1/32", "203.0.113.9")):
        with ServiceThread(site=site, data_dir=tmp_path / f"data{len(trusted)}", mqtt=broker.url,
                           mqtt_client_id=f"guard-proxy-{len(trusted)}", trusted_proxies=trusted) as svc:
            r = httpx.post(f"{svc.api}/api/auth/login", headers=forged,
                           json={"login": "root", "password": password("root")})
            assert r.status_code == 200
            assert ("secure" in r.headers["set-cookie"].lower()) == bool(trusted)
            assert svc.rt is not None
            audit = svc.rt.state.list_audit(limit=5, action="auth.login")
            assert audit[0]["detail"]["client"] == client


def _half_open(port: int, n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finished
        out.append(s)
    return out


def test_half_open_connections_do_not_stop_the_api(broker, tmp_path):
    """Five times the connection cap of half-open requests: the API still answers, and
    the service holds at most the cap (the oldest waiting ones are dropped, the rest
    time out)."""
    site = write_site(tmp_path / "site.yaml", tiny_site())
    cap = 40
    with ServiceThread(site=site, data_dir=tmp_path / "data", mqtt=broker.url, mqtt_client_id="guard-slow",
                       http_max_connections=cap, http_header_timeout_s=1.0) as svc:
        socks = _half_open(svc.settings.port, cap * 5)
        try:
            r = httpx.get(f"{svc.api}/api/live", timeout=10)
            assert r.status_code == 200
            assert svc.rt is not None and svc.rt._server is not None  # noqa: SLF001 - the server's own count
            assert len(svc.rt._server.server_state.connections) <= cap  # noqa: SLF001
            wait_for(lambda: len(svc.rt._server.server_state.connections) == 0, 10,  # noqa: SLF001
                     "the header deadline to close the rest")
        finally:
            for s in socks:
                s.close()


def test_history_requests_are_bounded(demo):
    url = f"{demo.api}/api/devices/gas-101/readings"
    for params in ({"every_s": "1e-320"}, {"every_s": "0.5"}, {"start": "0", "end": "1e12"},
                   {"start": "0", "end": str(300 * 86400), "every_s": "60"}):
        r = httpx.get(url, params=params)
        assert r.status_code == 422, (params, r.text)
    assert httpx.get(url, params={"every_s": "60"}).status_code == 200
    assert httpx.get(url, params={"start": "0", "end": str(100 * 86400), "every_s": "86.4"}).status_code == 200
