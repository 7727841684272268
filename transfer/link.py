"""Short-lived signed links to an owner's export, signed with the server's secret key.

The link is the credential (a browser or a phone's download manager fetches it without the
access token), so it names its owner and its end, signed with itsdangerous under a salt of
its own: a token of another kind never passes for a link, nor a link for a token.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from itsdangerous import BadSignature, URLSafeSerializer

from model.clock import Clock

SALT = "rapport.export-link"
PATH = "/export/"
DEFAULT_TTL = timedelta(minutes=10)


class InvalidLink(Exception):
    """The link was not made by this server (or was changed)."""


class ExpiredLink(Exception):
    """The link was made here but its time is up."""


class ExportLinks:
    def __init__(self, secret: str, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._clock = clock
        self.ttl = ttl

    def issue(self, owner_id: UUID) -> tuple[str, datetime]:
        """Return a link's path (under the API's origin) and when it stops working."""
        expires = self._clock.now() + self.ttl
        token = self._serializer.dumps({"o": str(owner_id), "e": int(expires.timestamp())})
        return f"{PATH}{token}", expires

    def verify(self, token: str) -> UUID:
        """Return the owner a link was made for; raise InvalidLink or ExpiredLink."""
        try:
            payload = self._serializer.loads(token)
            owner_id, ends = UUID(payload["o"]), int(payload["e"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise InvalidLink from None
        if self._clock.now().timestamp() >= ends:
            raise ExpiredLink
        return owner_id
