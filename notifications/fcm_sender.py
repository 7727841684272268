"""Send pushes through Firebase Cloud Messaging (HTTP v1)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import google.auth
from google.auth import exceptions as google_auth_exceptions
from google.oauth2 import service_account

from notifications import fcm_client
from notifications.fcm_error import FcmError, describe_error, log_setup_errors
from notifications.fcm_message import encode_message
from notifications.sender import NAMELESS_ANSWER, Outcome, Push, SendResult

logger = logging.getLogger("rapport.notifications")


class FcmSender:
    """Send pushes through FCM, one request per push, many in flight.

    ``credentials_file`` is a service account's JSON key; without it, application-default
    credentials are used. ``fcm_url`` replaces the send endpoint, ``{0}`` standing for the
    project id, and ``token_url`` the key's OAuth2 ``token_uri`` (both for emulators and
    tests). ``timeout_seconds`` bounds each wait for a connection, a read, a write or an access
    token; ``max_connections`` is how many requests are in flight at once.
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
    ) -> None:
        self._client = fcm_client.FcmClient(
            load_credential(credentials_file, token_url),
            project_id,
            fcm_url=fcm_url,
            timeout=timeout_seconds,
            max_connections=max_connections,
        )

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        """Send each push; answer one result per push, in the same order."""
        now = time.time()
        bodies: list[dict[str, Any] | SendResult] = []
        for push in pushes:
            try:
                bodies.append(encode_message(push, now=now))
            except ValueError as exc:
                detail = describe_error(str(exc), "")
                bodies.append(
                    SendResult(Outcome.FAILED, error_code="INVALID_MESSAGE", detail=detail)
                )
        if not any(isinstance(body, dict) for body in bodies):
            return [body for body in bodies if isinstance(body, SendResult)]
        try:
            # A token that cannot be had fails the batch once, before any message is sent.
            await self._client.token.ensure()
        except google_auth_exceptions.GoogleAuthError as exc:
            # Nothing went: all are retried, with the worker's back-off.
            logger.error("FCM batch of %d failed: %s", len(pushes), describe_error(str(exc), ""))
            failed = SendResult(
                Outcome.TRANSIENT,
                error_code=type(exc).__name__,
                detail=describe_error(str(exc), ""),
            )
            return [body if isinstance(body, SendResult) else failed for body in bodies]
        answers = await asyncio.gather(
            *(self._send_one(push, body, now) for push, body in zip(pushes, bodies, strict=True))
        )
        log_setup_errors(
            [(push, result, error) for push, (result, error) in zip(pushes, answers, strict=True)]
        )
        return [result for result, _ in answers]

    async def _send_one(
        self, push: Push, body: dict[str, Any] | SendResult, now: float
    ) -> tuple[SendResult, FcmError | None]:
        if isinstance(body, SendResult):
            return body, None
        answer = await self._client.send(body, now=now)
        if isinstance(answer, FcmError):
            return answer.result(push), answer
        if answer is None:
            # A 2xx without "name" (a proxy's answer, an FCM hiccup): nothing says it arrived.
            return NAMELESS_ANSWER, None
        return SendResult(Outcome.DELIVERED, message_id=answer), None

    async def close(self) -> None:
        await self._client.aclose()


def load_credential(credentials_file: str | None, token_url: str | None) -> Any:
    """Return a service account's credential, or application-default credentials."""
    if credentials_file is None:
        if token_url is not None:
            raise ValueError("token_url needs credentials_file: it replaces the file's token_uri")
        credential, _project = google.auth.default(scopes=fcm_client.SCOPES)
        return credential
    with open(credentials_file, encoding="utf-8") as file:
        info = json.load(file)
    if token_url is not None:
        info["token_uri"] = token_url
    return service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
        info, scopes=fcm_client.SCOPES
    )
