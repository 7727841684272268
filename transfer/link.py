"""Short-lived signed links to an owner's export, signed with the server's secret key.

The link is the credential (a browser or a phone's download manager fetches it without the
access token), so it names its owner and its end, signed with itsdangerous under a salt of
its own: a token of another kind never passes for a link, nor a link for a token.

A link carries an id of its own (a download records it, so a link works once: api/export.py)
and the sign-in session that asked for it, if any (signing that session out ends the link).
Firebase sign-ins have no session here: their links end with their time only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from itsdangerous import BadSignature, URLSafeSerializer

from model.clock import Clock

SALT = "rapport.export-link"
PATH = "/export/"
DEFAULT_TTL = timedelta(minutes=10)


class InvalidLink(Exception):
    """The link was not made by this server (or was changed)."""


class ExpiredLink(Exception):
    """The link was made here but its time is up."""


@dataclass(frozen=True)
class Grant:
    """What a valid link allows: one download of ``owner_id``'s export."""

    owner_id: UUID
    link_id: UUID
    session_id: UUID | None
    expires_at: datetime


class ExportLinks:
    def __init__(self, secret: str, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._clock = clock
        self.ttl = ttl

    def issue(self, owner_id: UUID, session_id: UUID | None) -> tuple[str, datetime]:
        """Return a link's path (under the API's origin) and when it stops working."""
        expires = self._clock.now() + self.ttl
        payload = {
            "o": str(owner_id),
            "e": int(expires.timestamp()),
            "j": uuid4().hex,
            "s": None if session_id is None else str(session_id),
        }
        return f"{PATH}{self._serializer.dumps(payload)}", expires

    def verify(self, token: str) -> Grant:
        """Return what a link allows; raise InvalidLink or ExpiredLink."""
        try:
            payload = self._serializer.loads(token)
            session = payload["s"]
            grant = Grant(
                owner_id=UUID(payload["o"]),
                link_id=UUID(payload["j"]),
                session_id=None if session is None else UUID(session),
                expires_at=datetime.fromtimestamp(int(payload["e"]), UTC),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            raise InvalidLink from None
        if self._clock.now() >= grant.expires_at:
            raise ExpiredLink
        return grant
