"""Uploads: GraphQL multipart requests (github.com/jaydenseric/graphql-multipart-request-spec).

A browser sends a multipart form to any site without asking first, and with the user's
cookies; a JSON body it may send only after a CORS preflight. Rapport takes tokens from the
Authorization header, never from cookies, but the multipart door stays shut to pages that did
not go through a preflight all the same: a multipart request must carry one of Apollo's
preflight headers, which no form can set (Apollo Server's CSRF prevention does the same).
Multipart bodies have a limit of their own (RAPPORT_MAX_UPLOAD_BYTES), larger than JSON's.
"""

from __future__ import annotations

from starlette.requests import Request

MULTIPART = "multipart/form-data"
# Either, non-empty; Apollo Client sends the second with every operation it names.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def is_multipart(request: Request) -> bool:
    name = request.headers.get("content-type", "").partition(";")[0]
    return name.strip().lower() == MULTIPART


def missing_preflight(request: Request) -> str | None:
    """Return why a multipart request is refused, or None when it may go on."""
    if any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        return None
    return (
        "A multipart request needs a preflight header, so that no web page can send one "
        "unasked: add 'Apollo-Require-Preflight: true' (or a non-empty "
        "'X-Apollo-Operation-Name')."
    )


def too_large_message(max_bytes: int) -> str:
    return (
        f"The upload is larger than this server's limit of {max_bytes:,} bytes "
        "(RAPPORT_MAX_UPLOAD_BYTES); split the file and send the parts one by one."
    )
