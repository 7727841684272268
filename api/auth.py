"""Accounts and tokens: sign-up, sign-in, refresh rotation, sign-out, password and deletion.

Access tokens are short-lived HS256 JWTs naming the user and the sign-in session (checked on
each request by ``api.bearer``, which this service tells of the sessions it ends). Refresh
tokens are random strings stored only as SHA-256 digests; each use spends the token and
issues the next, and presenting a spent token again revokes the whole session (someone has
a copy). Signing out revokes the session, which also ends its access tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import anyio.to_thread
import jwt
import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import EmailStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from uuid_utils.compat import uuid7

from api.bearer import ISSUER, BearerAuth, IdTokenVerifier, Viewer
from api.throttle import Throttle
from model.clock import Clock
from model.dates import check_time_zone
from model.errors import Conflict, FieldError, InvalidCredentials, Unauthenticated, ValidationFailed
from model.text import MAX_NAME
from store import account_tokens, accounts
from sync import colleague

_email = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: datetime
    user: sa.RowMapping


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def password_problem(field: str, password: str) -> FieldError | None:
    """The rule for a new password, the same at sign-up and on change."""
    if len(password) < 10:
        return FieldError(field, "use at least 10 characters")
    if len(password) > 256:
        return FieldError(field, "use at most 256 characters")
    return None


def normalize_email(field: str, email: str) -> str:
    """Return ``email`` trimmed and lower-cased, or raise ValidationFailed naming ``field``."""
    try:
        return _email.validate_python(email.strip().lower())
    except PydanticValidationError:
        # Quoted in part: the answer need not carry back up to 100,000 characters.
        shown = email if len(email) <= 80 else f"{email[:77]}..."
        raise ValidationFailed(
            [FieldError(field, f"{shown!r} is not an email address like ada@example.com")]
        ) from None


def _check_sign_up(email: str, password: str, display_name: str, time_zone: str) -> str:
    errors: list[FieldError] = []
    normalized = email.strip().lower()
    try:
        normalized = normalize_email("email", email)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    weak = password_problem("password", password)
    if weak is not None:
        errors.append(weak)
    if len(display_name) > MAX_NAME:
        errors.append(FieldError("displayName", f"use at most {MAX_NAME} characters"))
    problem = check_time_zone(time_zone)
    if problem is not None:
        errors.append(FieldError("timeZone", problem))
    if errors:
        raise ValidationFailed(errors)
    return normalized


# How recent a Firebase sign-in must be to delete the account, as Firebase asks for its own
# user deletion: an ID token a phone kept (valid an hour) is not proof the owner is there.
FIREBASE_FRESH = timedelta(minutes=5)


class Authenticator:
    """The account service the schema calls (``schema.context.Accounts``)."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        clock: Clock,
        signing_key: str,
        access_ttl: timedelta,
        refresh_ttl: timedelta,
        cheap_hashing: bool = False,
        firebase: IdTokenVerifier | None = None,
        session_recheck: timedelta = timedelta(seconds=5),
        throttle: Throttle | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self._key = signing_key
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        params = profiles.CHEAPEST if cheap_hashing else profiles.RFC_9106_LOW_MEMORY
        self._hasher = PasswordHasher.from_parameters(params)
        # Verified when an email is unknown, so a wrong email costs as long as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))
        self.firebase = firebase
        self.bearer = BearerAuth(
            engine=engine,
            clock=clock,
            signing_key=signing_key,
            firebase=firebase,
            session_recheck=session_recheck,
        )
        self.throttle = throttle

    async def _issue(self, user: sa.RowMapping, session_id: UUID, now: datetime) -> Tokens:
        expires_at = now + self.access_ttl
        claims = {
            "iss": ISSUER,
            "sub": str(user["id"]),
            "sid": str(session_id),
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        access = jwt.encode(claims, self._key, algorithm="HS256")
        refresh = secrets.token_urlsafe(32)
        async with self.engine.begin() as conn:
            await accounts.insert_refresh_token(
                conn, token_hash=_digest(refresh), session_id=session_id, now=now
            )
        return Tokens(access, refresh, expires_at, user)

    async def _start_session(self, user: sa.RowMapping) -> Tokens:
        now = self.clock.now()
        session_id = uuid7()
        async with self.engine.begin() as conn:
            await accounts.insert_session(
                conn,
                session_id=session_id,
                user_id=user["id"],
                now=now,
                expires_at=now + self.refresh_ttl,
            )
        return await self._issue(user, session_id, now)

    async def sign_up(
        self, *, email: str, password: str, display_name: str, time_zone: str, address: str = ""
    ) -> Tokens:
        """Create a local account and sign it in; ``address`` is the client's, for its limit."""
        normalized = _check_sign_up(email, password, display_name, time_zone)
        if self.throttle is not None:
            # Before hashing: a refused attempt costs no argon2 time. A taken email counts
            # too, so probing which emails have accounts is as slow as signing up.
            await self.throttle.admit_sign_up(address=address)
        password_hash = await anyio.to_thread.run_sync(self._hasher.hash, password)
        async with self.engine.begin() as conn:
            user = await accounts.insert_user(
                conn,
                user_id=uuid7(),
                now=self.clock.now(),
                email=normalized,
                password_hash=password_hash,
                display_name=display_name.strip(),
                time_zone=time_zone,
            )
        if user is None:
            raise Conflict(f"An account for {normalized} already exists; sign in instead.")
        return await self._start_session(user)

    async def sign_in(self, *, email: str, password: str, address: str = "") -> Tokens:
        """Check a password and start a session; ``address`` is the client's, for its limit."""
        normalized = email.strip().lower()
        if self.throttle is not None:
            # Before verifying: a refused attempt costs no argon2 time. Unknown emails are
            # counted like known ones, so the limit does not tell which accounts exist.
            await self.throttle.admit_sign_in(email=normalized, address=address)
        async with self.engine.connect() as conn:
            user = await accounts.find_user_by_email(conn, email=normalized)
        stored = (
            user["password_hash"] if user is not None and user["password_hash"] else self._decoy
        )
        try:
            await anyio.to_thread.run_sync(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            raise InvalidCredentials() from None
        if user is None or stored is self._decoy:
            raise InvalidCredentials()
        if self.throttle is not None:
            await self.throttle.forget_sign_in(email=normalized)
        return await self._start_session(user)

    async def refresh(self, *, refresh_token: str) -> Tokens:
        """Spend a refresh token and issue the next pair."""
        now = self.clock.now()
        async with self.engine.begin() as conn:
            claim = await accounts.claim_refresh_token(
                conn, token_hash=_digest(refresh_token), now=now
            )
            if claim is not None and claim["used_at"] is not None:
                # A spent token came back: a copy is in someone else's hands. End the session.
                await accounts.revoke_session(conn, session_id=claim["session_id"], now=now)
                self.bearer.forget_sessions({claim["session_id"]})
            user = (
                None if claim is None else await accounts.get_user(conn, user_id=claim["user_id"])
            )
        if (
            claim is None
            or user is None
            or claim["used_at"] is not None
            or claim["revoked_at"] is not None
            or claim["expires_at"] <= now
        ):
            raise InvalidCredentials("This refresh token is not valid any more; sign in again.")
        return await self._issue(user, claim["session_id"], now)

    async def sign_out(self, session_id: UUID | None) -> None:
        """End a session: its refresh and access tokens stop working."""
        if session_id is None:
            return
        async with self.engine.begin() as conn:
            await accounts.revoke_session(conn, session_id=session_id, now=self.clock.now())
        self.bearer.forget_sessions({session_id})

    async def check_password(self, user_id: UUID, password: str, address: str) -> sa.RowMapping:
        """Return the user if ``password`` is theirs; raise InvalidCredentials or RateLimited.

        Counted by the sign-in limit of the account's email: a stolen access token gives no
        faster way to guess the password than the sign-in form.
        """
        async with self.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=user_id)
        if user is None:
            raise Unauthenticated("This account no longer exists.")
        if not user["password_hash"]:
            raise InvalidCredentials(
                "This account signs in with Firebase and has no password here; "
                "change or delete it with your Firebase sign-in provider."
            )
        if self.throttle is not None and user["email"]:
            await self.throttle.admit_sign_in(email=user["email"], address=address)
        try:
            await anyio.to_thread.run_sync(self._hasher.verify, user["password_hash"], password)
        except (VerificationError, InvalidHashError):
            raise InvalidCredentials("The password is wrong.") from None
        if self.throttle is not None and user["email"]:
            await self.throttle.forget_sign_in(email=user["email"])
        return user

    async def change_password(
        self,
        *,
        user_id: UUID,
        session_id: UUID | None,
        current_password: str,
        new_password: str,
        address: str = "",
    ) -> int:
        """Set a new password and end every other session; return how many were ended."""
        problem = password_problem("newPassword", new_password)
        if problem is not None:
            raise ValidationFailed([problem])
        await self.check_password(user_id, current_password, address)
        password_hash = await anyio.to_thread.run_sync(self._hasher.hash, new_password)
        now = self.clock.now()
        async with self.engine.begin() as conn:
            await accounts.update_user(
                conn, user_id=user_id, now=now, values={"password_hash": password_hash}
            )
            revoked = await accounts.revoke_other_sessions(
                conn, user_id=user_id, keep=session_id, now=now
            )
            # A pending email change or reset link was asked for by someone who knew (or could
            # read the mail of) the account before; a new password is the owner taking it back.
            await account_tokens.drop_tokens(conn, user_id=user_id)
        self.bearer.forget_sessions(set(revoked))
        return len(revoked)

    async def delete_account(
        self,
        *,
        user_id: UUID,
        password: str | None,
        firebase_id_token: str | None = None,
        address: str = "",
    ) -> None:
        """Delete the user and everything they own, once they proved it is them.

        The proof is the password, or for an account made by Firebase sign-in a Firebase ID
        token from a sign-in within FIREBASE_FRESH: a token the phone kept for an hour is not.
        """
        if firebase_id_token is not None:
            await self._check_firebase_proof(user_id, firebase_id_token)
        elif password is not None:
            await self.check_password(user_id, password, address)
        else:
            raise InvalidCredentials(
                "Send your password, or for a Firebase account a fresh Firebase ID token."
            )
        # Colleagues see their links with this account ended, in their own transactions, before
        # the account's rows go (sync/colleague.py).
        await colleague.end_account_links(self.engine, user_id, self.clock.now())
        async with self.engine.begin() as conn:
            await accounts.delete_user(conn, user_id=user_id)
        # Their sessions went with the user row; forget the ones this process vouched for.
        self.bearer.forget_user(user_id)

    async def _check_firebase_proof(self, user_id: UUID, token: str) -> None:
        if self.firebase is None:
            raise InvalidCredentials("Firebase sign-in is not configured here; send your password.")
        try:
            claims = await self.firebase.verify(token)
        except ValueError as exc:
            raise InvalidCredentials(f"The Firebase ID token was refused: {exc}") from None
        async with self.engine.connect() as conn:
            user = await accounts.get_user(conn, user_id=user_id)
        if user is None or user["firebase_uid"] != str(claims["uid"]):
            raise InvalidCredentials("This Firebase ID token belongs to another account.")
        auth_time = claims.get("auth_time")
        limit = self.clock.now().timestamp() - FIREBASE_FRESH.total_seconds()
        if not isinstance(auth_time, int | float) or auth_time < limit:
            minutes = int(FIREBASE_FRESH.total_seconds() // 60)
            raise InvalidCredentials(
                f"Sign in to Firebase again and send the new ID token within {minutes} minutes."
            )

    async def list_sessions(self, *, user_id: UUID) -> list[sa.RowMapping]:
        async with self.engine.connect() as conn:
            return await accounts.list_active_sessions(conn, user_id=user_id, now=self.clock.now())

    async def revoke_session(self, *, user_id: UUID, session_id: UUID) -> bool:
        """End one of the viewer's sessions; False if it is not an active one of theirs."""
        async with self.engine.begin() as conn:
            revoked = await accounts.revoke_user_session(
                conn, user_id=user_id, session_id=session_id, now=self.clock.now()
            )
        if revoked:
            self.bearer.forget_sessions({session_id})
        return revoked

    async def authenticate(self, authorization: str | None) -> Viewer:
        """Return who an ``Authorization: Bearer …`` header names, or raise Unauthenticated."""
        return await self.bearer.authenticate(authorization)

    async def claimed_user(self, authorization: str | None) -> str | None:
        """Return whom a bearer token names, checking its signature but not the database."""
        return await self.bearer.claimed_user(authorization)
