"""The database tables, as SQLAlchemy Core.

Every user-owned table has ``owner_id`` first in its primary key and in every foreign key, so
a row can never point at another user's row and ``owner_id`` can become the sharding key.
Synced tables carry ``server_version`` (the owner's version when the row last changed),
``field_hlc`` (the clock of each field's last accepted write) and ``cl`` (causal length: odd
means alive, even means deleted). Derived columns are written by the server only.

One module per part of the product: ``account``, ``protocol`` (sync bookkeeping), ``contact``,
``networking``, ``notification``, ``colleague`` (links between accounts) and ``export``;
``columns`` holds what they share. Import the tables from here (``from store import tables``).
"""

from __future__ import annotations

from store.tables.account import (
    account_tokens,
    auth_sessions,
    calendar_feeds,
    rate_limits,
    refresh_tokens,
    users,
)
from store.tables.colleague import (
    colleague_invitations,
    colleagues,
    introduction_requests,
    shared_cards,
)
from store.tables.columns import metadata
from store.tables.contact import (
    contact_tags,
    contacts,
    duplicate_dismissals,
    interaction_participants,
    interactions,
    tag_aliases,
    tags,
)
from store.tables.export import export_downloads
from store.tables.networking import event_attendees, events, goals
from store.tables.notification import (
    NOTIFICATION_HISTORY,
    devices,
    notification_deliveries,
    planner_owners,
    reminders,
    scheduled_notifications,
)
from store.tables.protocol import sync_clients, sync_conflicts, sync_owners, sync_rejections

__all__ = [
    "NOTIFICATION_HISTORY",
    "account_tokens",
    "auth_sessions",
    "calendar_feeds",
    "colleague_invitations",
    "colleagues",
    "contact_tags",
    "contacts",
    "devices",
    "duplicate_dismissals",
    "event_attendees",
    "events",
    "export_downloads",
    "goals",
    "interaction_participants",
    "interactions",
    "introduction_requests",
    "metadata",
    "notification_deliveries",
    "planner_owners",
    "rate_limits",
    "refresh_tokens",
    "reminders",
    "scheduled_notifications",
    "shared_cards",
    "sync_clients",
    "sync_conflicts",
    "sync_owners",
    "sync_rejections",
    "tag_aliases",
    "tags",
    "users",
]
