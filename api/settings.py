"""Settings, read once from RAPPORT_* environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str | None = None
    data_dir: Path = Path(".rapport")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=1, ge=1)
    # Connections each process keeps open, and how many more it may open for a burst. Size the
    # pool to the requests in flight: a connection beyond it is opened for one use and closed
    # on return, which costs PostgreSQL a backend start (bench/RESULTS.md, issue 13 hot path).
    db_pool_size: int = Field(default=16, ge=1)
    db_max_overflow: int = Field(default=4, ge=0)
    log_level: str = "INFO"

    secret_key: SecretStr | None = None
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_days: int = Field(default=30, ge=1)
    # How long a session found active is trusted without asking the database again.
    session_recheck_seconds: float = Field(default=5, ge=0, le=60)
    # "cheapest" is for tests only: it makes hashing fast and weak.
    password_hash_profile: Literal["rfc9106-low-memory", "cheapest"] = "rfc9106-low-memory"  # noqa: S105

    # Rate limits (docs/operations.md, "Rate limits"). The sign-in and sign-up limits are kept
    # in PostgreSQL and hold across API processes; the request rate is counted per process.
    # Sign-in attempts per email since its last successful sign-in, from any address.
    sign_in_account_limit: int = Field(default=10, ge=1)
    # Sign-in attempts per client address, successful or not.
    sign_in_address_limit: int = Field(default=50, ge=1)
    sign_in_period_seconds: float = Field(default=900, gt=0)
    # Sign-up attempts per client address (taken emails included: it slows enumeration).
    sign_up_address_limit: int = Field(default=20, ge=1)
    sign_up_period_seconds: float = Field(default=3600, gt=0)
    # Requests per signed-in user, in each API process.
    request_limit: int = Field(default=600, ge=1)
    request_period_seconds: float = Field(default=60, gt=0)
    # Proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips): addresses
    # or networks, comma-separated, or "*". Others' X-Forwarded-For is ignored.
    trusted_proxies: str = "127.0.0.1"

    tombstone_retention_days: int = Field(default=180, ge=1)

    firebase_project_id: str | None = None
    firebase_cert_url: str | None = None

    # Push delivery. Without a service-account file, pushes are logged instead of sent.
    fcm_credentials_file: Path | None = None
    # The FCM endpoint, for emulators and tests (default: Google's).
    fcm_url: str | None = None
    fcm_timeout_seconds: float = Field(default=10, gt=0)
    # Requests to FCM in flight at once, each on a keep-alive connection of its own.
    fcm_max_connections: int = Field(default=100, ge=1, le=1000)
    # Run the notifications worker inside each API process (default: in development only).
    worker_in_process: bool | None = None
    worker_batch_size: int = Field(default=500, ge=1, le=5000)
    # Batches one worker claims, sends and records at once: one's database work overlaps
    # another's sending. A worker killed mid-send re-sends at most these after their lease.
    worker_batches_in_flight: int = Field(default=2, ge=1, le=16)
    worker_poll_seconds: float = Field(default=2, gt=0)
    # How long a claimed batch stays a worker's without renewal; renewed every third of it
    # while the batch is out, so a killed worker's batch is sent again about this long after.
    # Under a second, ordinary database and event-loop pauses would let others take live work.
    worker_lease_seconds: float = Field(default=30, ge=1, le=3600, allow_inf_nan=False)

    playground: bool | None = None
    # The playground's older name, still honoured when RAPPORT_PLAYGROUND is unset.
    graphiql: bool | None = None
    # Where `make playground` copied GraphiQL and React; unset: playground/dist in the checkout.
    playground_assets: Path | None = None
    introspection: bool | None = None
    max_query_depth: int = Field(default=10, ge=2)
    max_aliases: int = Field(default=15, ge=1)
    max_tokens: int = Field(default=2000, ge=100)
    # The largest request body, GET query string or WebSocket message accepted, in bytes.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # The largest multipart request (a file to import), in bytes; docs/api.md, "Import".
    max_upload_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # Answer the app's reads with one SQL statement each where they compile (reads/); off
    # sends every operation through the resolvers, for debugging.
    compiled_reads: bool = True
    # Automatic persisted queries (docs/api.md): documents kept per API process, least recently
    # used out first, bounded by count and by bytes. 0 documents turns persisted queries off.
    persisted_queries_max_documents: int = Field(default=10_000, ge=0)
    persisted_queries_max_bytes: int = Field(default=16 * 1024 * 1024, ge=0)

    @property
    def playground_on(self) -> bool:
        for choice in (self.playground, self.graphiql):
            if choice is not None:
                return choice
        return self.env == "development"

    @property
    def worker_in_process_on(self) -> bool:
        if self.worker_in_process is not None:
            return self.worker_in_process
        return self.env == "development"

    @property
    def introspection_on(self) -> bool:
        return self.introspection if self.introspection is not None else self.env == "development"

    def signing_key(self) -> str:
        """Return the token signing key; in development, one kept under the data directory."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if self.env == "production":
            raise RuntimeError("RAPPORT_SECRET_KEY must be set in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
