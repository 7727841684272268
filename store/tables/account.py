"""Accounts: users, sign-in sessions and their refresh tokens, tokens sent by email, calendar
feeds and rate limits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID

from store.tables.columns import metadata, timestamps

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=True, unique=True),
    # When the owner of ``email`` proved it (an emailed link, or Firebase's email_verified);
    # null until then. Colleague invitations, found by email, wait for it (sync/colleague.py).
    sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("firebase_uid", sa.Text, nullable=True, unique=True),
    sa.Column("display_name", sa.Text, nullable=False, server_default=""),
    sa.Column("time_zone", sa.Text, nullable=False, server_default="UTC"),
    sa.Column("reminder_hour", sa.SmallInteger, nullable=False, server_default=sa.text("9")),
    sa.Column("quiet_hours_start", sa.Time, nullable=True),
    sa.Column("quiet_hours_end", sa.Time, nullable=True),
    sa.Column("daily_digest", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("sentiment_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    # Days before each kind of event to notify; a contact or reminder may override its list.
    sa.Column(
        "lead_days",
        JSONB,
        nullable=False,
        server_default=sa.text(
            """'{"birthday": [0, 7], "anniversary": [0], "followUp": [0], "reminder": [0]}'"""
            "::jsonb"
        ),
    ),
    *timestamps(),
    sa.CheckConstraint("reminder_hour BETWEEN 0 AND 23", name="reminder_hour_range"),
)

# A sign-in creates a session; its refresh tokens rotate on every use. Access tokens name the
# session, so revoking the session revokes them too.
auth_sessions = sa.Table(
    "auth_sessions",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "session_id",
        UUID(as_uuid=True),
        sa.ForeignKey("auth_sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
)

# Throttled keys (see store/ratelimits.py): a key is free again once ``tat`` has passed.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("key", sa.LargeBinary, primary_key=True),
    sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
    sa.Index("rate_limits_tat", "tat"),
)

# Single-use tokens sent by email (api/reset.py, api/email_change.py, api/email_verification.py):
# a password reset, the confirmation of a new email address, or the proof that the account's
# address is its owner's (``new_email``: the address the link went to). Only a SHA-256 digest
# is kept.
account_tokens = sa.Table(
    "account_tokens",
    metadata,
    sa.Column("token_hash", sa.LargeBinary, primary_key=True),
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("new_email", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("purpose IN ('reset', 'email', 'verify')", name="purpose_known"),
)

# The secret calendar feed URL of a user (api/calendar_feed.py). The URL's secret is derived
# from the server's key and ``feed_key``; only its SHA-256 digest is kept, to look it up.
calendar_feeds = sa.Table(
    "calendar_feeds",
    metadata,
    sa.Column(
        "user_id",
        UUID(as_uuid=True),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("feed_key", sa.LargeBinary, nullable=False),
    sa.Column("secret_hash", sa.LargeBinary, nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
