"""The HTTP side of firebase-admin's FCM service, adjusted for a long-running async worker.

firebase-admin 7.7's ``send_each_async`` is right about messages and errors, but its async
HTTP client is not what a worker wants, so ``MessagingService`` swaps in ``FcmHttpClient``:

* It refreshes the OAuth2 access token with a blocking ``requests`` call inside its httpx auth
  flow, stalling the event loop; here the refresh runs in a thread.
* It answers every HTTP 401 by refreshing the token and resending, twice. FCM's
  THIRD_PARTY_AUTH_ERROR (bad APNs or web-push credentials) is a 401 as well, so each failing
  iOS push cost three sends and two token fetches; here that error is answered as it is.
* It retries 500 and 503 up to four times with back-off (about 7 s) inside the send, holding
  the whole batch; here there is one attempt, and the worker retries with its own back-off.
* Its ``close()`` calls ``asyncio.run()``, which fails inside a running event loop.
* httpx costs about 2 ms of CPU per request (measured in bench/RESULTS.md), which capped a
  worker near 300 pushes a second; aiohttp, whose HTTP parser is compiled, costs about 0.2 ms.

FCM v1 takes one message per request, so throughput comes from requests in flight: HTTP/1.1
with keep-alive over ``max_connections`` connections. firebase-admin still builds every
request and reads every answer; to it this client looks like httpx: an answer with ``json()``,
and ``httpx`` errors (a status error carrying the response) from which it builds its own.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from typing import Any

import aiohttp
import firebase_admin
import httpx
import orjson
from firebase_admin import messaging
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport import requests as google_auth_requests

# FCM v1 error codes that arrive as HTTP 401 but say nothing about our access token.
_NOT_OUR_TOKEN = (b"THIRD_PARTY_AUTH_ERROR", b"APNS_AUTH_ERROR")
# send_each_async starts all of a batch's 500 requests at once; this many are in flight, each
# on a keep-alive connection of its own. FCM answers in tens of milliseconds from most places,
# so a hundred carry a few thousand messages a second.
MAX_CONNECTIONS = 100


class AccessToken:
    """A Google credential's access token, refreshed off the event loop."""

    def __init__(self, credential: Any, timeout: float) -> None:
        self._credential = credential
        self._timeout = timeout
        self._lock = asyncio.Lock()

    @property
    def value(self) -> str:
        return str(self._credential.token)

    async def ensure_token(self) -> None:
        """Fetch an access token unless the current one is still good."""
        if self._credential.valid:
            return
        async with self._lock:
            if not self._credential.valid:
                await self._refresh()

    async def replace_token(self, rejected: str) -> None:
        """Fetch a new access token, unless a concurrent request already did."""
        async with self._lock:
            if self._credential.token == rejected or not self._credential.valid:
                await self._refresh()

    async def _refresh(self) -> None:
        await asyncio.to_thread(self._credential.refresh, self._make_request())

    def _make_request(self) -> Any:
        # google-auth waits 120 s for the token endpoint unless told otherwise.
        request = google_auth_requests.Request()

        def request_with_timeout(*args: Any, **kwargs: Any) -> Any:
            kwargs.setdefault("timeout", self._timeout)
            return request(*args, **kwargs)

        return request_with_timeout


class JsonAnswer:
    """A 2xx answer, as much of an httpx.Response as firebase-admin reads from it."""

    __slots__ = ("content",)

    def __init__(self, content: bytes) -> None:
        self.content = content

    def json(self) -> Any:
        return orjson.loads(self.content)


class FcmHttpClient:
    """The part of firebase-admin's HttpxAsyncClient that its messaging service uses."""

    def __init__(
        self, credential: Any, timeout: float, max_connections: int = MAX_CONNECTIONS
    ) -> None:
        self.auth = AccessToken(credential, timeout)
        self._max_connections = max_connections
        # A wait for a free connection is not a timeout: the batch is simply queued here.
        self._in_flight = asyncio.Semaphore(max_connections)
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        # Made on first use, inside the event loop that will use it.
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=self._timeout,
                raise_for_status=False,
            )
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> JsonAnswer:
        """Send one request; answer its 2xx body or raise the httpx error that describes it."""
        try:
            await self.auth.ensure_token()
        except google_auth_exceptions.GoogleAuthError as exc:
            # An httpx error, so firebase-admin turns it into this one message's error.
            raise httpx.TransportError(f"no FCM access token: {exc}") from exc
        body = orjson.dumps(json)
        token = self.auth.value
        status, answer_headers, content = await self._send(method, url, headers, body, token)
        if status == 401 and not any(code in content for code in _NOT_OUR_TOKEN):
            # Google revoked the token before it expired: fetch another and try once more.
            try:
                await self.auth.replace_token(token)
            except google_auth_exceptions.GoogleAuthError:
                pass
            else:
                status, answer_headers, content = await self._send(
                    method, url, headers, body, self.auth.value
                )
        if 200 <= status < 300:
            return JsonAnswer(content)
        # firebase-admin maps httpx.HTTPStatusError, body and headers included, to its errors.
        request = httpx.Request(method, url)
        response = httpx.Response(status, headers=answer_headers, content=content, request=request)
        raise httpx.HTTPStatusError(f"FCM answered {status}", request=request, response=response)

    async def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        body: bytes,
        token: str,
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        request_headers = {
            **(headers or {}),
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
        }
        session = self._open_session()
        try:
            async with (
                self._in_flight,
                session.request(method, url, data=body, headers=request_headers) as answer,
            ):
                return answer.status, list(answer.headers.items()), await answer.read()
        # httpx's exceptions for firebase-admin, built only on failure: an httpx.Request costs
        # more CPU than the whole aiohttp request.
        except TimeoutError as exc:
            message = f"no answer from FCM in time: {exc}"
            raise httpx.ReadTimeout(message, request=httpx.Request(method, url)) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=httpx.Request(method, url)) from exc
        except aiohttp.ClientError as exc:
            # A dropped connection or a garbled answer: firebase-admin calls it UNKNOWN.
            message = f"{type(exc).__name__}: {exc}"
            raise httpx.TransportError(message, request=httpx.Request(method, url)) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class MessagingService(messaging._MessagingService):  # type: ignore[misc]
    """firebase-admin's FCM service with our HTTP client and, optionally, another endpoint."""

    def __init__(
        self,
        app: firebase_admin.App,
        fcm_url: str | None,
        timeout: float,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        super().__init__(app)
        if fcm_url is not None:
            # Per instance, so tests and emulators never redirect another app's messages.
            self._fcm_url = fcm_url.format(app.project_id)
        self.http = FcmHttpClient(self._credential, timeout, max_connections)
        self._async_client = self.http
        self._encoded: weakref.WeakKeyDictionary[messaging.Message, dict[str, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def encode(self, message: messaging.Message) -> dict[str, Any]:
        """Encode (and so validate) ``message``; its send reuses this encoding."""
        encoded: dict[str, Any] = self.encode_message(message)
        self._encoded[message] = encoded
        return encoded

    def _message_data(self, message: messaging.Message, dry_run: bool) -> dict[str, Any]:
        # send_each_async encodes every message before sending any; FcmSender has already
        # encoded each one to set aside those the SDK refuses, so the encoding is not redone.
        encoded = self._encoded.pop(message, None)
        if encoded is None:
            encoded = self.encode_message(message)
        data: dict[str, Any] = {"message": encoded}
        if dry_run:
            data["validate_only"] = True
        return data

    async def aclose(self) -> None:
        await self.http.aclose()
        # The synchronous requests session the SDK opened for send() and send_each().
        self._client.close()

    def close(self) -> None:
        # delete_app() calls this; FcmSender.close() has already awaited aclose().
        return None
