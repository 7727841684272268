"""Firebase ID tokens, verified with google-auth against Google's public certificates."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import cachecontrol
import requests
from google.auth import exceptions as google_auth_exceptions
from google.auth.transport import requests as google_auth_requests
from google.oauth2 import id_token

# Where Firebase Auth publishes the certificates its ID tokens are signed with.
CERT_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)
# Firebase's own limit on a uid.
_MAX_UID_CHARS = 128


class FirebaseVerifier:
    """Verify Firebase ID tokens for one project.

    ``cert_url`` replaces Google's certificate endpoint (tests and emulators serve their own).
    The certificates are cached as long as their Cache-Control allows, so a sign-in costs no
    request to Google most of the time.
    """

    def __init__(self, project_id: str, cert_url: str | None = None) -> None:
        self.project_id = project_id
        self.cert_url = cert_url or CERT_URL
        self._session = cachecontrol.CacheControl(requests.Session())
        self._request = google_auth_requests.Request(session=self._session)

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims (``uid`` among them), or raise ValueError saying why not."""
        return await anyio.to_thread.run_sync(self._verify, token)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims = dict(
                id_token.verify_token(
                    token, self._request, audience=self.project_id, certs_url=self.cert_url
                )
            )
        except google_auth_exceptions.TransportError as exc:
            raise ValueError(f"the Firebase certificates could not be fetched: {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"invalid Firebase ID token: {exc}") from exc
        issuer = f"https://securetoken.google.com/{self.project_id}"
        if claims.get("iss") != issuer:
            raise ValueError(f"invalid Firebase ID token: its issuer is not {issuer}")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject or len(subject) > _MAX_UID_CHARS:
            raise ValueError("invalid Firebase ID token: its subject is not a Firebase uid")
        claims["uid"] = subject
        return claims

    def close(self) -> None:
        self._session.close()
