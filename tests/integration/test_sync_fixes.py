"""Edge cases found while documenting the protocol, each pinned by a test."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from store import tables
from store.engine import libpq_url
from sync import contact, tag
from sync.entity import DELETED_CLOCK, new_id
from sync.feed import ChangeFeed
from sync.pull import collect_changes
from sync.push import Status
from sync.writer import open_writer
from tests.integration.sync_support import NOW, Replica, changes_of, clock_at, make_owner

CLOCK = FixedClock(NOW + timedelta(hours=1))


def put(contact_id: Any, hlc: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return ("contact.put", {"id": str(contact_id), "hlc": hlc, "fields": fields})


async def test_clearing_a_required_field_is_rejected_not_crashed(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    cid = new_id()
    phone = Replica("phone")
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        put(cid, clock_at(NOW, "p"), firstName="A"),
        put(cid, clock_at(NOW, "p", 1), lastName=None),
        put(cid, clock_at(NOW, "p", 2), company="Next one applies"),
    )
    assert [r.status for r in result.results] == [Status.APPLIED, Status.REJECTED, Status.APPLIED]
    assert "lastName: cannot be cleared" in (result.results[1].reason or "")


async def test_a_mutation_the_database_refuses_is_rejected_and_the_batch_goes_on(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    async with engine.begin() as conn:
        # A rule only the database knows about: the write path cannot check it in advance.
        await conn.execute(
            sa.text("""
            CREATE FUNCTION refuse_forbidden() RETURNS trigger AS $$
            BEGIN
              IF NEW.company = 'Forbidden' THEN
                RAISE EXCEPTION 'forbidden company' USING ERRCODE = 'check_violation';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER refuse_forbidden BEFORE INSERT OR UPDATE ON contacts "
                "FOR EACH ROW EXECUTE FUNCTION refuse_forbidden()"
            )
        )
    a, b = new_id(), new_id()
    phone = Replica("phone")
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        put(a, clock_at(NOW, "p"), firstName="A", company="Forbidden"),
        put(b, clock_at(NOW, "p", 1), firstName="B"),
    )
    assert [r.status for r in result.results] == [Status.REJECTED, Status.APPLIED]
    assert result.last_mutation_id == 2  # the device is not wedged on mutation 1
    await phone.pull_all(engine, owner)
    assert set(phone.alive("contact")) == {str(b)}


async def test_restamped_edits_in_one_push_keep_their_order(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    cid = new_id()
    ahead = CLOCK.at + timedelta(days=1)
    phone = Replica("phone")
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        put(cid, clock_at(ahead, "p"), firstName="A", notes="first edit"),
        put(cid, clock_at(ahead, "p", 1), notes="second edit"),
    )
    assert result.clock_restamped
    assert [r.status for r in result.results] == [Status.APPLIED, Status.APPLIED]
    async with engine.connect() as conn:
        c = tables.contacts.c
        notes = await conn.scalar(sa.select(c.notes).where(c.owner_id == owner, c.id == cid))
        conflicts = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(tables.sync_conflicts)
            .where(tables.sync_conflicts.c.owner_id == owner)
        )
    assert notes == "second edit"
    assert conflicts == 0


def tag_put(tag_id: Any, hlc: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return ("tag.put", {"id": str(tag_id), "hlc": hlc, "fields": fields})


async def _tag_and_aliases(
    engine: AsyncEngine, owner: Any
) -> tuple[sa.Row[Any], list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        t, al = tables.tags.c, tables.tag_aliases.c
        stored = (
            await conn.execute(
                sa.select(t.id, t.cl, t.name, t.color, t.field_hlc).where(t.owner_id == owner)
            )
        ).one()
        aliases = (
            await conn.execute(sa.select(al.id, al.tag_id).where(al.owner_id == owner))
        ).all()
    return stored, [tuple(row) for row in aliases]


async def test_a_same_name_tag_made_before_the_delete_stays_deleted_in_either_order(
    engine: AsyncEngine,
) -> None:
    # The scenario. It passes with no rule that lets a create restore (the rule before
    # this one too); it fails with one that lets every create restore, which hangs on order.
    outcomes = []
    for delete_first in (True, False):
        owner = await make_owner(engine)
        ta, tb = new_id(), new_id()
        a, b = Replica(f"a-{owner}"), Replica(f"b-{owner}")
        await a.push(engine, owner, CLOCK, tag_put(ta, clock_at(NOW, "a"), name="Mentors"))
        # B never saw ta; its create is later than A's, but earlier than the server's clock
        # when A's delete reaches it (CLOCK is an hour later): made before the delete.
        b_create = tag_put(tb, clock_at(NOW, "b", 5), name="mentors", color="#2E7D32")
        a_delete = ("tag.delete", {"id": str(ta), "cl": 2})
        if delete_first:
            await a.push(engine, owner, CLOCK, a_delete)
            result = await b.push(engine, owner, CLOCK, b_create)
        else:
            result = await b.push(engine, owner, CLOCK, b_create)
            await a.push(engine, owner, CLOCK, a_delete)
        assert result.results[0].status == Status.APPLIED
        stored, aliases = await _tag_and_aliases(engine, owner)
        outcomes.append((stored.cl, sorted(k for k in stored.field_hlc if k != DELETED_CLOCK)))
        assert stored.id == ta
        assert aliases == [(tb, ta)]
        # Deleted tags keep their names; the create's fields merged by clock (B's is later).
        assert (stored.name, stored.color) == ("mentors", "#2E7D32")
        await b.pull_all(engine, owner)
        assert b.alive("tag") == {}
    assert outcomes == [(2, ["color", "name"])] * 2


async def test_a_same_name_tag_made_after_the_delete_brings_the_tag_back(
    engine: AsyncEngine,
) -> None:
    # A user deletes "Mentors" and weeks later, on a new phone, makes "Mentors" again.
    owner = await make_owner(engine)
    ta, tb = new_id(), new_id()
    a, b, c = Replica(f"a-{owner}"), Replica(f"b-{owner}"), Replica(f"c-{owner}")
    await a.push(engine, owner, CLOCK, tag_put(ta, clock_at(NOW, "a"), name="Mentors"))
    await a.push(engine, owner, CLOCK, ("tag.delete", {"id": str(ta), "cl": 2}))
    later = NOW + timedelta(weeks=3)
    # The new phone's first sync brings no tombstone: it cannot know to send tag.restore.
    await b.pull_all(engine, owner)
    assert ("tag", str(ta)) not in b.rows
    contact_id = new_id()
    result = await b.push(
        engine,
        owner,
        FixedClock(later),
        tag_put(tb, clock_at(later, "b"), name="mentors", color="#2E7D32"),
        put(contact_id, clock_at(later, "b", 1), firstName="Ada"),
        # The phone goes on using its own id: it names the tag it became.
        ("tag.setMembership", {"tagId": str(tb), "contactId": str(contact_id), "member": True}),
    )
    assert [r.status for r in result.results] == [Status.APPLIED] * 3
    stored, aliases = await _tag_and_aliases(engine, owner)
    assert aliases == [(tb, ta)]
    # Back alive at the next odd length, with the create's spelling and color (later clock).
    assert (stored.id, stored.cl, stored.name, stored.color) == (ta, 3, "mentors", "#2E7D32")
    for device in (b, a, c):  # the creator, the device that deleted it, and a fresh one
        await device.pull_all(engine, owner)
        assert device.alive("tag") == {str(ta): {"name": "mentors", "color": "#2E7D32"}}
        assert device.alive("tagAlias") == {str(tb): {"tagId": str(ta)}}
        assert set(device.alive("contactTag")) == {f"{ta}:{contact_id}"}
        # The delete's clock is the server's business: pulls carry field clocks only.
        assert set(device.rows[("tag", str(ta))].clocks) == {"name", "color"}


async def test_a_tag_deleted_again_after_coming_back_needs_a_later_create(
    engine: AsyncEngine,
) -> None:
    # The clock that counts is that of the latest delete, online ones included.
    owner = await make_owner(engine)
    ta = new_id()
    phone = Replica(f"phone-{owner}")
    first, second = NOW + timedelta(days=1), NOW + timedelta(days=2)
    await phone.push(engine, owner, CLOCK, tag_put(ta, clock_at(NOW, "p"), name="Mentors"))
    await phone.push(engine, owner, CLOCK, ("tag.delete", {"id": str(ta)}))
    await phone.push(
        engine, owner, FixedClock(first), tag_put(new_id(), clock_at(first, "p"), name="mentors")
    )
    assert (await _tag_and_aliases(engine, owner))[0].cl == 3
    async with open_writer(engine, owner, FixedClock(second)) as w:
        await tag.delete_tag(w, ta)
    # Made after the first delete but before the second: it stays deleted (its spelling,
    # later by clock, is kept for the tag).
    await phone.push(
        engine, owner, FixedClock(second), tag_put(new_id(), clock_at(first, "q"), name="MENTORS")
    )
    stored, _ = await _tag_and_aliases(engine, owner)
    assert (stored.cl, stored.name) == (4, "MENTORS")
    await phone.push(
        engine,
        owner,
        FixedClock(second),
        tag_put(new_id(), clock_at(second + timedelta(minutes=1), "q"), name="Mentors"),
    )
    stored, _ = await _tag_and_aliases(engine, owner)
    assert (stored.cl, stored.name) == (5, "Mentors")


async def test_a_tag_delete_is_clocked_after_every_device_clock_the_server_received(
    engine: AsyncEngine,
) -> None:
    # The rule's premise: a create that reached the server before a delete is earlier than
    # the delete's clock, even from a phone whose clock runs ahead (within the 5 minutes).
    owner = await make_owner(engine)
    ta = new_id()
    a, fast, c = Replica(f"a-{owner}"), Replica(f"fast-{owner}"), Replica(f"c-{owner}")
    await a.push(engine, owner, CLOCK, tag_put(ta, clock_at(NOW, "a"), name="Mentors"))
    ahead = CLOCK.at + timedelta(minutes=4)
    await fast.push(engine, owner, CLOCK, tag_put(new_id(), clock_at(ahead, "f"), name="mentors"))
    await a.push(engine, owner, CLOCK, ("tag.delete", {"id": str(ta)}))
    stored, _ = await _tag_and_aliases(engine, owner)
    assert stored.field_hlc[DELETED_CLOCK] > clock_at(ahead, "f")
    # A create clocked between the server's wall time and the fast phone's clock came before
    # the delete by the clocks: it stays deleted.
    between = CLOCK.at + timedelta(minutes=2)
    await c.push(engine, owner, CLOCK, tag_put(new_id(), clock_at(between, "c"), name="MENTORS"))
    stored, _ = await _tag_and_aliases(engine, owner)
    assert stored.cl == 2


async def test_aliasing_creates_merge_name_and_color_by_clock(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    phone = Replica("phone")
    await phone.push(
        engine,
        owner,
        CLOCK,
        tag_put(new_id(), clock_at(NOW, "a", 5), name="Mentors", color="#111111"),
        # Later by clock: its spelling wins; it sends no color, so the color stays.
        tag_put(new_id(), clock_at(NOW, "b", 9), name="MENTORS"),
        # Earlier by clock than both: it changes nothing.
        tag_put(new_id(), clock_at(NOW, "c", 1), name="mentors", color="#333333"),
    )
    async with engine.connect() as conn:
        t = tables.tags.c
        stored = (await conn.execute(sa.select(t.name, t.color).where(t.owner_id == owner))).one()
    assert tuple(stored) == ("MENTORS", "#111111")


async def test_online_create_tag_restores_a_deleted_tag_of_that_name(engine: AsyncEngine) -> None:
    # The app's "create tag" is a user action: it may bring the old tag back on purpose.
    owner = await make_owner(engine)
    old_tag = new_id()
    async with open_writer(engine, owner, CLOCK) as w:
        await tag.create_tag(w, old_tag, {"name": "Alumni"})
        await tag.delete_tag(w, old_tag)
    async with open_writer(engine, owner, CLOCK) as w:
        row = await tag.create_tag(w, new_id(), {"name": "alumni"})
    assert (row["id"], row["cl"]) == (old_tag, 3)


async def test_removing_an_attendee_of_rows_that_do_not_exist_is_rejected(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    cid, eid = new_id(), new_id()
    phone = Replica("phone")
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        put(cid, clock_at(NOW, "p"), firstName="Ada"),
        (
            "event.put",
            {
                "id": str(eid),
                "hlc": clock_at(NOW, "p", 1),
                "fields": {"name": "Meetup", "startsAt": "2026-03-01T18:00:00Z"},
            },
        ),
        ("event.removeAttendee", {"eventId": str(new_id()), "contactId": str(cid)}),
        ("event.removeAttendee", {"eventId": str(eid), "contactId": str(new_id())}),
        ("event.delete", {"id": str(eid)}),
        # A deleted event still counts as a row; nobody is on its list, so nothing changes.
        ("event.removeAttendee", {"eventId": str(eid), "contactId": str(cid), "cl": 2}),
    )
    statuses = [r.status for r in result.results]
    assert statuses == [Status.APPLIED] * 2 + [Status.REJECTED] * 2 + [Status.APPLIED] * 2
    assert "No event with id" in (result.results[2].reason or "")
    assert "No contact with id" in (result.results[3].reason or "")


async def test_a_base_naming_an_edit_restamped_in_the_same_push_is_no_conflict(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    cid = new_id()
    ahead = CLOCK.at + timedelta(hours=2)
    first, second = clock_at(ahead, "p"), clock_at(ahead, "p", 1)
    phone = Replica("phone")
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        put(cid, first, firstName="A", notes="first edit"),
        (
            "contact.put",
            {
                "id": str(cid),
                "hlc": second,
                "base": {"notes": first},
                "fields": {"notes": "second edit"},
            },
        ),
    )
    assert result.clock_restamped
    async with engine.connect() as conn:
        conflicts = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(tables.sync_conflicts)
            .where(tables.sync_conflicts.c.owner_id == owner)
        )
    assert conflicts == 0


async def test_pulled_times_are_utc_whatever_the_database_zone(
    engine: AsyncEngine, db_url: str
) -> None:
    owner = await make_owner(engine)
    async with engine.begin() as conn:
        name = await conn.scalar(sa.text("SELECT current_database()"))
        await conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kolkata'"))
    await engine.dispose()  # new connections pick up the database's zone
    async with open_writer(engine, owner, CLOCK) as w:
        await contact.create_contact(w, new_id(), {"firstName": "A", "cadenceDays": 10})
    page = await collect_changes(engine, owner_id=owner, client_id="p", cursor=None, limit=10)
    assert changes_of(page)[0].derived["nextFollowUpAt"].endswith("+00:00")


async def test_a_first_sync_skips_old_tombstones_on_every_page_but_not_new_ones(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    ids = [new_id() for _ in range(6)]
    async with open_writer(engine, owner, CLOCK) as w:
        for cid in ids:
            await contact.create_contact(w, cid, {"firstName": "x"})
    async with open_writer(engine, owner, CLOCK) as w:
        for cid in ids[:4]:
            await contact.delete_contact(w, cid)
    async with open_writer(engine, owner, CLOCK) as w:
        await contact.update_contact(w, ids[4], {"company": "later"})  # a later version
    first = await collect_changes(engine, owner_id=owner, client_id="p", cursor=None, limit=1)
    assert [c.id for c in changes_of(first)] == [str(ids[5])]
    # Deleted while the first sync is under way: the device already has it, so it must hear.
    async with open_writer(engine, owner, CLOCK) as w:
        await contact.delete_contact(w, ids[5])
    seen = list(changes_of(first))
    page = first
    while page.has_more:
        page = await collect_changes(
            engine, owner_id=owner, client_id="p", cursor=page.cursor, limit=1
        )
        seen.extend(changes_of(page))
    page = await collect_changes(
        engine, owner_id=owner, client_id="p", cursor=page.cursor, limit=10
    )
    seen.extend(changes_of(page))
    assert not any(c.deleted and c.id in {str(i) for i in ids[:4]} for c in seen)
    assert any(c.deleted and c.id == str(ids[5]) for c in seen)


async def test_a_devices_own_push_does_not_poke_it(engine: AsyncEngine, db_url: str) -> None:
    owner = await make_owner(engine)
    feed = ChangeFeed(libpq_url(db_url))
    await feed.start()
    await feed.wait_connected()
    try:
        async with feed.subscribe(owner) as queue:
            phone = Replica("phone")
            await phone.push(engine, owner, CLOCK, put(new_id(), clock_at(NOW, "p"), firstName="A"))
            notice = await asyncio.wait_for(queue.get(), 5)
            assert notice.origin == "phone"
    finally:
        await feed.stop()
