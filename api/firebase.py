"""Firebase ID tokens, verified with firebase-admin."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import firebase_admin
from firebase_admin import _token_gen, auth, credentials
from google.auth.credentials import AnonymousCredentials


class _NoCredentials(credentials.Base):  # type: ignore[misc]
    """Verifying ID tokens needs only Google's public certificates, never a service account."""

    def get_credential(self) -> Any:
        return AnonymousCredentials()  # type: ignore[no-untyped-call]


class FirebaseVerifier:
    """Verify Firebase ID tokens for one project."""

    def __init__(self, project_id: str, cert_url: str | None = None) -> None:
        if cert_url is not None:
            # Tests and emulators serve the signing certificates locally; the verifier reads
            # this address when the app's auth client is built, just below.
            _token_gen.ID_TOKEN_CERT_URI = cert_url
        name = f"rapport-auth-{project_id}-{id(self)}"
        self.app = firebase_admin.initialize_app(
            _NoCredentials(), options={"projectId": project_id}, name=name
        )
        self._client = auth._get_client(self.app)

    async def verify(self, token: str) -> dict[str, Any]:
        """Return the token's claims, or raise ValueError saying why it was refused."""
        try:
            claims: dict[str, Any] = await anyio.to_thread.run_sync(
                self._client.verify_id_token, token
            )
        except (
            auth.InvalidIdTokenError,
            auth.ExpiredIdTokenError,
            auth.CertificateFetchError,
        ) as exc:
            raise ValueError(str(exc)) from exc
        return claims

    def close(self) -> None:
        firebase_admin.delete_app(self.app)
