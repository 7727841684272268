"""Requests refused before GraphQL runs, answered as GraphQL-shaped JSON errors.

Errors of HTTP itself (a body that is not a JSON object, a wrong content type or method, a
request too large, a path that names nothing) are ``{"errors": [{"message": …, "extensions":
{"code": …}}]}`` in the negotiated media type, never plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from api.media import JSON, choose_media_type

# extensions.code of each HTTP status Rapport answers with; others use the status's name.
CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_SERVER_ERROR",
}


class Refusal(Exception):
    """A request refused before GraphQL ran, answered with this status and message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


def error_response(
    status: int,
    message: str,
    *,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Answer ``status`` with a GraphQL-shaped JSON error."""
    code = CODES.get(status) or HTTPStatus(status).name
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=f"{media_type}; charset=utf-8",
    )


async def render_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's 404 and 405 (an unknown path, a method a route refuses), as JSON."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(
        exc.status_code,
        exc.detail,
        media_type=choose_media_type(request.headers.get("accept")),
        headers=exc.headers,
    )


async def render_server_error(request: Request, exc: Exception) -> Response:
    """A fault outside GraphQL, as JSON (Starlette logs it with its traceback)."""
    return error_response(
        500,
        "Something went wrong on our side; try again later.",
        media_type=choose_media_type(request.headers.get("accept")),
    )


EXCEPTION_HANDLERS = {StarletteHTTPException: render_http_exception, Exception: render_server_error}
