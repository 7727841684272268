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
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator
from typing import Any

import firebase_admin
import httpx
from firebase_admin import messaging
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport import requests as google_auth_requests

# FCM v1 error codes that arrive as HTTP 401 but say nothing about our access token.
_NOT_OUR_TOKEN = (b"THIRD_PARTY_AUTH_ERROR", b"APNS_AUTH_ERROR")
# send_each_async starts all of a batch's 500 requests at once. Over HTTP/2 (FCM) each
# connection carries about 100 of them, so this is no limit; over HTTP/1.1 (emulators, tests)
# it bounds the in-flight requests, and httpcore's pool, which rescans every queued request
# against every connection whenever one finishes, stays cheap.
MAX_CONNECTIONS = 10


class AccessTokenAuth(httpx.Auth):
    """Send a Google credential's access token; refresh it off the event loop."""

    def __init__(self, credential: Any, timeout: float) -> None:
        self._credential = credential
        self._timeout = timeout
        self._lock = asyncio.Lock()

    async def ensure_token(self) -> None:
        """Fetch an access token unless the current one is still good."""
        async with self._lock:
            if not self._credential.valid:
                await self._refresh()

    async def replace_token(self, rejected: str | None) -> None:
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

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        try:
            await self.ensure_token()
        except google_auth_exceptions.GoogleAuthError as exc:
            # An httpx error, so firebase-admin turns it into this one message's error.
            raise httpx.RequestError(f"no FCM access token: {exc}", request=request) from exc
        token = self._credential.token
        self._credential.apply(request.headers)
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        if any(code in response.content for code in _NOT_OUR_TOKEN):
            return
        # Google revoked the token before it expired: fetch another and try once more.
        try:
            await self.replace_token(token)
        except google_auth_exceptions.GoogleAuthError:
            return
        self._credential.apply(request.headers)
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("AccessTokenAuth is for httpx.AsyncClient only")


class FcmHttpClient:
    """The part of firebase-admin's HttpxAsyncClient that its messaging service uses."""

    def __init__(self, credential: Any, timeout: float) -> None:
        self.auth = AccessTokenAuth(credential, timeout)
        self._in_flight = asyncio.Semaphore(MAX_CONNECTIONS)
        self._client = httpx.AsyncClient(
            http2=True,
            timeout=timeout,
            auth=self.auth,
            transport=httpx.AsyncHTTPTransport(
                http2=True, retries=0, limits=httpx.Limits(max_connections=MAX_CONNECTIONS)
            ),
        )

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        # Queue here rather than in httpcore's pool: its wait queue is rescanned whenever a
        # connection frees up, which with a 500-message batch cost ~10 ms of CPU a request.
        async with self._in_flight:
            response = await self._client.request(method, url, **kwargs)
        # firebase-admin maps httpx.HTTPStatusError, body and headers included, to its errors.
        return response.raise_for_status()

    async def aclose(self) -> None:
        await self._client.aclose()


class MessagingService(messaging._MessagingService):  # type: ignore[misc]
    """firebase-admin's FCM service with our HTTP client and, optionally, another endpoint."""

    def __init__(self, app: firebase_admin.App, fcm_url: str | None, timeout: float) -> None:
        super().__init__(app)
        if fcm_url is not None:
            # Per instance, so tests and emulators never redirect another app's messages.
            self._fcm_url = fcm_url.format(app.project_id)
        self.http = FcmHttpClient(self._credential, timeout)
        self._async_client = self.http

    async def aclose(self) -> None:
        await self.http.aclose()
        # The synchronous requests session the SDK opened for send() and send_each().
        self._client.close()

    def close(self) -> None:
        # delete_app() calls this; FcmSender.close() has already awaited aclose().
        return None
