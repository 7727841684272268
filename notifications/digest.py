"""Composing a batch into pushes: one per notification, or a digest of an owner's day.

A unit is worded per language at send time (``word``): an owner's devices may each read
another language. English is the rows' stored text, so English pushes cost no wording.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from model.agenda import Kind
from model.clock import local_today
from notifications.recipients import Recipients
from notifications.wording import ENGLISH, wording

log = logging.getLogger("rapport.notifications.digest")

# 37 bytes an id: twenty keep a digest's data near 750 bytes, well inside FCM's 4 KB payload
# (the whole digest is in ``notifications`` anyway).
MAX_DIGEST_IDS = 20


@dataclass(frozen=True)
class Unit:
    """One push to an owner's devices: a single notification, or a digest of the day's."""

    owner_id: UUID
    # A digest's in the order it lists them.
    rows: list[Any]
    data: dict[str, str]
    collapse_key: str
    is_digest: bool = False


@dataclass(frozen=True)
class Composition:
    """A batch sorted out: what to send, and the rows there is no sending for."""

    units: list[Unit]
    # Their local day passed before any worker got to them.
    missed: list[Any]
    # Their owner has no active device.
    no_device: list[Any]


def compose(claimed: list[Any], recipients: Recipients, now: datetime) -> Composition:
    """Group the claimed rows by owner into units, a digest where the owner asked for one."""
    by_owner: dict[UUID, list[Any]] = defaultdict(list)
    for row in claimed:
        by_owner[row.owner_id].append(row)
    composition = Composition([], [], [])
    for owner_id, rows in by_owner.items():
        owner = recipients.owners.get(owner_id)
        if owner is None:
            continue  # the account is gone; its rows went with it
        today = local_today(now, owner.time_zone)
        # Missed while no worker ran: still worth sending the same local day, not later.
        live = [row for row in rows if row.local_date >= today]
        composition.missed.extend(row for row in rows if row.local_date < today)
        if not recipients.devices.get(owner_id):
            composition.no_device.extend(live)
            continue
        if owner.daily_digest and len(live) > 1:
            composition.units.append(digest(owner_id, live, today))
        else:
            composition.units.extend(single(row) for row in live)
    return composition


def collapse_key(row: Any) -> str:
    return f"{row.kind}:{row.subject_id}:{row.occurrence.isoformat()}:{row.lead_days}"


def single(row: Any) -> Unit:
    data = {**row.data, "notificationId": str(row.id)}
    return Unit(row.owner_id, [row], data, collapse_key(row))


def digest(owner_id: UUID, rows: list[Any], today: date) -> Unit:
    # Ordered by the English titles in every language: one order, whoever reads it.
    rows = sorted(rows, key=lambda r: (r.send_at, r.title))
    data = {
        "kind": "DIGEST",
        "date": today.isoformat(),
        "notificationIds": ",".join(str(row.id) for row in rows[:MAX_DIGEST_IDS]),
        "notificationCount": str(len(rows)),
    }
    return Unit(owner_id, rows, data, digest_collapse_key(rows), is_digest=True)


def word(unit: Unit, language: str) -> tuple[str, str]:
    """The title and body of ``unit`` in ``language`` (a member of ``wording.LANGUAGES``)."""
    if not unit.is_digest:
        return word_row(unit.rows[0], language)
    texts = wording(language)
    titles = [word_row(row, language)[0] for row in unit.rows]
    return texts.digest_title(len(titles)), texts.digest_body(titles)


def word_row(row: Any, language: str) -> tuple[str, str]:
    """One planned row's title and body in ``language``.

    English is what the planner stored. So is every language for a row planned before
    migration 0016, which has no facts to word it from (the next plan adds them).
    """
    if language == ENGLISH or row.subject_name is None:
        return row.title, row.body
    day = row.local_date + timedelta(days=row.lead_days)
    try:
        kind = Kind(row.kind)
        return wording(language).describe(kind, row.subject_name, row.years, row.lead_days, day)
    except (ValueError, KeyError, TypeError):
        # A kind this release does not know (planned by a newer one mid-deploy), or a
        # translation whose placeholders the extract check missed: English beats no push.
        log.exception(
            "could not word notification %s in %s; sending it in English", row.id, language
        )
        return row.title, row.body


def digest_collapse_key(rows: list[Any]) -> str:
    """Name a digest by what it lists.

    A digest sent again after a crash lists the same rows and replaces the first copy on the
    phone; a later digest the same day lists others and stands beside it.
    """
    ids = ",".join(sorted(str(row.id) for row in rows))
    return f"digest:{hashlib.sha256(ids.encode()).hexdigest()[:32]}"
