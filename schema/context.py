"""What every resolver receives: the engine, the clock, the authenticator and the loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from model import errors
from model.clock import Clock
from schema import errors as gql_errors
from schema.indexes import IntroductionIndexes
from schema.loaders import Loaders
from sync.feed import ChangeFeed

if TYPE_CHECKING:
    from reads.service import CompiledReads
    from schema.account import SelfService
    from transfer.link import ExportLinks


class Account(Protocol):
    @property
    def user_id(self) -> UUID: ...
    @property
    def session_id(self) -> UUID | None: ...


class TokenPair(Protocol):
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def user(self) -> RowMapping: ...


class Accounts(Protocol):
    """The account service (``api.auth.Authenticator``), seen from the schema."""

    async def sign_up(
        self, *, email: str, password: str, display_name: str, time_zone: str, address: str
    ) -> TokenPair: ...
    async def sign_in(self, *, email: str, password: str, address: str) -> TokenPair: ...
    async def refresh(self, *, refresh_token: str) -> TokenPair: ...
    async def sign_out(self, session_id: UUID | None) -> None: ...
    async def change_password(
        self,
        *,
        user_id: UUID,
        session_id: UUID | None,
        current_password: str,
        new_password: str,
        address: str,
    ) -> int: ...
    async def delete_account(
        self,
        *,
        user_id: UUID,
        password: str | None,
        firebase_id_token: str | None,
        address: str,
    ) -> None: ...
    async def list_sessions(self, *, user_id: UUID) -> list[RowMapping]: ...
    async def revoke_session(self, *, user_id: UUID, session_id: UUID) -> bool: ...
    async def authenticate(self, authorization: str | None) -> Account: ...


@dataclass
class Context:
    engine: AsyncEngine
    clock: Clock
    accounts: Accounts
    authorization: str | None
    request_id: str
    # Introduction indexes kept between requests (one per app).
    introductions: IntroductionIndexes
    feed: ChangeFeed | None = None
    # The client's address (a trusted proxy's X-Forwarded-For, if any), for rate limits.
    client_address: str = "unknown"
    max_page_size: int = 100
    # Set for HTTP requests while RAPPORT_COMPILED_READS is on: queries may be answered by
    # one SQL statement (reads/) instead of the resolvers.
    compiled_reads: CompiledReads | None = None
    # Signs requestExport's links (transfer/link.py); None where exports are not served.
    export_links: ExportLinks | None = None
    # Set by reads.extension when the compiled read path answered: the validated document and
    # operation, which the HTTP view then remembers for repeats of the same text.
    validated: Any = None
    # Password reset, email change and the calendar feed (schema/account.py).
    self_service: SelfService | None = None
    # Set by Strawberry from a WebSocket's connection_init payload.
    connection_params: dict[str, Any] | None = None
    _viewer: Account | None = None
    # A refused token is refused for the whole request: asked again (the compiled path, then
    # the resolvers), it costs no second session lookup.
    _refused: errors.Unauthenticated | None = None
    _loaders: Loaders | None = None
    # Sibling root fields resolve concurrently; authenticate once for all of them.
    _auth_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def viewer(self) -> Account:
        """Return the signed-in account, or fail the field with UNAUTHENTICATED."""
        async with self._auth_lock:
            if self._viewer is None and self._refused is None:
                try:
                    self._viewer = await self.accounts.authenticate(self._authorization())
                except errors.Unauthenticated as exc:
                    self._refused = exc
            if self._viewer is None:
                assert self._refused is not None
                raise gql_errors.unauthenticated(self._refused) from None
        return self._viewer

    def _authorization(self) -> str | None:
        if self.authorization:
            return self.authorization
        # WebSocket clients send the header in the connection_init payload instead.
        params = self.connection_params or {}
        value = params.get("Authorization") or params.get("authorization")
        return value if isinstance(value, str) else None

    async def owner_id(self) -> UUID:
        return (await self.viewer()).user_id

    async def loaders(self) -> Loaders:
        """Return this request's loaders, which batch per owner."""
        if self._loaders is None:
            self._loaders = Loaders(self.engine, await self.owner_id())
        return self._loaders
