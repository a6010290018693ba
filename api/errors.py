"""One error shape for every API error: ``{"error": {"code", "message", "details"}}``.

Layer: adapters.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from alerts.lifecycle import LifecycleError
from sensors.errors import AlarmStoreBusy

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "request_too_large",
          415: "unsupported_media_type", 422: "invalid_request", 429: "too_many_requests", 503: "busy"}


class ErrorDetail(BaseModel):
    """The inside of every error answer."""

    code: str = Field(examples=["not_found"], description="Machine-readable: bad_request, unauthorized, "
                      "forbidden, not_found, conflict, invalid_request, too_many_requests, internal_error")
    message: str = Field(examples=["no alert 42"], description="For a person")
    details: Any = Field(default=None, description="Field errors, retry_after_s, ...")


class ErrorBody(BaseModel):
    """Every error answer of the API has this shape."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses (one shared model)."""
    return {s: {"model": ErrorBody, "description": _CODES.get(s, "error").replace("_", " ")}
            for s in statuses}


class ApiError(Exception):
    """An error a route raises on purpose."""

    def __init__(self, status: int, message: str, *, code: str | None = None, details: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        """Args: HTTP status, message for a person, machine code, details, response headers."""
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details


class BodyTooLarge(StarletteHTTPException):  # noqa: N818 - it is what happened
    """A streamed request body went past the limit (:mod:`api.guard` counts it; an
    HTTP exception so that FastAPI's body reader passes it on as a 413)."""

    def __init__(self, limit: int) -> None:
        """Args: the limit in bytes."""
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body of an error."""
    return {"error": {"code": code, "message": message, "details": details}}


def install(app: FastAPI) -> None:
    """Route every error through the one shape."""

    @app.exception_handler(ApiError)
    async def _api(_r: Request, exc: ApiError) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status == 429 and isinstance(exc.details, dict) and "retry_after_s" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after_s"])
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status,
                            headers=headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse(error_body("invalid_request", "the request is not valid", details),
                            status_code=422)

    @app.exception_handler(AlarmStoreBusy)
    async def _busy(_r: Request, exc: AlarmStoreBusy) -> JSONResponse:
        return JSONResponse(error_body("alarm_store_busy", str(exc)), status_code=503,
                            headers={"Retry-After": "5"})

    @app.exception_handler(LifecycleError)
    async def _lifecycle(_r: Request, exc: LifecycleError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, str(exc)), status_code=409)

    @app.exception_handler(Exception)
    async def _crash(_r: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled API error", exc_info=exc)
        return JSONResponse(error_body("internal_error", "internal error"), status_code=500)
