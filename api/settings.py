"""Settings, in groups, read once from RAPPORT_* environment variables.

Each field names its variable (README.md, "Settings", lists them all). A group reads the
environment when it is built, once per process at start-up (``rapport`` and ``api.main``); the
groups are frozen, so the value read is the value used for the life of the process. Tests build
groups with explicit values instead (tests/conftest.py, ``make_settings``).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class _Group(BaseSettings):
    # Fields are read from their alias (the variable) and may be given by name in code; any
    # other variable, RAPPORT_ or not, is ignored.
    model_config = SettingsConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )


class ServerSettings(_Group):
    """How the API is served: the environment it runs in, where it listens, its logs, metrics."""

    env: Literal["development", "production"] = Field(
        default="development", validation_alias="RAPPORT_ENV"
    )
    host: str = Field(default="127.0.0.1", validation_alias="RAPPORT_HOST")
    port: int = Field(default=8000, validation_alias="RAPPORT_PORT")
    workers: int = Field(default=1, ge=1, validation_alias="RAPPORT_WORKERS")
    log_level: str = Field(default="INFO", validation_alias="RAPPORT_LOG_LEVEL")
    # "json": one JSON object per line, with request id, operation and a hashed owner id
    # (docs/operations.md, "Logs").
    log_format: Literal["text", "json"] = Field(
        default="text", validation_alias="RAPPORT_LOG_FORMAT"
    )
    # Proxies whose X-Forwarded-For names the client (uvicorn's forwarded_allow_ips): addresses
    # or networks, comma-separated, or "*". Others' X-Forwarded-For is ignored.
    trusted_proxies: str = Field(default="127.0.0.1", validation_alias="RAPPORT_TRUSTED_PROXIES")
    # GET /metrics (docs/operations.md, "Metrics") answers in development, or when on and, with
    # a token set, only to "Authorization: Bearer <token>".
    metrics: bool | None = Field(default=None, validation_alias="RAPPORT_METRICS")
    metrics_token: SecretStr | None = Field(default=None, validation_alias="RAPPORT_METRICS_TOKEN")


class DatabaseSettings(_Group):
    """Where the data lives, the connections each process holds, how long deleted rows stay."""

    # Unset: an embedded PostgreSQL under data_dir/pg.
    url: str | None = Field(default=None, validation_alias="RAPPORT_DATABASE_URL")
    data_dir: Path = Field(default=Path(".rapport"), validation_alias="RAPPORT_DATA_DIR")
    # Connections each process keeps open, and how many more it may open for a burst. Size the
    # pool to the requests in flight: a connection beyond it is opened for one use and closed
    # on return, which costs PostgreSQL a backend start (bench/RESULTS.md, issue 13 hot path).
    pool_size: int = Field(default=16, ge=1, validation_alias="RAPPORT_DB_POOL_SIZE")
    max_overflow: int = Field(default=4, ge=0, validation_alias="RAPPORT_DB_MAX_OVERFLOW")
    tombstone_retention_days: int = Field(
        default=180, ge=1, validation_alias="RAPPORT_TOMBSTONE_RETENTION_DAYS"
    )
    # PgBouncer (docs/operations.md, "PgBouncer"): on, the URL above names a PgBouncer in
    # transaction pooling mode, and what needs a session of its own (LISTEN, the migration
    # lock) uses the direct URL: PostgreSQL itself.
    pgbouncer: bool = Field(default=False, validation_alias="RAPPORT_DATABASE_PGBOUNCER")
    direct_url: str | None = Field(default=None, validation_alias="RAPPORT_DATABASE_DIRECT_URL")
    # A streaming replica of it: pulled pages and insight reads go there once it has replayed
    # the owner's writes (docs/operations.md, "Read replica").
    replica_url: str | None = Field(default=None, validation_alias="RAPPORT_DATABASE_REPLICA_URL")


class AuthSettings(_Group):
    """Who may call: token signing and lifetimes, password hashing, Firebase sign-in."""

    secret_key: SecretStr | None = Field(default=None, validation_alias="RAPPORT_SECRET_KEY")
    access_token_ttl_seconds: int = Field(
        default=900, ge=30, validation_alias="RAPPORT_ACCESS_TOKEN_TTL_SECONDS"
    )
    refresh_token_ttl_days: int = Field(
        default=30, ge=1, validation_alias="RAPPORT_REFRESH_TOKEN_TTL_DAYS"
    )
    # How long a session found active is trusted without asking the database again.
    session_recheck_seconds: float = Field(
        default=5, ge=0, le=60, validation_alias="RAPPORT_SESSION_RECHECK_SECONDS"
    )
    # "cheapest" is for tests only: it makes hashing fast and weak.
    password_hash_profile: Literal["rfc9106-low-memory", "cheapest"] = Field(
        default="rfc9106-low-memory",
        validation_alias="RAPPORT_PASSWORD_HASH_PROFILE",
    )
    # Also the project pushes are sent for when the service-account file names none.
    firebase_project_id: str | None = Field(
        default=None, validation_alias="RAPPORT_FIREBASE_PROJECT_ID"
    )
    firebase_cert_url: str | None = Field(
        default=None, validation_alias="RAPPORT_FIREBASE_CERT_URL"
    )


class LimitSettings(_Group):
    """How much one client may ask: the size of a request and a message, and their rates.

    The sign-in and sign-up limits are kept in PostgreSQL and hold across API processes; the
    request rate is counted per process (docs/operations.md, "Rate limits").
    """

    # The largest request body, GET query string or WebSocket message accepted, in bytes.
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, validation_alias="RAPPORT_MAX_BODY_BYTES"
    )
    # The largest multipart request (a file to import), in bytes; docs/api.md, "Import".
    max_upload_bytes: int = Field(
        default=25 * 1024 * 1024, ge=1024, validation_alias="RAPPORT_MAX_UPLOAD_BYTES"
    )
    max_query_depth: int = Field(default=10, ge=2, validation_alias="RAPPORT_MAX_QUERY_DEPTH")
    max_aliases: int = Field(default=15, ge=1, validation_alias="RAPPORT_MAX_ALIASES")
    max_tokens: int = Field(default=2000, ge=100, validation_alias="RAPPORT_MAX_TOKENS")
    # Sign-in attempts per email since its last successful sign-in, from any address.
    sign_in_account_limit: int = Field(
        default=10, ge=1, validation_alias="RAPPORT_SIGN_IN_ACCOUNT_LIMIT"
    )
    # Sign-in attempts per client address, successful or not.
    sign_in_address_limit: int = Field(
        default=50, ge=1, validation_alias="RAPPORT_SIGN_IN_ADDRESS_LIMIT"
    )
    sign_in_period_seconds: float = Field(
        default=900, gt=0, validation_alias="RAPPORT_SIGN_IN_PERIOD_SECONDS"
    )
    # Sign-up attempts per client address (taken emails included: it slows enumeration).
    sign_up_address_limit: int = Field(
        default=20, ge=1, validation_alias="RAPPORT_SIGN_UP_ADDRESS_LIMIT"
    )
    sign_up_period_seconds: float = Field(
        default=3600, gt=0, validation_alias="RAPPORT_SIGN_UP_PERIOD_SECONDS"
    )
    # Requests per signed-in user, in each API process.
    request_limit: int = Field(default=600, ge=1, validation_alias="RAPPORT_REQUEST_LIMIT")
    request_period_seconds: float = Field(
        default=60, gt=0, validation_alias="RAPPORT_REQUEST_PERIOD_SECONDS"
    )


class GraphQLSettings(_Group):
    """What the GraphQL endpoint offers: the playground, introspection, reads, persisted queries."""

    playground: bool | None = Field(default=None, validation_alias="RAPPORT_PLAYGROUND")
    # The playground's older name, still honoured when RAPPORT_PLAYGROUND is unset.
    graphiql: bool | None = Field(default=None, validation_alias="RAPPORT_GRAPHIQL")
    # Where `make playground` copied GraphiQL and React; unset: playground/dist in the checkout.
    playground_assets: Path | None = Field(
        default=None, validation_alias="RAPPORT_PLAYGROUND_ASSETS"
    )
    introspection: bool | None = Field(default=None, validation_alias="RAPPORT_INTROSPECTION")
    # Answer the app's reads with one SQL statement each where they compile (reads/); off
    # sends every operation through the resolvers, for debugging.
    compiled_reads: bool = Field(default=True, validation_alias="RAPPORT_COMPILED_READS")
    # Automatic persisted queries (docs/api.md): documents kept per API process, least recently
    # used out first, bounded by count and by bytes. 0 documents turns persisted queries off.
    persisted_queries_max_documents: int = Field(
        default=10_000, ge=0, validation_alias="RAPPORT_PERSISTED_QUERIES_MAX_DOCUMENTS"
    )
    persisted_queries_max_bytes: int = Field(
        default=16 * 1024 * 1024, ge=0, validation_alias="RAPPORT_PERSISTED_QUERIES_MAX_BYTES"
    )


class PushSettings(_Group):
    """How pushes reach FCM. Without a service-account file, pushes are logged, not sent."""

    fcm_credentials_file: Path | None = Field(
        default=None, validation_alias="RAPPORT_FCM_CREDENTIALS_FILE"
    )
    # The FCM endpoint, for emulators and tests (default: Google's).
    fcm_url: str | None = Field(default=None, validation_alias="RAPPORT_FCM_URL")
    fcm_timeout_seconds: float = Field(
        default=10, gt=0, validation_alias="RAPPORT_FCM_TIMEOUT_SECONDS"
    )
    # Requests to FCM in flight at once, each on a keep-alive connection of its own.
    fcm_max_connections: int = Field(
        default=100, ge=1, le=1000, validation_alias="RAPPORT_FCM_MAX_CONNECTIONS"
    )


class WorkerSettings(_Group):
    """How the notifications worker claims and paces its batches, and where it runs."""

    # Run the notifications worker inside each API process (default: in development only).
    in_process: bool | None = Field(default=None, validation_alias="RAPPORT_WORKER_IN_PROCESS")
    batch_size: int = Field(
        default=500, ge=1, le=5000, validation_alias="RAPPORT_WORKER_BATCH_SIZE"
    )
    # Batches one worker claims, sends and records at once: one's database work overlaps
    # another's sending. A worker killed mid-send re-sends at most these after their lease.
    batches_in_flight: int = Field(
        default=2, ge=1, le=16, validation_alias="RAPPORT_WORKER_BATCHES_IN_FLIGHT"
    )
    poll_seconds: float = Field(default=2, gt=0, validation_alias="RAPPORT_WORKER_POLL_SECONDS")
    # How long a claimed batch stays a worker's without renewal; renewed every third of it
    # while the batch is out, so a killed worker's batch is sent again about this long after.
    # Under a second, ordinary database and event-loop pauses would let others take live work.
    lease_seconds: float = Field(
        default=30,
        ge=1,
        le=3600,
        allow_inf_nan=False,
        validation_alias="RAPPORT_WORKER_LEASE_SECONDS",
    )
    # `rapport worker` serves its metrics on this port (of RAPPORT_HOST); unset: not at all.
    metrics_port: int | None = Field(
        default=None, ge=1, le=65535, validation_alias="RAPPORT_WORKER_METRICS_PORT"
    )


class MailSettings(_Group):
    """Account email (reset links, email confirmations) and the calendar feed's public URL.

    Without an SMTP host, emails are logged instead of sent; their text (with its link) only in
    development (docs/operations.md, "Email").
    """

    smtp_host: str | None = Field(default=None, validation_alias="RAPPORT_SMTP_HOST")
    smtp_port: int = Field(default=587, ge=1, le=65535, validation_alias="RAPPORT_SMTP_PORT")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", validation_alias="RAPPORT_SMTP_SECURITY"
    )
    smtp_username: str | None = Field(default=None, validation_alias="RAPPORT_SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(default=None, validation_alias="RAPPORT_SMTP_PASSWORD")
    smtp_timeout_seconds: float = Field(
        default=10, gt=0, validation_alias="RAPPORT_SMTP_TIMEOUT_SECONDS"
    )
    mail_from: str = Field(
        default="Rapport <no-reply@localhost>", validation_alias="RAPPORT_MAIL_FROM"
    )
    # Where the emails' links open (the app's link domain): /reset-password?token=…,
    # /confirm-email?token=… and /verify-email?token=…; the page or app there calls
    # resetPassword, confirmEmailChange or confirmEmail.
    app_url: str = Field(default="http://127.0.0.1:8000", validation_alias="RAPPORT_APP_URL")
    # This API as calendar apps reach it: the calendar feed's URL starts with it.
    public_url: str = Field(default="http://127.0.0.1:8000", validation_alias="RAPPORT_PUBLIC_URL")
    password_reset_ttl_minutes: int = Field(
        default=30, ge=5, le=1440, validation_alias="RAPPORT_PASSWORD_RESET_TTL_MINUTES"
    )
    # How long an email change's confirmation link, and a sign-up's verification link, work.
    email_change_ttl_hours: int = Field(
        default=24, ge=1, le=168, validation_alias="RAPPORT_EMAIL_CHANGE_TTL_HOURS"
    )
    # Account emails per address they go to, and requests for them or uses of their links per
    # client address, in each period.
    email_limit: int = Field(default=3, ge=1, validation_alias="RAPPORT_MAIL_EMAIL_LIMIT")
    address_limit: int = Field(default=20, ge=1, validation_alias="RAPPORT_MAIL_ADDRESS_LIMIT")
    period_seconds: float = Field(
        default=3600, gt=0, validation_alias="RAPPORT_MAIL_PERIOD_SECONDS"
    )


class Settings(BaseModel):
    """Every group; ``Settings()`` reads them all from the environment."""

    model_config = ConfigDict(frozen=True)

    server: ServerSettings = Field(default_factory=ServerSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    graphql: GraphQLSettings = Field(default_factory=GraphQLSettings)
    push: PushSettings = Field(default_factory=PushSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    mail: MailSettings = Field(default_factory=MailSettings)

    @property
    def development(self) -> bool:
        return self.server.env == "development"

    @property
    def playground_on(self) -> bool:
        for choice in (self.graphql.playground, self.graphql.graphiql):
            if choice is not None:
                return choice
        return self.development

    @property
    def introspection_on(self) -> bool:
        introspection = self.graphql.introspection
        return introspection if introspection is not None else self.development

    @property
    def worker_in_process_on(self) -> bool:
        in_process = self.worker.in_process
        return in_process if in_process is not None else self.development

    @property
    def metrics_on(self) -> bool:
        """Serve /metrics: as set, else in development or when a token protects it."""
        if self.server.metrics is not None:
            return self.server.metrics
        return self.development or self.server.metrics_token is not None

    def direct_url(self, database_url: str) -> str:
        """Return the URL for sessions that outlive a transaction (LISTEN, advisory locks)."""
        if self.database.direct_url:
            return self.database.direct_url
        if self.database.pgbouncer:
            raise RuntimeError(
                "RAPPORT_DATABASE_PGBOUNCER is on: set RAPPORT_DATABASE_DIRECT_URL to PostgreSQL"
                " itself, for LISTEN and the migration lock (docs/operations.md, PgBouncer)"
            )
        return database_url

    def signing_key(self) -> str:
        """Return the token signing key; in development, one kept under the data directory."""
        if self.auth.secret_key is not None:
            return self.auth.secret_key.get_secret_value()
        if not self.development:
            raise RuntimeError("RAPPORT_SECRET_KEY must be set in production")
        path = self.database.data_dir / "secret_key"
        if not path.exists():
            self.database.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
