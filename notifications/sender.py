"""Senders: how a push reaches a phone (placeholder until the FCM sender lands)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

log = logging.getLogger("rapport.notifications")


class Outcome(StrEnum):
    DELIVERED = "DELIVERED"
    DEAD_TOKEN = "DEAD_TOKEN"  # noqa: S105 - an outcome, not a secret
    TRANSIENT = "TRANSIENT"
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


class Sender(Protocol):
    async def send(self, pushes: Sequence[Push]) -> list[SendResult]: ...
    async def close(self) -> None: ...


class LogSender:
    """Logs each push instead of sending it."""

    def __init__(self) -> None:
        self.count = 0

    async def send(self, pushes: Sequence[Push]) -> list[SendResult]:
        results = []
        for push in pushes:
            self.count += 1
            log.info("push to %s…: %s [%s]", push.token[:8], push.title, push.collapse_key)
            results.append(SendResult(Outcome.DELIVERED, message_id=f"logged:{self.count}"))
        return results

    async def close(self) -> None:
        return None
