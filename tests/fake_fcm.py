"""A fake FCM v1 server on loopback that the real FCM client talks to.

It serves ``POST /v1/projects/{project}/messages:send``, answering per device token from a
script, and an OAuth2 token endpoint, so a throwaway service account gets its access token
without the network. It runs in a thread of its own, so it keeps answering whatever the code
under test does to its event loop: the client, for one, fetches access tokens with blocking
google-auth calls (in a thread), which must not wait on a server sharing that loop. It is built
on aiohttp's server, cheap enough per request that the delivery benchmark measures the worker
rather than its counterpart.
"""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import free_port

PROJECT = "rapport-fcm-test"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


@dataclass(frozen=True)
class Reply:
    """What the fake answers for one device token."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    # Seconds to wait before answering: a slow FCM.
    delay: float = 0.0


def fcm_error(
    status: int,
    code: str,
    message: str,
    error_code: str | None = None,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Build FCM v1's error answer: a google.rpc.Status with an FcmError detail."""
    all_details = list(details or [])
    if error_code is not None:
        all_details.append({"@type": FCM_ERROR_TYPE, "errorCode": error_code})
    error = {"code": status, "message": message, "status": code, "details": all_details}
    return Reply(status=status, body={"error": error}, headers=headers or {})


HANG = Reply(hang=True)


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def message(self) -> dict[str, Any]:
        message: dict[str, Any] = self.body["message"]
        return message


class FakeFcm:
    """The fake's state: the script, what it received, and where it listens."""

    def __init__(self, url: str, credentials_file: Path) -> None:
        self.url = url
        self.fcm_url = url + "/v1/projects/{0}/messages:send"
        self.token_url = url + "/token"
        self.credentials_file = credentials_file
        self.script: dict[str, Reply] = {}
        self.received: list[Recorded] = []
        self.token_requests = 0
        self.access_tokens: set[str] = set()
        self.token_endpoint_hangs = False
        self._public_keys: list[rsa.RSAPublicKey] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.app = web.Application()
        self.app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self.app.router.add_post("/token", self._token)

    def sent_to(self, token: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.received if r.message.get("token") == token]

    def add_service_account(self, path: Path, token_uri: str) -> None:
        """Write a service-account file whose token requests this fake accepts."""
        key = write_service_account(path, token_uri)
        with self._lock:
            self._public_keys.append(key)

    def revoke_access_tokens(self) -> None:
        """Refuse the access tokens issued so far, as Google may before they expire."""
        with self._lock:
            self.access_tokens.clear()

    def release(self) -> None:
        """Let hanging requests finish, so the server can stop."""
        self._released.set()

    async def _send(self, request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        headers = {key.lower(): value for key, value in request.headers.items()}
        with self._lock:
            self.received.append(Recorded(body, headers))
            number = len(self.received)
            authorized = headers.get("authorization", "").removeprefix("Bearer ") in (
                self.access_tokens
            )
        if not authorized:
            reply = fcm_error(401, "UNAUTHENTICATED", "Request had invalid credentials.")
        else:
            reply = self.script.get(body["message"]["token"], Reply())
        if reply.hang:
            return await self._hang()
        await asyncio.sleep(reply.delay)
        project = request.match_info["project"]
        content = reply.body or {"name": f"projects/{project}/messages/{number}"}
        return json_response(content, status=reply.status, headers=reply.headers)

    async def _hang(self) -> web.Response:
        # Polled, not awaited: the test's thread releases it, not this event loop.
        while not self._released.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        return web.Response(status=499)

    async def _token(self, request: web.Request) -> web.Response:
        form = urllib.parse.parse_qs((await request.read()).decode())
        if self.token_endpoint_hangs:
            return await self._hang()
        # The assertion must be signed by a known service account's key and ask for Cloud, as
        # Google checks. Its audience is Google's token endpoint whatever token_uri says.
        claims = self._verify_assertion(form["assertion"][0])
        if claims is None:
            return json_response({"error": "invalid_grant"}, status=400)
        if "https://www.googleapis.com/auth/cloud-platform" not in claims["scope"].split():
            return json_response({"error": "invalid_scope"}, status=400)
        with self._lock:
            self.token_requests += 1
            access_token = f"fake-access-token-{self.token_requests}"
            self.access_tokens.add(access_token)
        return json_response(
            {"access_token": access_token, "expires_in": 3600, "token_type": "Bearer"}
        )

    def _verify_assertion(self, assertion: str) -> dict[str, Any] | None:
        with self._lock:
            keys = list(self._public_keys)
        for key in keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    assertion, key, algorithms=["RS256"], options={"verify_aud": False}
                )
            except jwt.InvalidTokenError:
                continue
            return claims
        return None


def write_service_account(path: Path, token_uri: str) -> rsa.RSAPublicKey:
    """Write a throwaway service-account JSON; return the public half of its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "fake-key-id",
        "private_key": pem,
        "client_email": f"sender@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info), encoding="utf-8")
    return key.public_key()


def json_response(
    content: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(content),
        status=status,
        headers=headers,
        content_type="application/json",
    )


async def serve_fake(fake: FakeFcm, port: int, stop: asyncio.Event) -> None:
    """Serve ``fake`` on a loopback port until ``stop`` is set."""
    runner = web.AppRunner(fake.app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        fake.release()
        await runner.cleanup()


@contextmanager
def start_fake_fcm(directory: Path) -> Iterator[FakeFcm]:
    """Run the fake on a loopback port in a background thread."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    credentials_file = directory / "service-account.json"
    fake = FakeFcm(url, credentials_file)
    fake.add_service_account(credentials_file, f"{url}/token")
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve_fake(fake, port, stop),), name="fake-fcm"
    )
    thread.daemon = True
    thread.start()
    wait_until_listening(port, thread)
    try:
        yield fake
    finally:
        fake.release()
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        if not thread.is_alive():
            finish_loop(loop)
        loop.close()


def finish_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Let a stopped loop finish what its server's cleanup started, then close what is left.

    The cleanup cancels its connections' handlers, whose ``finally`` closes each transport,
    and a transport closes its socket in a callback: a loop closed before those ran leaves
    sockets to the garbage collector ("unclosed transport", an error in whichever test the
    collection happens to land in: tracemalloc traced such sockets to this loop's accept).
    """
    pending = asyncio.all_tasks(loop)
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=5))
    for transport in _open_transports(loop):
        transport.close()
    # Two turns: a closed transport's callbacks may schedule one more.
    loop.run_until_complete(asyncio.sleep(0))
    loop.run_until_complete(asyncio.sleep(0))


def _open_transports(loop: asyncio.AbstractEventLoop) -> list[asyncio.Transport]:
    # No public list of a loop's transports; the collector knows every one still alive.
    # type(), not isinstance(): a weak proxy to a dead object raises on any other question.
    return [
        obj
        for obj in gc.get_objects()
        if issubclass(type(obj), asyncio.Transport)
        and getattr(obj, "_loop", None) is loop
        and not obj.is_closing()
    ]


def wait_until_listening(port: int, thread: threading.Thread) -> None:
    """Return once the fake accepts connections on ``port``."""
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake FCM server did not start") from None
            time.sleep(0.01)


@pytest.fixture(name="fake_fcm")
def fake_fcm_fixture(tmp_path: Path) -> Iterator[FakeFcm]:
    """A running fake; import this into a test module to use ``fake_fcm``."""
    with start_fake_fcm(tmp_path) as fake:
        yield fake
