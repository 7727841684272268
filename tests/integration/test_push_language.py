"""Pushes in each device's language, through the real worker and FCM client to the local fake
FCM: one owner's devices registered in French, German, Spanish, English and locales we have
no catalog for each get the push in theirs, dates in its form; digests too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from notifications import planner
from notifications.fcm_sender import FcmSender
from notifications.worker import Worker
from store import tables
from tests.fake_fcm import PROJECT, FakeFcm, fake_fcm_fixture
from tests.integration.notify_support import (
    add_device,
    make_user,
    put_contact,
    put_reminder,
    scheduled,
)

__all__ = ["fake_fcm_fixture"]  # the fake_fcm fixture, used below

# Monday 2026-11-23, noon UTC: the day's pushes (09:00 local) are all due.
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NBSP = "\u00a0"  # French sets a no-break space before a colon

# Each device's token names its locale; None is a device that registered none.
LOCALES = {
    "fr": "fr",
    "de": "de-DE",
    "es": "es",
    "en": "en",
    "unknown": "xx",
    "fr-CA": "fr-CA",
    "pt-BR": "pt_BR",
    "malformed": "###",
    "none": None,
}

# What main pushed before there were languages, word for word.
ENGLISH = {
    "BIRTHDAY": ("Ada's birthday today (turns 36)", "Send them a note."),
    "ANNIVERSARY": ("Grace: 1 year at work today", "Congratulate them."),
    "REMINDER": ("Send the deck", "Due in 3 days (Nov 26)."),
}
FRENCH = {
    "BIRTHDAY": ("Ada fête ses 36 ans aujourd'hui", "Envoyez-lui un petit mot."),
    "ANNIVERSARY": (
        f"Grace{NBSP}: 1 an dans l'entreprise aujourd'hui",
        "Adressez-lui vos félicitations.",
    ),
    "REMINDER": ("Send the deck", "À faire dans 3 jours (26 nov.)."),
}
EXPECTED = {
    "fr": FRENCH,
    "de": {
        "BIRTHDAY": ("Ada hat heute Geburtstag (wird 36)", "Schick ein paar nette Zeilen."),
        "ANNIVERSARY": ("Grace: heute 1 Jahr im Unternehmen", "Zeit für Glückwünsche."),
        "REMINDER": ("Send the deck", "Fällig in 3 Tagen (26. Nov.)."),
    },
    "es": {
        "BIRTHDAY": ("Ada cumple 36 años hoy", "Mándale unas líneas."),
        "ANNIVERSARY": ("Grace cumple 1 año en la empresa hoy", "Dale la enhorabuena."),
        "REMINDER": ("Send the deck", "Vence en 3 días (26 nov)."),
    },
    "en": ENGLISH,
    # No catalog for the language, or no locale at all: English.
    "unknown": ENGLISH,
    "pt-BR": ENGLISH,
    "malformed": ENGLISH,
    "none": ENGLISH,
    # A regional variant reads its language's catalog.
    "fr-CA": FRENCH,
}


@pytest.fixture
async def sender(fake_fcm: FakeFcm) -> AsyncIterator[FcmSender]:
    fcm = FcmSender(
        project_id=PROJECT,
        credentials_file=str(fake_fcm.credentials_file),
        fcm_url=fake_fcm.fcm_url,
        timeout_seconds=2.0,
    )
    yield fcm
    await fcm.close()


async def owner_with_devices(engine: AsyncEngine, **settings: object) -> tuple[UUID, str]:
    owner = await make_user(engine, NOW, time_zone="UTC", reminder_hour=9, **settings)
    prefix = f"{owner}-"
    for name, locale in LOCALES.items():
        await add_device(engine, owner, NOW, prefix + name, locale=locale)
    return owner, prefix


async def deliver_all(engine: AsyncEngine, sender: FcmSender) -> None:
    worker = Worker(engine=engine, sender=sender, clock=FixedClock(NOW), plan=False)
    while await worker.deliver_due():
        pass


def received(fake: FakeFcm, token: str) -> dict[str, tuple[str, str]]:
    """What the device got, by the push's kind; FCM's and APNs' blocks must say the same."""
    got = {}
    for request in fake.sent_to(token):
        message = request.message
        notification = message["notification"]
        alert = message["apns"]["payload"]["aps"]["alert"]
        assert alert == notification
        got[message["data"]["kind"]] = (notification["title"], notification["body"])
    return got


async def test_each_device_gets_the_push_in_its_language(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, prefix = await owner_with_devices(engine)
    await put_contact(
        engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 23, "year": 1990}
    )
    await put_contact(engine, owner, NOW, firstName="Grace", workStartedOn="2025-11-23")
    # Three days ahead: the date is shown, in each locale's form.
    await put_reminder(engine, owner, NOW, title="Send the deck", dueOn="2026-11-26", leadDays=[3])
    await planner.plan_owners(engine, [owner], NOW)
    await deliver_all(engine, sender)
    for name, expected in EXPECTED.items():
        assert received(fake_fcm, prefix + name) == expected, name
    # The rows keep the English text, as the history shows it.
    rows = await scheduled(engine, owner)
    assert {r["kind"]: (r["title"], r["body"]) for r in rows if r["status"] == "SENT"} == ENGLISH


async def test_plurals_follow_each_language(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, prefix = await owner_with_devices(engine)
    await put_contact(engine, owner, NOW, firstName="Lin", workStartedOn="2021-11-23")
    await put_contact(
        engine, owner, NOW, firstName="Kit", birthday={"month": 11, "day": 23, "year": 2025}
    )
    await planner.plan_owners(engine, [owner], NOW)
    await deliver_all(engine, sender)
    titles = {
        name: {kind: text[0] for kind, text in received(fake_fcm, prefix + name).items()}
        for name in ("en", "fr", "de", "es")
    }
    assert titles == {
        "en": {
            "ANNIVERSARY": "Lin: 5 years at work today",
            "BIRTHDAY": "Kit's birthday today (turns 1)",
        },
        "fr": {
            "ANNIVERSARY": f"Lin{NBSP}: 5 ans dans l'entreprise aujourd'hui",
            "BIRTHDAY": "Kit fête son anniversaire aujourd'hui (1 an)",
        },
        "de": {
            "ANNIVERSARY": "Lin: heute 5 Jahre im Unternehmen",
            "BIRTHDAY": "Kit hat heute Geburtstag (wird 1)",
        },
        "es": {
            "ANNIVERSARY": "Lin cumple 5 años en la empresa hoy",
            "BIRTHDAY": "Kit cumple 1 año hoy",
        },
    }


async def test_a_digest_is_in_each_devices_language(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, prefix = await owner_with_devices(engine, daily_digest=True)
    await put_contact(
        engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 23, "year": 1990}
    )
    for title in ("Book flights", "Call Bo", "Draft memo", "Email Cy", "File taxes", "Go run"):
        await put_reminder(engine, owner, NOW, title=title, dueOn="2026-11-23")
    await planner.plan_owners(engine, [owner], NOW)
    await deliver_all(engine, sender)
    reminders = "Book flights · Call Bo · Draft memo · Email Cy"
    expected = {
        "en": ("Today: 7 things", f"Ada's birthday today (turns 36) · {reminders} · and 2 more"),
        "fr": (
            f"Aujourd'hui{NBSP}: 7 rappels",
            f"Ada fête ses 36 ans aujourd'hui · {reminders} · et 2 autres",
        ),
        "de": (
            "Heute: 7 Erinnerungen",
            f"Ada hat heute Geburtstag (wird 36) · {reminders} · und 2 weitere",
        ),
        "es": ("Hoy: 7 recordatorios", f"Ada cumple 36 años hoy · {reminders} · y 2 más"),
    }
    expected["unknown"] = expected["en"]
    for name, text in expected.items():
        assert received(fake_fcm, prefix + name) == {"DIGEST": text}, name


async def test_a_row_planned_before_the_facts_were_kept_is_sent_as_stored(
    engine: AsyncEngine, fake_fcm: FakeFcm, sender: FcmSender
) -> None:
    owner, prefix = await owner_with_devices(engine)
    await put_contact(
        engine, owner, NOW, firstName="Ada", birthday={"month": 11, "day": 23, "year": 1990}
    )
    await planner.plan_owners(engine, [owner], NOW)
    s = tables.scheduled_notifications.c
    async with engine.begin() as conn:
        # As migration 0016 leaves the rows planned before it.
        await conn.execute(
            sa.update(tables.scheduled_notifications)
            .where(s.owner_id == owner)
            .values(subject_name=None, years=None)
        )
    await deliver_all(engine, sender)
    assert received(fake_fcm, prefix + "fr") == {"BIRTHDAY": ENGLISH["BIRTHDAY"]}
