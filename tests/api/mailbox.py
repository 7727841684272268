"""The shared test app's mailer: keeps what its Outbox sends, so tests can follow the links."""

from __future__ import annotations

import asyncio
import re

from api.mailer import Email


class Mailbox:
    """A ``api.mailer.Mailer`` that keeps every email it is handed."""

    def __init__(self) -> None:
        self.sent: list[Email] = []

    async def send(self, email: Email) -> None:
        self.sent.append(email)

    def to(self, address: str) -> list[Email]:
        return [e for e in self.sent if e.to == address]

    async def link_token(self, address: str, page: str, count: int = 1) -> str:
        """The token of the link to ``page`` in the ``count``-th email to ``address``."""
        for _ in range(1000):
            found = [e for e in self.to(address) if f"/{page}?token=" in e.text]
            if len(found) >= count:
                match = re.search(rf"/{page}\?token=([A-Za-z0-9_-]+)", found[count - 1].text)
                assert match, found[count - 1].text
                return match.group(1)
            # The Outbox sends in the background.
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {page} link reached {address}; got {self.to(address)}")


# The mailer of the session's shared API app (tests/conftest.py's api_app).
MAILBOX = Mailbox()
