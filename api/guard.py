"""The HTTP guard in front of every route: Host check, cross-site check, body size
limit and security headers.

Layer: adapters (one pure-ASGI middleware; it never buffers a response, so the
live-event stream passes through untouched).

* **Host.** A request whose ``Host`` is not an allowed name answers 400: a page
  on another site that rebinds its DNS name to 127.0.0.1 cannot read the API.
  Allowed: 127.0.0.1, localhost, ::1, the listening address when it is a
  specific one, the host of ``--public-url``, and ``--allowed-hosts``.
* **Cross-site.** An unsafe method (POST, PUT, PATCH, DELETE) without a bearer
  token is refused (403) when the browser says it comes from another site
  (``Sec-Fetch-Site: cross-site`` or ``same-site``, or an ``Origin`` that is not
  this one, ``null`` included). Browsers send these on every cross-origin
  request, body or not; a client that sends none (curl, a script) is no browser
  carrying someone's cookie. Bearer tokens are never sent by a browser on its
  own, so they need no check.
* **Body size.** A declared ``Content-Length`` over the limit answers 413 before
  anything is read; a chunked body is counted as it arrives and cut off at the
  limit.
* **Headers.** Every answer carries a Content-Security-Policy (scripts and styles
  from this origin only), ``nosniff``, no framing, no referrer; pages and the API
  are not cached.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import BodyTooLarge, error_body

_UNSAFE = frozenset({b"POST", b"PUT", b"PATCH", b"DELETE"})
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
_ANY_ADDRESS = ("0.0.0.0", "::", "")  # noqa: S104 - names, not a bind

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def inline_script_hashes(pages: Iterable[Path]) -> list[str]:
    """CSP ``'sha256-...'`` sources of the inline ``<script>`` blocks of some pages, so
    a page that still has one works under ``script-src 'self'`` (none: nothing added)."""
    bodies = [body for page in pages for body in _INLINE_SCRIPT.findall(page.read_bytes())]
    return sorted({"'sha256-" + b64encode(hashlib.sha256(b).digest()).decode() + "'" for b in bodies})


def content_security_policy(script_hashes: Iterable[str] = (), *, inline_styles: bool = False) -> str:
    """The CSP of every answer; ``inline_styles`` for the ReDoc page only (it injects
    its own ``<style>`` elements)."""
    scripts = " ".join(["'self'", *script_hashes])
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return (f"default-src 'none'; script-src {scripts}; style-src {styles}; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def allowed_hosts(listen_host: str, public_url: str | None, extra: Iterable[str]) -> frozenset[str]:
    """Host names (without port, lower case) the API answers to."""
    names = {*_LOOPBACK_NAMES, *(h.lower() for h in extra)}
    if listen_host not in _ANY_ADDRESS:
        names.add(listen_host.strip("[]").lower())
    if public_url:
        host = urlsplit(public_url).hostname
        if host:
            names.add(host.lower())
    return frozenset(names)


def _host_name(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1:value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _authority(headers: dict[bytes, bytes]) -> str:
    """``host[:port]`` of the Host header, lower case, without a default port."""
    value = headers.get(b"host", b"").decode("latin-1").strip().lower()
    for default in (":80", ":443"):
        if value.endswith(default):
            return value[: -len(default)]
    return value


def _origin(value: str) -> str:
    """``host[:port]`` of an Origin header as :func:`_authority` spells it (``null``
    and garbage give a value no Host has)."""
    try:
        u = urlsplit(value.strip().lower())
        port = u.port
    except ValueError:
        return "\0"
    if not u.hostname:
        return "\0"
    host = f"[{u.hostname}]" if ":" in u.hostname else u.hostname
    default = {"http": 80, "https": 443}.get(u.scheme)
    return host if port in (None, default) else f"{host}:{port}"


class Guard:
    """The pure-ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, hosts: frozenset[str], max_body_bytes: int, csp: str,
                 csp_paths: dict[str, str] | None = None, https: bool = False) -> None:
        """Args: the app; allowed host names (``*`` allows any); the body limit;
        the CSP; per-path CSP overrides; send HSTS (the public URL is https)."""
        self.app = app
        self.hosts = hosts
        self.max_body = max_body_bytes
        self.csp = csp
        self.csp_paths = csp_paths or {}
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check, then pass the request on with headers added to the answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        problem = self._refuse(scope, headers)
        if problem is not None:
            await _answer(send, *problem, self._extra(scope))
            return
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _answer(send, 413, "request_too_large",
                          f"the request body is larger than {self.max_body} bytes", self._extra(scope))
            return
        await self.app(scope, self._limited(receive), self._with_headers(scope, send))

    def _refuse(self, scope: Scope, headers: dict[bytes, bytes]) -> tuple[int, str, str] | None:
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if "*" not in self.hosts and host not in self.hosts:
            return 400, "bad_host", "this Host is not served here (set --allowed-hosts)"
        if scope["method"].encode() in _UNSAFE and not headers.get(b"authorization", b"").startswith(b"Bearer "):
            site = headers.get(b"sec-fetch-site", b"").lower()
            origin = headers.get(b"origin")
            if site in (b"cross-site", b"same-site") or (
                    origin is not None and _origin(origin.decode("latin-1")) != _authority(headers)):
                return 403, "cross_site", "cross-site request refused"
        return None

    def _limited(self, receive: Receive) -> Receive:
        seen = 0
        limit = self.max_body

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        return wrapped

    def _extra(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        csp = self.csp_paths.get(scope["path"], self.csp)
        out = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
               (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
               (b"cross-origin-opener-policy", b"same-origin"),
               (b"cross-origin-resource-policy", b"same-origin"),
               (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()")]
        if self.https:
            out.append((b"strict-transport-security", b"max-age=31536000"))
        if not scope["path"].startswith("/static/"):
            out.append((b"cache-control", b"no-store"))
        return out

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        extra = self._extra(scope)

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k, v) for k, v in extra if k not in present)]}
            await send(message)

        return wrapped


async def _answer(send: Send, status: int, code: str, message: str,
                  extra: list[tuple[bytes, bytes]]) -> None:
    body = orjson.dumps(error_body(code, message))
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json"),
                                          (b"content-length", str(len(body)).encode()), *extra]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def guard_options(settings: Any, web: Path) -> dict[str, Any]:
    """The :class:`Guard` arguments for a service's settings and its pages."""
    hashes = inline_script_hashes(sorted(web.glob("*.html")))
    public = getattr(settings, "public_url", None)
    return {
        "hosts": allowed_hosts(str(settings.host), public, settings.host_list("allowed_hosts")),
        "max_body_bytes": int(settings.max_body_bytes),
        "csp": content_security_policy(hashes),
        "csp_paths": {"/redoc": content_security_policy(inline_styles=True)},
        "https": bool(public and str(public).startswith("https://")),
    }
