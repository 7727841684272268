"""What a request must be before it is read: within the size limit, JSON when POSTed.

One size limit for everything a client sends: a body (413), checked against Content-Length
before reading and counted while a chunked body streams in, and the query string of a GET
(414). The WebSocket's messages are checked by the view's adapter (``api.transport``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message, Receive

from api.media import JSON
from api.refusal import Refusal


def limit_receive(receive: Receive, max_bytes: int) -> Receive:
    """Wrap ``receive`` so a body stops being read as soon as it passes ``max_bytes``."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise too_large(max_bytes)
        return message

    return receive_within_limit


def too_large(max_bytes: int) -> Refusal:
    """The refusal of a body over ``max_bytes``."""
    return Refusal(
        413,
        f"The request body is larger than this server's limit of {max_bytes:,} bytes; "
        "send a smaller request (split a large syncPush into several).",
    )


def check_size(request: Request, max_bytes: int) -> None:
    """Refuse a query string or a declared body over ``max_bytes``, before reading either."""
    if len(request.scope["query_string"]) > max_bytes:
        raise Refusal(
            414,
            f"The query string is longer than this server's limit of {max_bytes:,} bytes; "
            "send the operation in a POST body.",
        )
    length = request.headers.get("content-length")
    if length is None:
        return  # chunked: counted as it arrives
    if not length.isdigit():
        raise Refusal(400, "Content-Length must be a number of bytes.")
    if int(length) > max_bytes:
        raise too_large(max_bytes)


def check_content_type(request: Request) -> None:
    """Refuse a POST whose body is not declared as UTF-8 JSON."""
    name, _, params = request.headers.get("content-type", "").partition(";")
    charset = next(
        (
            value.strip().strip('"').lower()
            for key, _, value in (p.partition("=") for p in params.split(";"))
            if key.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if name.strip().lower() != JSON or charset != "utf-8":
        raise Refusal(
            415,
            'Send the operation as a JSON object ({"query": …, "variables": …}) with '
            "Content-Type: application/json (UTF-8).",
            {"accept-post": JSON},
        )
