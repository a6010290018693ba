"""What the API is served with (api.server): limits and proxy trust."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.server import BoundedH11Protocol, default_max_connections, server_options, trusted_proxies


def settings(**kw):
    base = {"http_max_connections": 0, "http_header_timeout_s": 10.0, "trusted_proxies": ""}
    base.update(kw)
    ns = SimpleNamespace(**base)
    ns.host_list = lambda field: [x.strip() for x in getattr(ns, field).split(",") if x.strip()]
    return ns


def test_no_proxy_is_trusted_unless_named():
    opts = server_options(settings())
    assert opts["proxy_headers"] is False and opts["forwarded_allow_ips"] == ""
    named = server_options(settings(trusted_proxies="10.0.0.0/8, 127.0.0.1"))
    assert named["proxy_headers"] is True and named["forwarded_allow_ips"] == ["10.0.0.0/8", "127.0.0.1"]
    with pytest.raises(ValueError, match="not an address"):
        trusted_proxies(["proxy.example"])


def test_connections_headers_and_idle_time_are_bounded():
    opts = server_options(settings(http_max_connections=40, http_header_timeout_s=2.0))
    proto = opts["http"]
    assert issubclass(proto, BoundedH11Protocol)
    assert proto.max_connections == 40 and proto.header_timeout_s == 2.0
    assert opts["limit_concurrency"] == 41 and opts["timeout_keep_alive"] == 5
    assert opts["h11_max_incomplete_event_size"] == 16 * 1024
    auto = server_options(settings())["http"].max_connections
    assert auto == default_max_connections() and 16 <= auto <= 1024
