"""The FastAPI application factory: the API and the web pages.

Layer: adapters. ``create_app(ctx)`` builds the app for one running service;
the composition root serves it with uvicorn and calls :func:`shutdown` before
stopping it (that ends the pages' live-event streams). :func:`exposure_problem`
is the start-up check the command line runs before listening.

Every route needs a login except the liveness probe (``GET /api/live``), the
login itself, the login page, the API description and its docs pages (Swagger UI
at ``/docs``, ReDoc at ``/redoc``, their assets served by the service itself).
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api import errors, queries
from api.accounts import SESSION_COOKIE, Accounts
from api.context import ApiContext
from api.deps import auth_mode, is_loopback
from api.guard import Guard, guard_options
from api.live import EventHub, SharedDeviceStates
from api.routes import alerts, auth, devices, overview, statistics, system, users

WEB = Path(__file__).parent / "web"
DOCS = Path(__file__).parent / "docs"
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"

DESCRIPTION = """\
Hazard monitoring for grid-managed communities: devices, alerts, the handling
workflow, statistics, and the web pages (`/`).

**Access.** With no users and no `GRIDWATCH_ADMIN_TOKEN` the API is open, as the
admin, for the zero-setup demo, and only on 127.0.0.1 (the service refuses to
listen beyond loopback so). Otherwise everything except `GET /api/live` (a
liveness probe that says "ok") and `POST /api/auth/login` needs a session
(`POST /api/auth/login` sets an HttpOnly cookie) or a bearer token
(`GRIDWATCH_ADMIN_TOKEN`, or an API token from `POST /api/auth/tokens`).
Requests from other sites and unknown `Host` names are refused in every mode.

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
    app = FastAPI(title="GridWatch", version="0.2.0", description=DESCRIPTION,
                  docs_url=None, redoc_url=None)
    app.add_middleware(Guard, **guard_options(ctx.settings, WEB))
    app.state.ctx = ctx
    app.state.hub = EventHub()
    app.state.device_states = SharedDeviceStates(lambda: queries.all_device_states(ctx, ctx.clock()))
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
    _docs(app)
    return app


def exposure_problem(settings: Any, users: int) -> str | None:
    """Why the service must not start as configured, or None.

    Listening beyond loopback with neither users nor an admin token would open the
    whole API, residents' personal data with it, as the admin to the network.
    """
    if is_loopback(str(settings.host)) or users or settings.admin_token is not None:
        return None
    return (f"refusing to listen on {settings.host} with no users and no GRIDWATCH_ADMIN_TOKEN: "
            "everyone on the network would be the admin. Add a user (gridwatch user add NAME "
            "--role admin) or set GRIDWATCH_ADMIN_TOKEN, or listen on 127.0.0.1")


def _docs(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger() -> Response:
        return FileResponse(DOCS / "swagger.html")

    @app.get("/docs/init.js", include_in_schema=False)
    def swagger_init() -> Response:
        return FileResponse(DOCS / "swagger-init.js", media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> Response:
        return FileResponse(DOCS / "redoc.html")


def _pages(app: FastAPI, ctx: ApiContext) -> None:
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/login", include_in_schema=False)
    def login_page() -> Response:
        return FileResponse(WEB / "login.html", headers={"Cache-Control": "no-store"})

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        if auth_mode(ctx) != "open":
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
    states = getattr(state, "device_states", None)
    if isinstance(states, SharedDeviceStates):
        states.close()
    accounts = getattr(state, "accounts", None)
    if isinstance(accounts, Accounts):
        accounts.pool.close()  # the password-hashing threads
