"""The FastAPI application factory.

Layer: adapters. ``create_app(ctx)`` builds the app for one running service;
the composition root serves it with uvicorn.
"""

from __future__ import annotations

from fastapi import FastAPI

from api import errors
from api.context import ApiContext
from api.routes import alerts, devices, system


def create_app(ctx: ApiContext) -> FastAPI:
    """The API for a running service."""
    app = FastAPI(
        title="GridWatch",
        version="0.1.0",
        description="Hazard monitoring for grid-managed communities: devices, alerts, workflow.",
    )
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(system.router)
    app.include_router(devices.router)
    app.include_router(alerts.router)
    if getattr(ctx.clock, "manual", False):
        app.include_router(system.clock_router)
    return app
