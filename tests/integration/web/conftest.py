"""A running GridWatch with one user per role, on a real Mosquitto, for the web tests.

Layer: test support. The tiny site gets a second property company (pc2 serves
building b2) so property scopes differ from grid scopes; passwords are
``pw-<login>-123``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from store.users import hash_password
from tests.integration.harness import ServiceThread, write_site
from tests.servers import MosquittoServer
from tests.sites import tiny_site

ADMIN_TOKEN = "web-admin-token-0123456789abcdefgh"
# login → (role in the site, what it is)
LOGINS = {
    "wang": "leader (community head w-head)",
    "zhangwei": "grid worker of g1 (w-g1)",
    "liuyang": "grid worker of g2 (w-g2)",
    "chen": "property manager of pc1 (w-pm): building b1",
    "fix": "maintenance of pc1",
    "r101": "resident of b1-u1-101",
    "root": "admin",
}
_HASH = {}


def password(login: str) -> str:
    return f"pw-{login}-123"


def _hash(login: str) -> str:
    if login not in _HASH:
        _HASH[login] = hash_password(password(login))
    return _HASH[login]


def web_site() -> dict[str, Any]:
    """The tiny site with logins on workers and a ``users:`` section."""
    site = copy.deepcopy(tiny_site())
    logins = {"w-head": "wang", "w-g1": "zhangwei", "w-g2": "liuyang", "w-pm": "chen"}
    for w in site["workers"]:
        if w["id"] in logins:
            w["login"] = logins[w["id"]]
    site["workers"].append({"id": "w-pm2", "name": "周经理", "role": "property_manager"})
    site["property_companies"].append({"id": "pc2", "name": "宜家物业", "staff": ["w-pm2"]})
    site["buildings"][1]["property_company"] = "pc2"
    # the browser test clears a gas alarm at once instead of after 5 minutes of clean air
    site["rules"] = {"devices": {"gas-101": {"gas_clear_hold_s": 0}}}
    site["users"] = [
        {"login": "root", "name": "管理员", "role": "admin", "password_hash": _hash("root")},
        {"login": "fix", "name": "维修工", "role": "maintenance", "property_company": "pc1",
         "password_hash": _hash("fix")},
        {"login": "r101", "name": "101住户", "role": "resident", "household": "b1-u1-101",
         "password_hash": _hash("r101")},
    ]
    return site


def set_worker_passwords(svc: ServiceThread) -> None:
    """Workers seeded from the site have no password until one is set."""
    assert svc.rt is not None
    for login in ("wang", "zhangwei", "liuyang", "chen"):
        svc.rt.users.set_password(login, password(login), now=0.0)


def login(api: str, who: str) -> httpx.Client:
    """An HTTP client holding ``who``'s session cookie (close it)."""
    client = httpx.Client(base_url=api, timeout=10)
    r = client.post("/api/auth/login", json={"login": who, "password": password(who)})
    if r.status_code != 200:
        client.close()
        raise AssertionError(f"login {who}: {r.status_code} {r.text}")
    return client


@pytest.fixture(scope="package")
def broker() -> Iterator[MosquittoServer]:
    with MosquittoServer() as b:
        yield b


@pytest.fixture(scope="module")
def service(broker, tmp_path_factory) -> Iterator[ServiceThread]:
    tmp = tmp_path_factory.mktemp("web")
    site = write_site(tmp / "site.yaml", web_site())
    with ServiceThread(site=site, data_dir=tmp / "data", mqtt=broker.url, admin_token=ADMIN_TOKEN,
                       mqtt_client_id=f"web-{tmp.name}") as svc:
        set_worker_passwords(svc)
        yield svc


@pytest.fixture(scope="module")
def clients(service) -> Iterator[dict[str, httpx.Client]]:
    """A logged-in client per login."""
    out = {who: login(service.api, who) for who in LOGINS}
    try:
        yield out
    finally:
        for c in out.values():
            c.close()
