"""FcmSender (FCM HTTP v1 with a google-auth token over aiohttp) against the fake FCM server."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from notifications.fcm_error import parse_retry_after
from notifications.fcm_sender import FcmSender
from notifications.sender import LogSender, Outcome, Push, SendResult
from tests.conftest import free_port
from tests.fake_fcm import (
    HANG,
    PROJECT,
    FakeFcm,
    Reply,
    fake_fcm_fixture,  # noqa: F401 (provides the fake_fcm fixture)
    fcm_error,
    write_service_account,
)

INVALID_TOKEN = "The registration token is not a valid FCM registration token"


def make_push(token: str, **overrides: Any) -> Push:
    values: dict[str, Any] = {
        "token": token,
        "platform": "ios",
        "title": "Grace's birthday",
        "body": "Grace Hopper turns 120 today",
        "data": {"contactId": "c-1", "kind": "birthday"},
        "collapse_key": "owner-1:birthday:c-1:2026-12-09:0",
        "ttl_seconds": 3600,
    }
    values.update(overrides)
    return Push(**values)


def make_sender(fake: FakeFcm, **overrides: Any) -> FcmSender:
    values: dict[str, Any] = {
        "project_id": PROJECT,
        "credentials_file": str(fake.credentials_file),
        "fcm_url": fake.fcm_url,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return FcmSender(**values)


@pytest.fixture
async def fcm(fake_fcm: FakeFcm) -> AsyncIterator[FcmSender]:
    sender = make_sender(fake_fcm)
    yield sender
    await sender.close()


async def test_a_push_reaches_fcm_with_collapse_key_ttl_and_data(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
) -> None:
    before = int(time.time())
    [result] = await fcm.send([make_push("device-a")])

    assert result == SendResult(Outcome.DELIVERED, message_id=f"projects/{PROJECT}/messages/1")
    [request] = fake_fcm.received
    # The service account's JWT was exchanged for an access token, which reached FCM.
    assert fake_fcm.token_requests == 1
    assert request.headers["authorization"] == "Bearer fake-access-token-1"
    message = request.message
    collapse_key = "owner-1:birthday:c-1:2026-12-09:0"
    assert message["token"] == "device-a"
    assert message["data"] == {"contactId": "c-1", "kind": "birthday"}
    assert message["notification"] == {
        "title": "Grace's birthday",
        "body": "Grace Hopper turns 120 today",
    }
    assert message["android"] == {"collapse_key": collapse_key, "priority": "high", "ttl": "3600s"}
    apns = message["apns"]
    assert apns["headers"]["apns-collapse-id"] == collapse_key
    assert apns["headers"]["apns-priority"] == "10"
    assert before + 3600 <= int(apns["headers"]["apns-expiration"]) <= int(time.time()) + 3600
    assert apns["payload"]["aps"] == {
        "alert": {"title": "Grace's birthday", "body": "Grace Hopper turns 120 today"},
        "sound": "default",
    }
    assert message["webpush"] == {"headers": {"TTL": "3600"}}


async def test_data_values_are_sent_as_strings(fake_fcm: FakeFcm, fcm: FcmSender) -> None:
    [result] = await fcm.send([make_push("device-a", data={"count": 3, "snoozed": False})])
    assert result.outcome is Outcome.DELIVERED
    assert fake_fcm.received[0].message["data"] == {"count": "3", "snoozed": "False"}


async def test_a_long_collapse_key_becomes_a_stable_64_byte_hash(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
) -> None:
    key = "owner-" + "x" * 100
    await fcm.send(
        [make_push("device-a", collapse_key=key), make_push("device-b", collapse_key=key)]
    )
    ids = {r.message["apns"]["headers"]["apns-collapse-id"] for r in fake_fcm.received}
    keys = {r.message["android"]["collapse_key"] for r in fake_fcm.received}
    assert len(ids) == 1
    assert ids == keys
    assert len(ids.pop().encode()) == 64


@pytest.mark.parametrize(
    ("reply", "outcome", "error_code"),
    [
        pytest.param(
            fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
            Outcome.DEAD_TOKEN,
            "UNREGISTERED",
            id="unregistered",
        ),
        pytest.param(
            fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
            Outcome.DEAD_TOKEN,
            "SENDER_ID_MISMATCH",
            id="sender-id-mismatch",
        ),
        pytest.param(
            fcm_error(400, "INVALID_ARGUMENT", INVALID_TOKEN, "INVALID_ARGUMENT"),
            Outcome.DEAD_TOKEN,
            "INVALID_ARGUMENT",
            id="invalid-token",
        ),
        pytest.param(
            fcm_error(
                400,
                "INVALID_ARGUMENT",
                "Request contains an invalid argument.",
                "INVALID_ARGUMENT",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [
                            {"field": "message.data", "description": "Invalid data key: from"}
                        ],
                    }
                ],
            ),
            Outcome.FAILED,
            "INVALID_ARGUMENT",
            id="invalid-payload",
        ),
        pytest.param(
            fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
            Outcome.TRANSIENT,
            "UNAVAILABLE",
            id="unavailable",
        ),
        pytest.param(
            fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL"),
            Outcome.TRANSIENT,
            "INTERNAL",
            id="internal",
        ),
    ],
)
async def test_fcm_errors_map_to_outcomes(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
    reply: Any,
    outcome: Outcome,
    error_code: str,
) -> None:
    fake_fcm.script["device-a"] = reply
    started = time.monotonic()
    [result] = await fcm.send([make_push("device-a")])

    assert result.outcome is outcome
    assert result.error_code == error_code
    assert result.message_id is None
    assert result.detail == reply.body["error"]["message"]
    assert result.retry_after is None
    # One attempt, quickly: the worker retries 500 and 503 with its own back-off.
    assert len(fake_fcm.sent_to("device-a")) == 1
    assert time.monotonic() - started < 2


async def test_quota_exceeded_is_transient_and_honours_retry_after(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
) -> None:
    fake_fcm.script["device-a"] = fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
        "QUOTA_EXCEEDED",
        headers={"Retry-After": "30"},
    )
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    fake_fcm.script["device-b"] = fcm_error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
        "QUOTA_EXCEEDED",
        headers={"Retry-After": later},
    )
    first, second = await fcm.send([make_push("device-a"), make_push("device-b")])

    assert first == SendResult(
        Outcome.TRANSIENT, error_code="QUOTA_EXCEEDED", detail="Quota exceeded.", retry_after=30.0
    )
    assert second.outcome is Outcome.TRANSIENT
    assert second.retry_after is not None
    assert 115 <= second.retry_after <= 120


async def test_an_answer_without_a_message_name_is_transient(
    fake_fcm: FakeFcm, fcm: FcmSender
) -> None:
    # A 2xx that names no message (a proxy, an FCM hiccup): nothing says the push arrived.
    fake_fcm.script["device-a"] = Reply(status=200, body={"unexpected": True})
    odd, fine = await fcm.send([make_push("device-a"), make_push("device-b")])
    assert odd == SendResult(
        Outcome.TRANSIENT,
        error_code="NO_MESSAGE_NAME",
        detail="FCM answered without a message name",
    )
    assert fine.outcome is Outcome.DELIVERED


async def test_third_party_auth_error_is_transient_and_logged_loudly(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = ["device-a-0123456789", "device-b-0123456789"]
    for token in tokens:
        fake_fcm.script[token] = fcm_error(
            401,
            "UNAUTHENTICATED",
            "Auth error from APNS or Web Push Service",
            "THIRD_PARTY_AUTH_ERROR",
        )
    with caplog.at_level(logging.ERROR, logger="rapport.notifications"):
        results = await fcm.send([make_push(token) for token in tokens])

    assert [r.outcome for r in results] == [Outcome.TRANSIENT, Outcome.TRANSIENT]
    assert {r.error_code for r in results} == {"THIRD_PARTY_AUTH_ERROR"}
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "THIRD_PARTY_AUTH_ERROR for 2 of 2 pushes" in record.getMessage()
    assert "APNs auth key" in record.getMessage()
    assert "device-a…" in record.getMessage()
    assert tokens[0] not in record.getMessage()
    # FCM sends this error as HTTP 401, but it is no reason to fetch a new access token.
    assert len(fake_fcm.received) == 2
    assert fake_fcm.token_requests == 1


async def test_a_revoked_access_token_is_replaced_once(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
) -> None:
    [first] = await fcm.send([make_push("device-a")])
    fake_fcm.revoke_access_tokens()
    second, third = await fcm.send([make_push("device-b"), make_push("device-c")])

    assert [first.outcome, second.outcome, third.outcome] == [Outcome.DELIVERED] * 3
    # Both requests of the batch were refused; only one of them fetched the new token.
    assert fake_fcm.token_requests == 2
    assert [r.headers["authorization"] for r in fake_fcm.sent_to("device-b")] == [
        "Bearer fake-access-token-1",
        "Bearer fake-access-token-2",
    ]


async def test_a_hung_connection_is_transient_within_the_timeout(
    fake_fcm: FakeFcm,
) -> None:
    fake_fcm.script["device-hang"] = HANG
    sender = make_sender(fake_fcm, timeout_seconds=0.5)
    try:
        started = time.monotonic()
        hung, fine = await sender.send([make_push("device-hang"), make_push("device-b")])
        elapsed = time.monotonic() - started
    finally:
        await sender.close()

    assert hung.outcome is Outcome.TRANSIENT
    assert hung.error_code == "DEADLINE_EXCEEDED"
    assert fine.outcome is Outcome.DELIVERED
    assert elapsed < 2


async def test_an_unreachable_fcm_is_transient(fake_fcm: FakeFcm) -> None:
    closed = f"http://127.0.0.1:{free_port()}" + "/v1/projects/{0}/messages:send"
    sender = make_sender(fake_fcm, fcm_url=closed)
    try:
        [result] = await sender.send([make_push("device-a")])
    finally:
        await sender.close()
    assert result.outcome is Outcome.TRANSIENT
    assert result.error_code == "UNAVAILABLE"


async def test_a_failing_token_endpoint_makes_the_batch_transient(
    fake_fcm: FakeFcm,
    tmp_path: Path,
) -> None:
    unreachable = tmp_path / "unreachable.json"
    write_service_account(unreachable, f"http://127.0.0.1:{free_port()}/token")
    sender = make_sender(fake_fcm, credentials_file=str(unreachable))
    try:
        results = await sender.send([make_push("device-a"), make_push("device-b")])
    finally:
        await sender.close()
    assert [r.outcome for r in results] == [Outcome.TRANSIENT, Outcome.TRANSIENT]
    assert fake_fcm.received == []


async def test_a_hung_token_endpoint_makes_the_batch_transient_within_the_timeout(
    fake_fcm: FakeFcm,
) -> None:
    fake_fcm.token_endpoint_hangs = True
    sender = make_sender(fake_fcm, timeout_seconds=0.5)
    try:
        started = time.monotonic()
        results = await sender.send([make_push("device-a"), make_push("device-b")])
        elapsed = time.monotonic() - started
    finally:
        await sender.close()
    assert [r.outcome for r in results] == [Outcome.TRANSIENT, Outcome.TRANSIENT]
    assert {r.error_code for r in results} == {"TransportError"}
    assert fake_fcm.received == []
    # google-auth would wait 120 s for the token endpoint; the sender's timeout applies.
    assert elapsed < 2


async def test_token_url_replaces_the_service_accounts_token_uri(
    fake_fcm: FakeFcm,
    tmp_path: Path,
) -> None:
    # The file's token_uri points nowhere; only the override can produce an access token.
    elsewhere = tmp_path / "elsewhere.json"
    fake_fcm.add_service_account(elsewhere, f"http://127.0.0.1:{free_port()}/token")
    sender = make_sender(fake_fcm, credentials_file=str(elsewhere), token_url=fake_fcm.token_url)
    try:
        [result] = await sender.send([make_push("device-a")])
    finally:
        await sender.close()
    assert result.outcome is Outcome.DELIVERED
    assert fake_fcm.token_requests == 1


async def test_a_mixed_batch_keeps_its_order(fake_fcm: FakeFcm, fcm: FcmSender) -> None:
    fake_fcm.script["gone"] = fcm_error(404, "NOT_FOUND", "not found", "UNREGISTERED")
    fake_fcm.script["busy"] = fcm_error(503, "UNAVAILABLE", "unavailable", "UNAVAILABLE")
    fake_fcm.script["bad"] = fcm_error(400, "INVALID_ARGUMENT", INVALID_TOKEN, "INVALID_ARGUMENT")
    tokens = ["ok-1", "gone", "ok-2", "busy", "bad", "ok-3"]
    results = await fcm.send([make_push(token) for token in tokens])

    assert [r.outcome for r in results] == [
        Outcome.DELIVERED,
        Outcome.DEAD_TOKEN,
        Outcome.DELIVERED,
        Outcome.TRANSIENT,
        Outcome.DEAD_TOKEN,
        Outcome.DELIVERED,
    ]
    delivered = [r.message_id for r in results if r.outcome is Outcome.DELIVERED]
    recorded = {r.message["token"]: i + 1 for i, r in enumerate(fake_fcm.received)}
    expected = [f"projects/{PROJECT}/messages/{recorded[t]}" for t in ("ok-1", "ok-2", "ok-3")]
    assert delivered == expected


async def test_a_message_that_cannot_be_encoded_fails_alone(
    fake_fcm: FakeFcm,
    fcm: FcmSender,
) -> None:
    results = await fcm.send([make_push("device-a"), make_push("device-b", ttl_seconds=-5)])
    # A negative TTL is clamped to zero, so both go; an empty token cannot be encoded at all.
    assert [r.outcome for r in results] == [Outcome.DELIVERED, Outcome.DELIVERED]
    results = await fcm.send([make_push(""), make_push("device-c")])
    assert results[0].outcome is Outcome.FAILED
    assert results[0].error_code == "INVALID_MESSAGE"
    assert results[1].outcome is Outcome.DELIVERED
    assert len(fake_fcm.received) == 3


async def test_twelve_hundred_pushes_all_go_and_keep_their_order(fake_fcm: FakeFcm) -> None:
    fake_fcm.script["device-7"] = fcm_error(404, "NOT_FOUND", "not found", "UNREGISTERED")
    pushes = [make_push(f"device-{i}") for i in range(1200)]
    # All are started at once and queue for the sender's connections; the fake shares this
    # process (and its GIL) with the client, so the timeout is generous.
    sender = make_sender(fake_fcm, timeout_seconds=60.0, max_connections=20)
    try:
        results = await sender.send(pushes)
    finally:
        await sender.close()

    assert len(results) == 1200
    assert len(fake_fcm.received) == 1200
    assert results[7].outcome is Outcome.DEAD_TOKEN
    assert all(r.outcome is Outcome.DELIVERED for i, r in enumerate(results) if i != 7)
    names = {r.message["token"]: i + 1 for i, r in enumerate(fake_fcm.received)}
    assert results[1199].message_id == f"projects/{PROJECT}/messages/{names['device-1199']}"


async def test_close_can_be_repeated_and_a_closed_sender_can_send_again(
    fake_fcm: FakeFcm,
) -> None:
    sender = make_sender(fake_fcm)
    [first] = await sender.send([make_push("device-a")])
    await sender.close()
    await sender.close()
    [second] = await sender.send([make_push("device-b")])
    await sender.close()
    assert [first.outcome, second.outcome] == [Outcome.DELIVERED, Outcome.DELIVERED]


async def test_log_sender_logs_and_never_sends(
    fake_fcm: FakeFcm,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sender = LogSender()
    with caplog.at_level(logging.INFO, logger="rapport.notifications"):
        results = await sender.send([make_push("abcdefghijklmnop"), make_push("qrstuvwxyz123456")])
    await sender.close()

    assert results == [
        SendResult(Outcome.DELIVERED, message_id="logged:1"),
        SendResult(Outcome.DELIVERED, message_id="logged:2"),
    ]
    first = caplog.records[0].getMessage()
    assert "abcdefgh…" in first
    assert "abcdefghijklmnop" not in first
    assert "Grace's birthday" in first
    assert "owner-1:birthday:c-1:2026-12-09:0" in first
    assert fake_fcm.received == []
    assert fake_fcm.token_requests == 0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = time.time()
    date = format_datetime(datetime.fromtimestamp(now, UTC) + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after("30", now=now) == 30.0
    assert parse_retry_after(date, now=now) == pytest.approx(90, abs=1)
    assert parse_retry_after("Mon, 01 Jan 2001 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None, now=now) is None
