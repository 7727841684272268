"""The media type of an answer, negotiated from the request's Accept header."""

from __future__ import annotations

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def choose_media_type(accept: str | None) -> str:
    """Pick the response's media type from an Accept header (application/json unless asked)."""
    if not accept:
        return JSON
    graphql_response = 0.0
    exact_json: float | None = None
    wildcard = 0.0
    for media_range in accept.split(","):
        name, _, params = media_range.partition(";")
        name = name.strip().lower()
        quality = _quality(params)
        if name == GRAPHQL_RESPONSE_JSON:
            graphql_response = max(graphql_response, quality)
        elif name == JSON:
            exact_json = max(exact_json or 0.0, quality)
        elif name in ("*/*", "application/*"):
            wildcard = max(wildcard, quality)
    json_quality = exact_json if exact_json is not None else wildcard
    # The newer type on a tie (Apollo Client sends both); a client that accepts neither gets
    # JSON rather than a 406, as older clients did.
    if graphql_response > 0 and graphql_response >= json_quality:
        return GRAPHQL_RESPONSE_JSON
    return JSON


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 1.0
    return 1.0
