"""FCM HTTP v1 over aiohttp, with a google-auth access token: one message per request.

Public APIs only: google-auth makes and refreshes the OAuth2 access token (a service account's
JWT exchanged at its ``token_uri``, or application-default credentials), aiohttp carries the
requests, and ``notifications.fcm_message`` / ``notifications.fcm_error`` read and write FCM's
JSON. What a long-running async worker needs from it:

* The token refresh is a blocking google-auth call: it runs in a thread, bounded by the
  client's timeout (google-auth itself would wait 120 s), one refresh at a time.
* An HTTP 401 means our access token was revoked early, unless FCM says the error is about
  APNs or web-push credentials (THIRD_PARTY_AUTH_ERROR, also a 401): only then is a new token
  fetched and the request sent once more.
* One attempt per message, no retries inside the send: the worker retries with its back-off.
* aiohttp's compiled HTTP parser costs a fraction of httpx's CPU per request (bench/RESULTS.md).

FCM v1 takes one message per request, so throughput comes from requests in flight: HTTP/1.1
with keep-alive over ``max_connections`` connections.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport import requests as google_auth_requests

from notifications.fcm_error import THIRD_PARTY_AUTH_CODES, FcmError, error_from_answer

FCM_URL = "https://fcm.googleapis.com/v1/projects/{0}/messages:send"
# The OAuth2 scopes of a token that may send FCM messages.
SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/firebase.messaging",
)
# Requests in flight at once, each on a keep-alive connection of its own. FCM answers in tens
# of milliseconds from most places, so a hundred carry a few thousand messages a second.
MAX_CONNECTIONS = 100

_NOT_OUR_TOKEN = tuple(code.encode() for code in THIRD_PARTY_AUTH_CODES)


class AccessToken:
    """A google-auth credential's access token, refreshed off the event loop."""

    def __init__(self, credential: Any, timeout: float) -> None:
        self._credential = credential
        self._timeout = timeout
        self._lock = asyncio.Lock()

    @property
    def value(self) -> str:
        return str(self._credential.token)

    async def ensure(self) -> None:
        """Fetch an access token unless the current one is still good."""
        if self._credential.valid:
            return
        async with self._lock:
            if not self._credential.valid:
                await self._refresh()

    async def replace(self, rejected: str) -> None:
        """Fetch a new access token, unless a concurrent request already did."""
        async with self._lock:
            if self._credential.token == rejected or not self._credential.valid:
                await self._refresh()

    async def _refresh(self) -> None:
        await asyncio.to_thread(self._credential.refresh, self._make_request())

    def _make_request(self) -> Callable[..., Any]:
        request = google_auth_requests.Request()

        def request_with_timeout(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)
            return request(*args, **kwargs)

        return request_with_timeout


class FcmClient:
    """Send FCM v1 messages for one project; each send answers a message name or an error."""

    def __init__(
        self,
        credential: Any,
        project_id: str,
        *,
        fcm_url: str | None = None,
        timeout: float = 10.0,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self.token = AccessToken(credential, timeout)
        self._url = (fcm_url or FCM_URL).format(project_id)
        self._max_connections = max_connections
        # A wait for a free connection is not a timeout: the batch is simply queued here.
        self._in_flight = asyncio.Semaphore(max_connections)
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        # Made on first use, inside the event loop that will use it.
        self._session: aiohttp.ClientSession | None = None

    async def send(self, body: dict[str, Any], *, now: float) -> str | FcmError | None:
        """Send one message; answer FCM's name for it (None if it named none) or the error."""
        data = orjson.dumps(body)
        token = self.token.value
        answer = await self._post(data, token)
        if isinstance(answer, FcmError):
            return answer
        status, headers, content = answer
        if status == 401 and not any(code in content for code in _NOT_OUR_TOKEN):
            # Google revoked the token before it expired: fetch another and try once more.
            try:
                await self.token.replace(token)
            except google_auth_exceptions.GoogleAuthError:
                pass
            else:
                answer = await self._post(data, self.token.value)
                if isinstance(answer, FcmError):
                    return answer
                status, headers, content = answer
        if 200 <= status < 300:
            try:
                name = orjson.loads(content).get("name")
            except (orjson.JSONDecodeError, AttributeError):
                name = None
            return str(name) if name else None
        return error_from_answer(status, headers, content, now=now)

    async def _post(self, data: bytes, token: str) -> tuple[int, dict[str, str], bytes] | FcmError:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        session = self._open_session()
        try:
            async with (
                self._in_flight,
                session.post(self._url, data=data, headers=headers) as answer,
            ):
                return answer.status, dict(answer.headers), await answer.read()
        except TimeoutError as exc:
            return FcmError("DEADLINE_EXCEEDED", f"Timed out while sending to FCM: {exc}")
        except aiohttp.ClientConnectorError as exc:
            return FcmError("UNAVAILABLE", f"Failed to establish a connection: {exc}")
        except aiohttp.ClientError as exc:
            # A dropped connection or a garbled answer.
            return FcmError("UNKNOWN", f"{type(exc).__name__} while sending to FCM: {exc}")

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
