"""Push senders: one interface and a log implementation (FCM's is ``notifications.fcm_sender``).

Every send answers one ``SendResult`` per push, in order, and never raises for a push that
failed; the outcome says what the caller should do next:

* ``DELIVERED``  - FCM accepted the message (``message_id`` is FCM's name for it).
* ``DEAD_TOKEN`` - the device token will never work again: disable the device.
* ``TRANSIENT``  - try again later, after ``retry_after`` seconds when FCM said so.
* ``FAILED``     - this message will never be accepted as built: do not retry it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

logger = logging.getLogger("rapport.notifications")

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
