"""What a request must be before it is read: within the size limit, JSON when POSTed.

One size limit for everything a client sends: a body (413), checked against Content-Length
before reading and counted while a chunked body streams in, and the query string of a GET
(414). The WebSocket's messages are checked by the view's adapter (``api.transport``).

A multipart request (a file to import, by the GraphQL multipart request spec,
github.com/jaydenseric/graphql-multipart-request-spec) has a larger limit of its own
(RAPPORT_MAX_UPLOAD_BYTES), and needs a preflight header. A browser sends a multipart form to
any site without asking first, and with the user's cookies; a JSON body it may send only after a
CORS preflight. Rapport takes tokens from the Authorization header, never from cookies, but the
multipart door stays shut to pages that did not go through a preflight all the same: a multipart
request must carry one of Apollo's preflight headers, which no form can set (Apollo Server's
CSRF prevention does the same).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Message, Receive

from api.media import JSON
from api.refusal import Refusal

MULTIPART = "multipart/form-data"
# Either, non-empty; Apollo Client sends the second with every operation it names.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def is_upload(request: Request) -> bool:
    """Whether the request is a multipart POST (a file upload)."""
    name = request.headers.get("content-type", "").partition(";")[0]
    return request.method == "POST" and name.strip().lower() == MULTIPART


def limit_receive(receive: Receive, max_bytes: int, *, upload: bool = False) -> Receive:
    """Wrap ``receive`` so a body stops being read as soon as it passes ``max_bytes``."""
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise too_large(max_bytes, upload=upload)
        return message

    return receive_within_limit


def too_large(max_bytes: int, *, upload: bool = False) -> Refusal:
    """The refusal of a body (or, with ``upload``, a multipart upload) over ``max_bytes``."""
    if upload:
        return Refusal(
            413,
            f"The upload is larger than this server's limit of {max_bytes:,} bytes "
            "(RAPPORT_MAX_UPLOAD_BYTES); split the file and send the parts one by one.",
        )
    return Refusal(
        413,
        f"The request body is larger than this server's limit of {max_bytes:,} bytes; "
        "send a smaller request (split a large syncPush into several).",
    )


def check_size(request: Request, max_bytes: int, *, upload: bool = False) -> None:
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
        raise too_large(max_bytes, upload=upload)


def check_content_type(request: Request) -> None:
    """Refuse a POST whose body is neither UTF-8 JSON nor an upload after a preflight."""
    if is_upload(request):
        check_preflight(request)
        return
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


def check_preflight(request: Request) -> None:
    """Refuse a multipart request that carries no preflight header (see the module's text)."""
    if any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return
    raise Refusal(
        400,
        "A multipart request needs a preflight header, so that no web page can send one "
        "unasked: add 'Apollo-Require-Preflight: true' (or a non-empty "
        "'X-Apollo-Operation-Name').",
    )
