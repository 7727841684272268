"""Push senders: one interface, an FCM implementation and a log implementation.

Every send answers one ``SendResult`` per push, in order, and never raises for a push that
failed; the outcome says what the caller should do next:

* ``DELIVERED``  - FCM accepted the message (``message_id`` is FCM's name for it).
* ``DEAD_TOKEN`` - the device token will never work again: disable the device.
* ``TRANSIENT``  - try again later, after ``retry_after`` seconds when FCM said so.
* ``FAILED``     - this message will never be accepted as built: do not retry it.
"""

from __future__ import annotations

import email.utils
import hashlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any, Protocol

import firebase_admin
from firebase_admin import _utils, credentials, exceptions, messaging
from google.auth import exceptions as google_auth_exceptions

from notifications import fcm_client

logger = logging.getLogger("rapport.notifications")

# FCM's own limit for one send_each call.
MAX_BATCH = 500
# APNs refuses an apns-collapse-id longer than this.
MAX_COLLAPSE_ID_BYTES = 64
# Details go to logs and to the database; FCM messages are short, a cause chain may not be.
MAX_DETAIL_CHARS = 300


class Outcome(StrEnum):
    DELIVERED = "DELIVERED"
    # UNREGISTERED, SENDER_ID_MISMATCH, an invalid registration token: disable the device.
    DEAD_TOKEN = "DEAD_TOKEN"  # noqa: S105 (an outcome, not a password)
    # UNAVAILABLE, INTERNAL, QUOTA_EXCEEDED, timeouts, connection and set-up errors: retry later.
    TRANSIENT = "TRANSIENT"
    # Will never succeed as sent, e.g. INVALID_ARGUMENT about the payload: do not retry.
    FAILED = "FAILED"


@dataclass(frozen=True)
class Push:
    token: str
    platform: str
    title: str
    body: str
    data: Mapping[str, str]
    collapse_key: str
    ttl_seconds: int


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    message_id: str | None = None
    error_code: str | None = None
    detail: str | None = None
    retry_after: float | None = None


# A 2xx answer without the message's name: nothing says the push arrived.
NAMELESS_ANSWER = SendResult(
    Outcome.TRANSIENT, error_code="NO_MESSAGE_NAME", detail="FCM answered without a message name"
)


class Sender(Protocol):
    async def send(self, pushes: Sequence[Push]) -> list[SendResult]: ...

    async def close(self) -> None: ...


def shorten_token(token: str) -> str:
    """Return enough of a device token to tell devices apart in logs."""
    return f"{token[:8]}…"


def hide_tokens(text: str, tokens: Iterable[str]) -> str:
    """Return ``text`` with each of ``tokens`` in it cut short, as logs may show them."""
    for token in tokens:
        if token and token in text:
            text = text.replace(token, shorten_token(token))
    return text


def make_collapse_id(key: str) -> str:
    """Return ``key`` if APNs accepts it as a collapse id, else a stable hash of it."""
    if len(key.encode()) <= MAX_COLLAPSE_ID_BYTES:
        return key
    return hashlib.sha256(key.encode()).hexdigest()


class LogSender:
    """Log each push instead of sending it: the default when no FCM credentials are set."""

    def __init__(self) -> None:
        self._count = itertools.count(1)

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        results = []
        for push in pushes:
            number = next(self._count)
            logger.info(
                "push logged, not sent: #%d to %s (%s) %r, collapse key %s",
                number,
                shorten_token(push.token),
                push.platform,
                push.title,
                push.collapse_key,
            )
            results.append(SendResult(Outcome.DELIVERED, message_id=f"logged:{number}"))
        return results

    async def close(self) -> None:
        return None


def build_message(push: Push, *, now: float) -> messaging.Message:
    """Build the FCM message for one push, with every platform's block filled in."""
    # FCM applies only the block for the token's platform, so all three are always sent: a
    # device whose recorded platform is wrong still gets a well-formed notification.
    collapse_id = make_collapse_id(push.collapse_key)
    ttl = max(push.ttl_seconds, 0)
    message = messaging.Message(
        # FCM refuses non-string data values; the planner's ids may arrive as UUIDs or ints.
        data={str(key): str(value) for key, value in push.data.items()},
        notification=messaging.Notification(title=push.title, body=push.body),
        android=messaging.AndroidConfig(collapse_key=collapse_id, priority="high", ttl=ttl),
        apns=messaging.APNSConfig(
            headers={
                "apns-collapse-id": collapse_id,
                "apns-expiration": str(int(now) + ttl),
                "apns-priority": "10",
            },
            payload=messaging.APNSPayload(
                aps=messaging.Aps(
                    alert=messaging.ApsAlert(title=push.title, body=push.body), sound="default"
                )
            ),
        ),
        webpush=messaging.WebpushConfig(headers={"TTL": str(ttl)}),
    )
    # firebase-admin 7.7 deprecates Message(token=...) for Firebase installation ids (fid), a
    # different kind of address; our devices register FCM registration tokens, which FCM v1
    # still takes as "token". Setting the attribute sends the same JSON without the warning.
    message.token = push.token
    return message


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


def read_fcm_error_code(exc: exceptions.FirebaseError) -> str | None:
    """Return FCM's errorCode from the error body, else the platform code (e.g. UNAVAILABLE)."""
    for detail in read_error_body(exc).get("details", []):
        if isinstance(detail, dict) and detail.get("errorCode"):
            return str(detail["errorCode"])
    code = exc.code
    return str(code) if code else None


def read_error_body(exc: exceptions.FirebaseError) -> dict[str, Any]:
    """Return the google.rpc.Status FCM answered with, or an empty dict."""
    response = exc.http_response
    if response is None:
        return {}
    try:
        body = json.loads(response.content)
    except (ValueError, TypeError, AttributeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def is_invalid_token(exc: exceptions.FirebaseError) -> bool:
    """Tell an INVALID_ARGUMENT about the registration token from one about the payload."""
    message = str(exc).lower()
    if "registration token" in message and ("not a valid" in message or "invalid" in message):
        return True
    # FCM may instead name the offending field in a google.rpc.BadRequest detail.
    for detail in read_error_body(exc).get("details", []):
        for violation in detail.get("fieldViolations", []) if isinstance(detail, dict) else []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    return False


# Errors that say the server's own set-up is wrong rather than this push: every push fails
# the same way until someone fixes the configuration, so they are retried, and logged loudly.
_SETUP_ERRORS = (
    messaging.ThirdPartyAuthError,
    exceptions.UnauthenticatedError,
    exceptions.PermissionDeniedError,
    exceptions.NotFoundError,
)
_TRANSIENT_ERRORS = (
    messaging.QuotaExceededError,
    exceptions.ResourceExhaustedError,
    exceptions.UnavailableError,
    exceptions.InternalError,
    exceptions.DeadlineExceededError,
    exceptions.AbortedError,
    exceptions.CancelledError,
    exceptions.UnknownError,
)


def classify_error(exc: exceptions.FirebaseError) -> Outcome:
    """Map one firebase-admin error to what the caller should do about it."""
    if isinstance(exc, messaging.UnregisteredError | messaging.SenderIdMismatchError):
        return Outcome.DEAD_TOKEN
    if isinstance(exc, exceptions.InvalidArgumentError):
        return Outcome.DEAD_TOKEN if is_invalid_token(exc) else Outcome.FAILED
    if isinstance(exc, (*_SETUP_ERRORS, *_TRANSIENT_ERRORS)):
        return Outcome.TRANSIENT
    # FAILED_PRECONDITION, OUT_OF_RANGE, ...: resending the same message cannot help.
    return Outcome.FAILED


def describe_error(exc: BaseException, token: str) -> str:
    """Return the error's message, shortened and without the device token in it."""
    detail = str(exc) or type(exc).__name__
    if token:
        detail = detail.replace(token, shorten_token(token))
    return detail[:MAX_DETAIL_CHARS]


def result_from_error(exc: exceptions.FirebaseError, push: Push, *, now: float) -> SendResult:
    """Turn firebase-admin's error for one push into that push's result."""
    response = exc.http_response
    headers = getattr(response, "headers", None)
    retry_after = parse_retry_after(headers.get("Retry-After") if headers else None, now=now)
    return SendResult(
        classify_error(exc),
        error_code=read_fcm_error_code(exc),
        detail=describe_error(exc, push.token),
        retry_after=retry_after,
    )


def log_setup_errors(results: Sequence[tuple[Push, SendResult, BaseException | None]]) -> None:
    """Say once per send, loudly, what to fix when FCM refuses our credentials or project."""
    setup = [
        (push, result, exc)
        for push, result, exc in results
        if exc is not None and isinstance(exc, _SETUP_ERRORS)
    ]
    if not setup:
        return
    push, result, exc = setup[0]
    if isinstance(exc, messaging.ThirdPartyAuthError):
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


class FcmSender:
    """Send pushes through Firebase Cloud Messaging with firebase-admin.

    ``credentials_file`` is a service account's JSON key; without it, application-default
    credentials are used. ``fcm_url`` replaces the send endpoint, ``{0}`` standing for the
    project id as in firebase-admin's own template, and ``token_url`` the key's OAuth2
    ``token_uri`` (both for emulators and tests). ``timeout_seconds`` bounds each wait for a
    connection, a read, a write or an access token; ``max_connections`` is how many requests
    are in flight at once (FCM v1 takes one message per request). Each sender owns a
    firebase_admin App of its own, deleted by ``close()``.
    """

    def __init__(
        self,
        *,
        project_id: str,
        credentials_file: str | None = None,
        fcm_url: str | None = None,
        token_url: str | None = None,
        timeout_seconds: float = 10.0,
        max_connections: int = fcm_client.MAX_CONNECTIONS,
        app_name: str | None = None,
    ) -> None:
        credential = load_credential(credentials_file, token_url)
        name = app_name or f"rapport-fcm-{project_id}-{uuid.uuid4().hex[:8]}"
        self._app = firebase_admin.initialize_app(
            credential, options={"projectId": project_id, "httpTimeout": timeout_seconds}, name=name
        )
        try:
            self._service = fcm_client.MessagingService(
                self._app, fcm_url, timeout_seconds, max_connections
            )
            # Registered under the SDK's own key, so messaging.send_each_async(app=...) uses it.
            _utils.get_app_service(
                self._app, messaging._MESSAGING_ATTRIBUTE, lambda _app: self._service
            )
        except BaseException:
            firebase_admin.delete_app(self._app)
            raise
        self._closed = False

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        """Send each push; answer one result per push, in the same order."""
        results: list[SendResult] = []
        for start in range(0, len(pushes), MAX_BATCH):
            results.extend(await self._send_chunk(pushes[start : start + MAX_BATCH]))
        return results

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._service.aclose()
        firebase_admin.delete_app(self._app)

    async def _send_chunk(self, pushes: Sequence[Push]) -> list[SendResult]:
        now = time.time()
        results: list[SendResult | None] = [None] * len(pushes)
        errors: list[tuple[Push, SendResult, BaseException | None]] = []
        messages, positions = [], []
        for position, push in enumerate(pushes):
            message = build_message(push, now=now)
            try:
                # The SDK validates while encoding, and one bad message would fail the batch.
                self._service.encode(message)
            except ValueError as exc:
                results[position] = SendResult(
                    Outcome.FAILED, error_code="INVALID_MESSAGE", detail=describe_error(exc, "")
                )
                continue
            messages.append(message)
            positions.append(position)

        if messages:
            sent = [pushes[position] for position in positions]
            answers = await self._send_messages(sent, messages, now=now)
            for position, push, (result, error) in zip(positions, sent, answers, strict=True):
                results[position] = result
                errors.append((push, result, error))
        log_setup_errors(errors)
        return [result for result in results if result is not None]

    async def _send_messages(
        self, pushes: Sequence[Push], messages: list[messaging.Message], *, now: float
    ) -> list[tuple[SendResult, BaseException | None]]:
        try:
            # A token that cannot be had fails the batch once, before any message is sent.
            await self._service.http.auth.ensure_token()
            batch = await messaging.send_each_async(messages, app=self._app)
        except (exceptions.FirebaseError, google_auth_exceptions.GoogleAuthError) as exc:
            # No access token, or (never seen) send_each_async failing as a whole: nothing says
            # which messages went, so all are retried; the collapse key hides any duplicate.
            logger.error("FCM batch of %d failed: %s", len(messages), describe_error(exc, ""))
            code = getattr(exc, "code", None) or type(exc).__name__
            return [
                (
                    SendResult(Outcome.TRANSIENT, error_code=code, detail=describe_error(exc, "")),
                    None,
                )
                for _push in pushes
            ]
        answers: list[tuple[SendResult, BaseException | None]] = []
        for push, response in zip(pushes, batch.responses, strict=True):
            if response.success:
                answers.append((SendResult(Outcome.DELIVERED, response.message_id), None))
            elif response.exception is None:
                # A 2xx without "name" (a proxy's answer, an FCM hiccup): firebase-admin calls
                # it neither a success nor an error. Nothing says it arrived: try again.
                answers.append((NAMELESS_ANSWER, None))
            else:
                answers.append(
                    (result_from_error(response.exception, push, now=now), response.exception)
                )
        return answers


def load_credential(credentials_file: str | None, token_url: str | None) -> Any:
    """Return a service account's credential, or application-default credentials."""
    if credentials_file is None:
        if token_url is not None:
            raise ValueError("token_url needs credentials_file: it replaces the file's token_uri")
        return credentials.ApplicationDefault()
    with open(credentials_file, encoding="utf-8") as file:
        info = json.load(file)
    if token_url is not None:
        info["token_uri"] = token_url
    return credentials.Certificate(info)
