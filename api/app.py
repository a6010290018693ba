"""The FastAPI application factory: the API and the web pages.

Layer: adapters. ``create_app(ctx)`` builds the app for one running service;
the composition root serves it with uvicorn and calls :func:`shutdown` before
stopping it (that ends the pages' live-event streams).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api import errors
from api.accounts import SESSION_COOKIE, Accounts
from api.context import ApiContext
from api.deps import auth_mode
from api.live import EventHub
from api.routes import alerts, auth, devices, overview, statistics, system, users

WEB = Path(__file__).parent / "web"

DESCRIPTION = """\
Hazard monitoring for grid-managed communities: devices, alerts, the handling
workflow, statistics, and the web pages (`/`).

**Access.** With no users and no `GRIDWATCH_ADMIN_TOKEN` the API is open, as the
admin, for the zero-setup demo on 127.0.0.1. With only the admin token, reads are
open (without residents' personal data) and changes need
`Authorization: Bearer <GRIDWATCH_ADMIN_TOKEN>`. Once users exist (`gridwatch user
add`, or `login:` in the site file) everything except `/api/health` and the login
page needs a session (`POST /api/auth/login` sets an HttpOnly cookie) or a bearer
token (the admin token, or an API token from `POST /api/auth/tokens`).

**Places.** Every list and every object is limited to the caller's places: admin
and community leaders everything; grid workers their grids; property managers and
maintenance staff their company's buildings; residents their own household
(read-only). Outside them an object answers 404. Elderly-alone flags and emergency
contacts are shown only to those responsible for the household.

**Errors** all have one shape: `{"error": {"code", "message", "details"}}`.
**Lists** take `limit` and `offset` and answer `{"items", "total", "limit", "offset"}`.
"""

# Routers other parts of the service add; included when present.
_OPTIONAL_ROUTERS = ("api.routes.reports", "api.routes.silences", "api.routes.notifications", "api.routes.modes")


def create_app(ctx: ApiContext) -> FastAPI:
    """The API and pages for a running service."""
    app = FastAPI(title="GridWatch", version="0.2.0", description=DESCRIPTION)
    app.state.ctx = ctx
    app.state.hub = EventHub()
    app.state.accounts = Accounts(ctx.users, ctx.state)
    ctx.alerts.subscribe(app.state.hub.publish)
    errors.install(app)
    for r in (system.router, auth.router, devices.router, alerts.router, overview.router,
              statistics.router, users.router):
        app.include_router(r)
    for name in _OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        app.include_router(module.router)
    if getattr(ctx.clock, "manual", False):
        app.include_router(system.clock_router)
    _pages(app, ctx)
    return app


def _pages(app: FastAPI, ctx: ApiContext) -> None:
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/login", include_in_schema=False)
    def login_page() -> Response:
        return FileResponse(WEB / "login.html", headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        if auth_mode(ctx) == "users":
            token = request.cookies.get(SESSION_COOKIE)
            if not token or ctx.users.resolve(token, now=time.time()) is None:
                return RedirectResponse("/login", status_code=303)
        return FileResponse(WEB / "index.html", headers={"Cache-Control": "no-store"})


def shutdown(app: object) -> None:
    """End the live-event streams so the server can stop (call before stopping it)."""
    state = getattr(app, "state", None)
    hub = getattr(state, "hub", None)
    if isinstance(hub, EventHub):
        hub.close()
