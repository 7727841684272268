"""FCM's answers that are not a delivery, as outcomes: dead token, retry later, or never.

FCM HTTP v1 answers an error with a ``google.rpc.Status`` (``error.status`` the canonical
code, ``error.details`` an ``FcmError`` with its own ``errorCode``); the classification is the
one firebase-admin's error classes gave: UNREGISTERED and SENDER_ID_MISMATCH are dead tokens,
so is an INVALID_ARGUMENT about the token (one about the payload is FAILED); quota, server and
network errors are TRANSIENT, and so are errors about our own set-up (credentials, project,
APNs key), which are logged loudly since every push fails alike until someone fixes them.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson

from notifications.sender import MAX_DETAIL_CHARS, Outcome, Push, SendResult, shorten_token

logger = logging.getLogger("rapport.notifications")

# The canonical code of an answer that names none, by HTTP status (as Google's clients do).
_CODE_OF_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "CONFLICT",
    412: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_DEAD_TOKEN_CODES = frozenset({"UNREGISTERED", "SENDER_ID_MISMATCH"})
# FCM's errorCodes for bad APNs or web-push credentials in the Firebase project.
THIRD_PARTY_AUTH_CODES = frozenset({"THIRD_PARTY_AUTH_ERROR", "APNS_AUTH_ERROR"})
# The server's own set-up is wrong rather than this push.
_SETUP_CODES = frozenset({"UNAUTHENTICATED", "PERMISSION_DENIED", "NOT_FOUND"})
_TRANSIENT_CODES = frozenset(
    {
        "QUOTA_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "UNAVAILABLE",
        "INTERNAL",
        "DEADLINE_EXCEEDED",
        "ABORTED",
        "CANCELLED",
        "UNKNOWN",
    }
)


@dataclass(frozen=True)
class FcmError:
    """One refused or failed send: FCM's canonical code, its errorCode, and what it said."""

    code: str
    message: str
    error_code: str | None = None
    status: dict[str, Any] | None = None
    retry_after: float | None = None

    @property
    def setup(self) -> bool:
        """Whether the error is about this server's set-up (logged loudly)."""
        if self.error_code in THIRD_PARTY_AUTH_CODES:
            return True
        return self.code in _SETUP_CODES and self.error_code not in _DEAD_TOKEN_CODES

    def outcome(self) -> Outcome:
        if self.error_code in _DEAD_TOKEN_CODES:
            return Outcome.DEAD_TOKEN
        if self.code == "INVALID_ARGUMENT":
            return Outcome.DEAD_TOKEN if self._names_the_token() else Outcome.FAILED
        if self.setup or self.code in _TRANSIENT_CODES or self.error_code in _TRANSIENT_CODES:
            return Outcome.TRANSIENT
        # FAILED_PRECONDITION, OUT_OF_RANGE, ...: resending the same message cannot help.
        return Outcome.FAILED

    def result(self, push: Push) -> SendResult:
        """This error as ``push``'s result, without the device token in its detail."""
        return SendResult(
            self.outcome(),
            error_code=self.error_code or self.code,
            detail=describe_error(self.message, push.token),
            retry_after=self.retry_after,
        )

    def _names_the_token(self) -> bool:
        """Tell an INVALID_ARGUMENT about the registration token from one about the payload."""
        message = self.message.lower()
        if "registration token" in message and ("not a valid" in message or "invalid" in message):
            return True
        # FCM may instead name the offending field in a google.rpc.BadRequest detail.
        for detail in _details(self.status):
            for violation in detail.get("fieldViolations", []):
                if isinstance(violation, dict) and violation.get("field") == "message.token":
                    return True
        return False


def error_from_answer(
    status: int, headers: dict[str, str], content: bytes, *, now: float
) -> FcmError:
    """Read FCM's error answer (any non-2xx) into an ``FcmError``."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    rpc_status = error if isinstance(error, dict) else None
    code = str((rpc_status or {}).get("status") or _CODE_OF_STATUS.get(status, "UNKNOWN"))
    shown = content[:200].decode(errors="replace")
    message = (rpc_status or {}).get("message") or (
        f"Unexpected HTTP response with status: {status}; body: {shown}"
    )
    error_code = next(
        (str(d["errorCode"]) for d in _details(rpc_status) if d.get("errorCode")), None
    )
    retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
    return FcmError(code, str(message), error_code, rpc_status, retry_after)


def _details(rpc_status: dict[str, Any] | None) -> list[dict[str, Any]]:
    details = (rpc_status or {}).get("details") or []
    return [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Return the seconds a Retry-After header asks for: delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now, 0.0)


def describe_error(message: str, token: str) -> str:
    """Return the error's message, shortened and without the device token in it."""
    if token:
        message = message.replace(token, shorten_token(token))
    return message[:MAX_DETAIL_CHARS]


def log_setup_errors(results: Sequence[tuple[Push, SendResult, FcmError | None]]) -> None:
    """Say once per send, loudly, what to fix when FCM refuses our credentials or project."""
    setup = [(push, result, e) for push, result, e in results if e is not None and e.setup]
    if not setup:
        return
    push, result, error = setup[0]
    if error.error_code in THIRD_PARTY_AUTH_CODES:
        advice = (
            "APNs or web-push credentials are missing or wrong in the Firebase project: upload a "
            "valid APNs auth key (.p8, key id, team id) under Project settings > Cloud Messaging; "
            "no iOS push will be delivered until then"
        )
    else:
        advice = (
            "FCM refused this server's credentials or project: check the service account "
            "(role Firebase Cloud Messaging API Admin), the project id and that the FCM v1 API "
            "is enabled"
        )
    logger.error(
        "FCM %s for %d of %d pushes (first: %s, %s): %s. %s",
        result.error_code,
        len(setup),
        len(results),
        shorten_token(push.token),
        push.platform,
        result.detail,
        advice,
    )
