"""Whom a bearer token names, for the request rate: signature checked, each token decoded once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from api import auth
from api.auth import Authenticator
from model.clock import FixedClock
from store.engine import create_engine

KEY = "unit-test-signing-key-" * 3


@pytest.fixture
async def accounts() -> AsyncIterator[Authenticator]:
    # claimed_user never reaches the database; the engine connects to nothing.
    engine = create_engine("postgresql://nobody@127.0.0.1:1/none")
    yield Authenticator(
        engine=engine,
        clock=FixedClock(datetime(2026, 12, 7, tzinfo=UTC)),
        signing_key=KEY,
        access_ttl=timedelta(minutes=15),
        refresh_ttl=timedelta(days=30),
        cheap_hashing=True,
    )
    await engine.dispose()


def _token(sub: str, key: str = KEY) -> str:
    return jwt.encode({"iss": "rapport", "sub": sub, "sid": sub, "exp": 1}, key, algorithm="HS256")


async def test_a_token_is_decoded_once(
    accounts: Authenticator, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    real_decode = jwt.decode

    def counting_decode(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "decode", counting_decode)
    token = _token("alice")
    for _ in range(3):
        assert await accounts.claimed_user(f"Bearer {token}") == "alice"
    assert decoded == [token]


async def test_a_remembered_token_vouches_for_no_other(accounts: Authenticator) -> None:
    token = _token("alice")
    assert await accounts.claimed_user(f"Bearer {token}") == "alice"
    header, _payload, signature = token.split(".")
    tampered = f"{header}.{_token('bob').split('.')[1]}.{signature}"
    assert await accounts.claimed_user(f"Bearer {tampered}") is None
    assert await accounts.claimed_user(f"Bearer {_token('alice', 'another-key-' * 4)}") is None
    # Refusals are not remembered as anyone: asked again, still nobody.
    assert await accounts.claimed_user(f"Bearer {tampered}") is None
    assert await accounts.claimed_user("Bearer ") is None
    assert await accounts.claimed_user(f"Basic {token}") is None
