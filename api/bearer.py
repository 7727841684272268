"""Who is asking: the Viewer an ``Authorization: Bearer …`` header names.

A local access token is an HS256 JWT naming the user and the sign-in session; it counts while
its session is active, which is asked of the database at most every ``session_recheck`` per
token. A Firebase ID token (RS256) names a Firebase user, whose account is made at first sight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol
from uuid import UUID

import jwt
from cachetools import LRUCache, TTLCache
from pydantic import EmailStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from uuid_utils.compat import uuid7

from model.clock import Clock
from model.errors import Unauthenticated
from store import accounts
from store.engine import outside_transaction

ISSUER = "rapport"
_MAX_RECENT = 10_000
_email = TypeAdapter(EmailStr)


def firebase_email(claim: object) -> str | None:
    """A Firebase token's email as a password account's is kept (trimmed, lower-cased), or None.

    Lower-cased as at sign-up, so the address matches the same account and invitations.
    """
    if not isinstance(claim, str):
        return None
    try:
        return str(_email.validate_python(claim.strip().lower()))
    except PydanticValidationError:
        return None


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the user and, for local tokens, the sign-in session."""

    user_id: UUID
    session_id: UUID | None


class IdTokenVerifier(Protocol):
    async def verify(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid Firebase ID token, or raise ValueError."""
        ...


@dataclass(frozen=True)
class _Checked:
    viewer: Viewer
    expires: float


class BearerAuth:
    """Authenticate requests by their bearer token; the account service forgets ended sessions."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        signing_key: str,
        firebase: IdTokenVerifier | None,
        session_recheck: timedelta,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._key = signing_key
        self.firebase = firebase
        # Access tokens whose session was found active lately: a phone polling every few
        # seconds then costs no database round trip for its session. A session ended in
        # another process is noticed here within ``session_recheck``; in this one at once.
        # Entries expire by the injected clock, so tests move time instead of sleeping.
        self.session_recheck = session_recheck
        self._recent: TTLCache[str, _Checked] = TTLCache(
            maxsize=_MAX_RECENT,
            ttl=session_recheck.total_seconds(),
            timer=lambda: clock.now().timestamp(),
        )
        # Bearer tokens whose signature was checked, and the user each names (claimed_user).
        self._claimed: LRUCache[str, str] = LRUCache(maxsize=_MAX_RECENT)

    async def authenticate(self, authorization: str | None) -> Viewer:
        """Return who an ``Authorization: Bearer …`` header names, or raise Unauthenticated."""
        if not authorization:
            raise Unauthenticated(
                "Sign in first, then send the access token as 'Authorization: Bearer <token>'."
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Send the token as 'Authorization: Bearer <token>'.")
        token = token.strip()
        recent = self._recent_viewer(token)
        if recent is not None:
            return recent
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The access token is malformed; sign in again.") from None
        if header.get("alg") == "RS256" and self.firebase is not None:
            return await self._authenticate_firebase(token)
        return await self._authenticate_local(token)

    async def claimed_user(self, authorization: str | None) -> str | None:
        """Return whom a bearer token names, checking its signature but not the database.

        The request rate is counted per user before the operation runs; a refused operation
        should cost no session lookup, and a forged token names nobody.
        """
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        # A token whose signature checked out names the same user every time. Decoding one
        # costs ~50 us, a tenth of a compiled read's Python time, so each is decoded once.
        claimed = self._claimed.get(token)
        if claimed is None:
            claimed = await self._verify_claim(token)
            if claimed is not None:
                self._claimed[token] = claimed
        return claimed

    async def _verify_claim(self, token: str) -> str | None:
        try:
            if jwt.get_unverified_header(token).get("alg") == "RS256":
                if self.firebase is None:
                    return None
                return f"firebase:{(await self.firebase.verify(token))['uid']}"
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["sub"], "verify_exp": False, "verify_iat": False},
            )
        except (jwt.PyJWTError, ValueError, KeyError):
            return None
        return str(claims["sub"])

    def _recent_viewer(self, token: str) -> Viewer | None:
        """The viewer of a local token whose session was found active moments ago."""
        recent = self._recent.get(token)
        if recent is not None and recent.expires > self.clock.now().timestamp():
            return recent.viewer
        return None

    async def _authenticate_local(self, token: str) -> Viewer:
        now = self.clock.now()
        try:
            # Times are checked against the injected clock below, not the machine's.
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={
                    "require": ["exp", "sub", "sid"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            user_id, session_id = UUID(claims["sub"]), UUID(claims["sid"])
        except (jwt.PyJWTError, ValueError):
            raise Unauthenticated("The access token is not valid; sign in again.") from None
        if claims["exp"] <= now.timestamp():
            raise Unauthenticated(
                "The access token has expired; call refreshSession for a new one."
            )
        async with self.engine.connect() as conn:
            # One statement, one round trip: no BEGIN and ROLLBACK around it. A phone's first
            # request after a pause pays this check before its read.
            conn = await outside_transaction(conn)
            active = await accounts.session_is_active(conn, session_id=session_id, now=now)
        if not active:
            raise Unauthenticated("This session has ended (signed out or revoked); sign in again.")
        viewer = Viewer(user_id, session_id)
        if self.session_recheck > timedelta(0):
            self._recent[token] = _Checked(viewer, float(claims["exp"]))
        return viewer

    async def _authenticate_firebase(self, token: str) -> Viewer:
        assert self.firebase is not None
        try:
            claims = await self.firebase.verify(token)
        except ValueError as exc:
            raise Unauthenticated(f"The Firebase ID token was refused: {exc}") from None
        uid = str(claims["uid"])
        email = firebase_email(claims.get("email"))
        # Firebase proved the mailbox only if it says so; otherwise the claim is just typed in.
        verified = email is not None and claims.get("email_verified") is True
        now = self.clock.now()
        async with self.engine.begin() as conn:
            user = await accounts.find_user_by_firebase_uid(conn, uid=uid)
            if user is None:
                # First sight of this Firebase user: create their account.
                user = await accounts.insert_user(
                    conn,
                    user_id=uuid7(),
                    now=now,
                    firebase_uid=uid,
                    email=email,
                    email_verified_at=now if verified else None,
                    display_name=str(claims.get("name") or ""),
                )
            elif verified and user["email_verified_at"] is None and user["email"] == email:
                # Verified in Firebase since the account was made.
                user = await accounts.update_user(
                    conn, user_id=user["id"], now=now, values={"email_verified_at": now}
                )
            if user is None:
                # Lost a race with a concurrent first request, or the email has a local account.
                user = await accounts.find_user_by_firebase_uid(conn, uid=uid)
        if user is None:
            raise Unauthenticated(
                "This Firebase account's email already belongs to a local account; sign in with it."
            )
        return Viewer(user["id"], None)

    def forget_sessions(self, session_ids: set[UUID]) -> None:
        """Stop trusting sessions this process found active: they have just ended."""
        self._forget(lambda viewer: viewer.session_id in session_ids)

    def forget_user(self, user_id: UUID) -> None:
        """Stop trusting the sessions of a user who has just been deleted."""
        self._forget(lambda viewer: viewer.user_id == user_id)

    def _forget(self, ended: Callable[[Viewer], bool]) -> None:
        for token, checked in list(self._recent.items()):
            if ended(checked.viewer):
                del self._recent[token]
