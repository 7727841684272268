"""Push: exactly-once mutations, and the merge rules in both arrival orders."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from store import tables
from sync.client import ClientNotYours
from sync.entity import new_id
from sync.push import Mutation, Status, apply_push
from tests.integration.sync_support import NOW, Replica, clock_at, make_owner

CLOCK = FixedClock(NOW + timedelta(hours=1))


def put_contact(
    contact_id: UUID, at: int, node: str = "phone", **fields: Any
) -> tuple[str, dict[str, Any]]:
    return (
        "contact.put",
        {
            "id": str(contact_id),
            "fields": fields,
            "hlc": clock_at(NOW + timedelta(minutes=at), node),
        },
    )


async def contact_row(engine: AsyncEngine, owner: UUID, contact_id: UUID) -> sa.RowMapping:
    c = tables.contacts.c
    async with engine.connect() as conn:
        query = sa.select(tables.contacts).where(c.owner_id == owner, c.id == contact_id)
        return (await conn.execute(query)).mappings().one()


async def count(engine: AsyncEngine, table: sa.Table, owner: UUID) -> int:
    async with engine.connect() as conn:
        return int(
            await conn.scalar(
                sa.select(sa.func.count()).select_from(table).where(table.c.owner_id == owner)
            )
            or 0
        )


async def test_the_same_push_twice_applies_once(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    mutations = [
        Mutation(1, *put_contact(contact_id, 1, firstName="Ada")),
        Mutation(2, *put_contact(contact_id, 2, company="Acme")),
    ]
    first = await apply_push(
        engine, owner_id=owner, client_id="phone", mutations=mutations, clock=CLOCK
    )
    again = await apply_push(
        engine, owner_id=owner, client_id="phone", mutations=mutations, clock=CLOCK
    )
    assert [r.status for r in first.results] == [Status.APPLIED, Status.APPLIED]
    assert [r.status for r in again.results] == [Status.ALREADY_APPLIED, Status.ALREADY_APPLIED]
    assert first.last_mutation_id == again.last_mutation_id == 2
    row = await contact_row(engine, owner, contact_id)
    assert (row["first_name"], row["company"], row["server_version"]) == ("Ada", "Acme", 1)


async def test_overlapping_ids_apply_only_the_new_ones(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a, b = new_id(), new_id()
    await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[
            Mutation(1, *put_contact(a, 1, firstName="A")),
            Mutation(2, *put_contact(a, 2, title="CTO")),
        ],
        clock=CLOCK,
    )
    result = await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[
            Mutation(2, *put_contact(a, 3, title="overwritten?")),
            Mutation(3, *put_contact(b, 4, firstName="B")),
        ],
        clock=CLOCK,
    )
    assert [(r.id, r.status) for r in result.results] == [
        (2, Status.ALREADY_APPLIED),
        (3, Status.APPLIED),
    ]
    assert (await contact_row(engine, owner, a))["title"] == "CTO"
    assert await count(engine, tables.contacts, owner) == 2


async def test_a_gap_is_refused_with_the_id_to_resend_from(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[Mutation(1, *put_contact(contact_id, 1, firstName="A"))],
        clock=CLOCK,
    )
    result = await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[Mutation(3, *put_contact(contact_id, 3, company="X"))],
        clock=CLOCK,
    )
    assert result.resend_from == 2
    assert result.last_mutation_id == 1
    assert result.results[0].status == Status.NOT_APPLIED
    assert (await contact_row(engine, owner, contact_id))["company"] is None


async def test_a_permanent_failure_is_recorded_and_the_client_moves_on(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    a, b = new_id(), new_id()
    result = await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[
            Mutation(1, *put_contact(a, 1, firstName="A")),
            Mutation(2, *put_contact(a, 2, cadenceDays=-3, company="half-written?")),
            Mutation(3, "contact.teleport", {"id": str(a)}),
            Mutation(4, *put_contact(b, 4, firstName="B")),
        ],
        clock=CLOCK,
    )
    assert [r.status for r in result.results] == [
        Status.APPLIED,
        Status.REJECTED,
        Status.REJECTED,
        Status.APPLIED,
    ]
    assert "cadenceDays" in (result.results[1].reason or "")
    assert "unknown mutation 'contact.teleport'" in (result.results[2].reason or "")
    assert result.last_mutation_id == 4
    assert (await contact_row(engine, owner, a))["company"] is None  # nothing of mutation 2
    async with engine.connect() as conn:
        rejected = (
            await conn.execute(
                sa.select(tables.sync_rejections.c.mutation_id, tables.sync_rejections.c.name)
                .where(tables.sync_rejections.c.owner_id == owner)
                .order_by(tables.sync_rejections.c.mutation_id)
            )
        ).all()
    assert [tuple(r) for r in rejected] == [(2, "contact.put"), (3, "contact.teleport")]


async def test_a_retry_after_a_lost_response_applies_nothing_twice(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id, interaction_id = new_id(), new_id()
    batch = [
        Mutation(1, *put_contact(contact_id, 1, firstName="A")),
        Mutation(
            2,
            "interaction.put",
            {
                "id": str(interaction_id),
                "hlc": clock_at(NOW, "phone"),
                "fields": {
                    "contactIds": [str(contact_id)],
                    "occurredAt": NOW.isoformat(),
                    "summary": "Lunch",
                },
            },
        ),
    ]
    await apply_push(
        engine, owner_id=owner, client_id="phone", mutations=batch, clock=CLOCK
    )  # response lost
    retry = await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[*batch, Mutation(3, *put_contact(contact_id, 3, company="Acme"))],
        clock=CLOCK,
    )
    assert [r.status for r in retry.results] == [
        Status.ALREADY_APPLIED,
        Status.ALREADY_APPLIED,
        Status.APPLIED,
    ]
    assert await count(engine, tables.interactions, owner) == 1
    assert await count(engine, tables.interaction_participants, owner) == 1


async def test_two_concurrent_pushes_from_one_client_apply_each_mutation_once(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    ids = [new_id() for _ in range(5)]
    batch = [Mutation(n + 1, *put_contact(cid, n, firstName=f"P{n}")) for n, cid in enumerate(ids)]
    results = await asyncio.gather(
        *(
            apply_push(engine, owner_id=owner, client_id="phone", mutations=batch, clock=CLOCK)
            for _ in range(2)
        )
    )
    statuses = sorted([r.status for r in results[0].results], key=str) + sorted(
        [r.status for r in results[1].results], key=str
    )
    assert statuses.count(Status.APPLIED) == 5
    assert statuses.count(Status.ALREADY_APPLIED) == 5
    assert await count(engine, tables.contacts, owner) == 5


async def test_a_client_id_belongs_to_one_user(engine: AsyncEngine) -> None:
    alice, bob = await make_owner(engine), await make_owner(engine)
    await apply_push(engine, owner_id=alice, client_id="shared-id", mutations=[], clock=CLOCK)
    with pytest.raises(ClientNotYours):
        await apply_push(
            engine,
            owner_id=bob,
            client_id="shared-id",
            mutations=[Mutation(1, *put_contact(new_id(), 1, firstName="B"))],
            clock=CLOCK,
        )
    assert await count(engine, tables.contacts, bob) == 0


async def test_a_clock_far_ahead_is_restamped_and_the_client_flagged(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    ahead = clock_at(CLOCK.at + timedelta(days=30), "broken-phone")
    result = await apply_push(
        engine,
        owner_id=owner,
        client_id="broken-phone",
        mutations=[
            Mutation(
                1,
                "contact.put",
                {"id": str(contact_id), "fields": {"firstName": "A"}, "hlc": ahead},
            )
        ],
        clock=CLOCK,
    )
    assert result.clock_restamped
    row = await contact_row(engine, owner, contact_id)
    assert row["field_hlc"]["firstName"] < ahead
    assert row["field_hlc"]["firstName"].endswith("-server")
    async with engine.connect() as conn:
        flagged = await conn.scalar(
            sa.select(tables.sync_clients.c.clock_flagged_at).where(
                tables.sync_clients.c.client_id == "broken-phone"
            )
        )
        owner_hlc = await conn.scalar(
            sa.select(tables.sync_owners.c.hlc).where(tables.sync_owners.c.owner_id == owner)
        )
    assert flagged == CLOCK.at
    assert owner_hlc < ahead  # the server clock did not jump to the device's
    # A later online edit from a well-behaved device still wins.
    good = await apply_push(
        engine,
        owner_id=owner,
        client_id="good-phone",
        mutations=[
            Mutation(
                1,
                "contact.put",
                {
                    "id": str(contact_id),
                    "fields": {"firstName": "B"},
                    "hlc": clock_at(CLOCK.at + timedelta(seconds=1), "good"),
                },
            )
        ],
        clock=CLOCK,
    )
    assert good.results[0].status == Status.APPLIED
    assert (await contact_row(engine, owner, contact_id))["first_name"] == "B"


async def test_a_rejected_mutation_does_not_move_the_server_clock(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    later = clock_at(CLOCK.at + timedelta(minutes=2), "phone")
    await apply_push(
        engine,
        owner_id=owner,
        client_id="phone",
        mutations=[
            Mutation(
                1, "contact.put", {"id": str(new_id()), "fields": {"firstName": ""}, "hlc": later}
            )
        ],
        clock=CLOCK,
    )
    async with engine.connect() as conn:
        owner_hlc = await conn.scalar(
            sa.select(tables.sync_owners.c.hlc).where(tables.sync_owners.c.owner_id == owner)
        )
    assert owner_hlc < later


async def test_unknown_fields_are_refused_and_unsent_fields_never_cleared(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    phone = Replica("phone")
    await phone.push(
        engine, owner, CLOCK, put_contact(contact_id, 1, firstName="A", company="Acme", title="CTO")
    )
    result = await phone.push(
        engine, owner, CLOCK, put_contact(contact_id, 2, favouriteColour="blue")
    )
    assert result.results[0].status == Status.REJECTED
    assert "favouriteColour: is not a field of this object" in (result.results[0].reason or "")
    await phone.push(engine, owner, CLOCK, put_contact(contact_id, 3, title="CEO"))
    row = await contact_row(engine, owner, contact_id)
    assert (row["first_name"], row["company"], row["title"]) == ("A", "Acme", "CEO")


@pytest.mark.parametrize("delete_first", [True, False])
async def test_delete_beats_a_concurrent_edit_in_either_order(
    engine: AsyncEngine, delete_first: bool
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    phone, tablet = Replica("phone"), Replica("tablet")
    await phone.push(engine, owner, CLOCK, put_contact(contact_id, 0, firstName="A"))
    delete = ("contact.delete", {"id": str(contact_id), "cl": 2})
    edit = put_contact(contact_id, 5, node="tablet", company="Edited offline")
    if delete_first:
        await phone.push(engine, owner, CLOCK, delete)
        await tablet.push(engine, owner, CLOCK, edit)
    else:
        await tablet.push(engine, owner, CLOCK, edit)
        await phone.push(engine, owner, CLOCK, delete)
    row = await contact_row(engine, owner, contact_id)
    assert (row["cl"], row["company"]) == (2, "Edited offline")


@pytest.mark.parametrize("restore_first", [True, False])
async def test_a_restore_beats_the_delete_it_saw_in_either_order(
    engine: AsyncEngine, restore_first: bool
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    phone, tablet = Replica("phone"), Replica("tablet")
    await phone.push(engine, owner, CLOCK, put_contact(contact_id, 0, firstName="A"))
    await phone.push(engine, owner, CLOCK, ("contact.delete", {"id": str(contact_id), "cl": 2}))
    # The tablet saw that delete (length 2) and restores; the phone deletes again, concurrently,
    # from the length 2 it knows about -- which asks for length 2 again.
    restore = ("contact.restore", {"id": str(contact_id), "cl": 3})
    stale_delete = ("contact.delete", {"id": str(contact_id), "cl": 2})
    first, second = (restore, stale_delete) if restore_first else (stale_delete, restore)
    await tablet.push(engine, owner, CLOCK, first)
    await phone.push(engine, owner, CLOCK, second)
    assert (await contact_row(engine, owner, contact_id))["cl"] == 3


@pytest.mark.parametrize("order", [("phone", "tablet"), ("tablet", "phone")])
async def test_fields_merge_by_clock_in_either_order(
    engine: AsyncEngine, order: tuple[str, str]
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    creator = Replica("creator")
    await creator.push(
        engine, owner, CLOCK, put_contact(contact_id, 0, node="creator", firstName="A")
    )
    devices = {"phone": Replica("phone"), "tablet": Replica("tablet")}
    edits = {
        "phone": put_contact(contact_id, 5, node="phone", company="Phone Co", title="Phone title"),
        "tablet": put_contact(contact_id, 7, node="tablet", company="Tablet Co"),
    }
    for name in order:
        await devices[name].push(engine, owner, CLOCK, edits[name])
    row = await contact_row(engine, owner, contact_id)
    # The tablet's later clock wins the field both edited; the phone's other field stays.
    assert (row["company"], row["title"]) == ("Tablet Co", "Phone title")


@pytest.mark.parametrize("first_device", ["phone", "tablet"])
async def test_tags_made_offline_with_one_name_become_one_tag(
    engine: AsyncEngine, first_device: str
) -> None:
    owner = await make_owner(engine)
    ada, bob = new_id(), new_id()
    setup = Replica("setup")
    await setup.push(
        engine,
        owner,
        CLOCK,
        put_contact(ada, 0, firstName="Ada"),
        put_contact(bob, 0, firstName="Bob"),
    )
    tags = {"phone": new_id(), "tablet": new_id()}
    members = {"phone": ada, "tablet": bob}
    devices = {"phone": Replica("phone"), "tablet": Replica("tablet")}
    order = [first_device, "tablet" if first_device == "phone" else "phone"]
    for name in order:
        await devices[name].push(
            engine,
            owner,
            CLOCK,
            (
                "tag.put",
                {
                    "id": str(tags[name]),
                    "fields": {"name": "Investors" if name == "phone" else " investors"},
                    "hlc": clock_at(NOW, name),
                },
            ),
            (
                "tag.setMembership",
                {"tagId": str(tags[name]), "contactId": str(members[name]), "member": True},
            ),
        )
    async with engine.connect() as conn:
        t, ct = tables.tags.c, tables.contact_tags.c
        tag_ids = (await conn.scalars(sa.select(t.id).where(t.owner_id == owner))).all()
        members_of = (
            await conn.execute(
                sa.select(ct.tag_id, ct.contact_id).where(ct.owner_id == owner, ct.cl % 2 == 1)
            )
        ).all()
    assert tag_ids == [tags[first_device]]
    assert {row.contact_id for row in members_of} == {ada, bob}
    assert {row.tag_id for row in members_of} == {tags[first_device]}
    # Every device learns the alias from a pull.
    phone = devices["phone"]
    await phone.pull_all(engine, owner)
    aliases = phone.alive("tagAlias")
    assert aliases == {str(tags[order[1]]): {"tagId": str(tags[first_device])}}


async def test_an_interaction_logged_for_a_contact_deleted_elsewhere_is_kept_hidden_and_restored(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    contact_id, interaction_id = new_id(), new_id()
    phone, web = Replica("phone"), Replica("web")
    await web.push(engine, owner, CLOCK, put_contact(contact_id, 0, firstName="A"))
    await web.push(engine, owner, CLOCK, ("contact.delete", {"id": str(contact_id), "cl": 2}))
    result = await phone.push(
        engine,
        owner,
        CLOCK,
        (
            "interaction.put",
            {
                "id": str(interaction_id),
                "hlc": clock_at(NOW, "phone"),
                "fields": {
                    "contactIds": [str(contact_id)],
                    "occurredAt": NOW.isoformat(),
                    "summary": "Met offline",
                },
            },
        ),
    )
    assert result.results[0].status == Status.APPLIED
    from store import interactions as reads

    async with engine.connect() as conn:
        hidden = await reads.count_interactions(conn, owner_id=owner, contact_id=None)
    assert hidden == 0
    await web.push(engine, owner, CLOCK, ("contact.restore", {"id": str(contact_id), "cl": 3}))
    async with engine.connect() as conn:
        shown = await reads.count_interactions(conn, owner_id=owner, contact_id=None)
    assert shown == 1
    assert (await contact_row(engine, owner, contact_id))["last_interaction_at"] == NOW


async def test_membership_toggles_merge_by_causal_length(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact_id, tag_id = new_id(), new_id()
    phone, tablet = Replica("phone"), Replica("tablet")
    await phone.push(
        engine,
        owner,
        CLOCK,
        put_contact(contact_id, 0, firstName="A"),
        ("tag.put", {"id": str(tag_id), "fields": {"name": "VIP"}, "hlc": clock_at(NOW, "phone")}),
        (
            "tag.setMembership",
            {"tagId": str(tag_id), "contactId": str(contact_id), "member": True, "cl": 1},
        ),
    )
    # Both remove the tag concurrently (from length 1), then the tablet adds it back (3).
    await phone.push(
        engine,
        owner,
        CLOCK,
        (
            "tag.setMembership",
            {"tagId": str(tag_id), "contactId": str(contact_id), "member": False, "cl": 2},
        ),
    )
    await tablet.push(
        engine,
        owner,
        CLOCK,
        (
            "tag.setMembership",
            {"tagId": str(tag_id), "contactId": str(contact_id), "member": True, "cl": 3},
        ),
    )
    await phone.push(
        engine,
        owner,
        CLOCK,
        (
            "tag.setMembership",
            {"tagId": str(tag_id), "contactId": str(contact_id), "member": False, "cl": 2},
        ),
    )
    async with engine.connect() as conn:
        cl = await conn.scalar(
            sa.select(tables.contact_tags.c.cl).where(tables.contact_tags.c.owner_id == owner)
        )
    assert cl == 3


@pytest.mark.parametrize("arrival", ["older first", "newer first"])
async def test_concurrent_notes_keep_the_losing_text_as_a_conflict(
    engine: AsyncEngine, arrival: str
) -> None:
    owner = await make_owner(engine)
    contact_id = new_id()
    setup = Replica("setup")
    await setup.push(
        engine,
        owner,
        CLOCK,
        (
            "contact.put",
            {
                "id": str(contact_id),
                "hlc": clock_at(NOW, "setup"),
                "fields": {"firstName": "A", "notes": "original"},
            },
        ),
    )
    base = clock_at(NOW, "setup")
    phone = (
        "contact.put",
        {
            "id": str(contact_id),
            "hlc": clock_at(NOW + timedelta(minutes=1), "phone"),
            "fields": {"notes": "phone's notes"},
            "base": {"notes": base},
        },
    )
    tablet = (
        "contact.put",
        {
            "id": str(contact_id),
            "hlc": clock_at(NOW + timedelta(minutes=2), "tablet"),
            "fields": {"notes": "tablet's notes"},
            "base": {"notes": base},
        },
    )
    devices = [(Replica("phone"), phone), (Replica("tablet"), tablet)]
    if arrival == "newer first":
        devices.reverse()
    for device, call in devices:
        await device.push(engine, owner, CLOCK, call)
    assert (await contact_row(engine, owner, contact_id))["notes"] == "tablet's notes"
    async with engine.connect() as conn:
        k = tables.sync_conflicts.c
        conflicts = (
            await conn.execute(
                sa.select(k.field, k.losing_value, k.winning_value).where(k.owner_id == owner)
            )
        ).all()
    assert [tuple(c) for c in conflicts] == [("notes", "phone's notes", "tablet's notes")]


def put_interaction(interaction_id: UUID, at: int, contact_ids: list[UUID], summary: str) -> Any:
    return (
        "interaction.put",
        {
            "id": str(interaction_id),
            "hlc": clock_at(NOW + timedelta(minutes=at), "phone"),
            "fields": {
                "contactIds": [str(c) for c in contact_ids],
                "occurredAt": (NOW + timedelta(minutes=at)).isoformat(),
                "summary": summary,
            },
        },
    )


async def owner_state(engine: AsyncEngine, owner: UUID) -> dict[str, list[dict[str, Any]]]:
    """Every synced row of an owner, without the owner id, in key order."""
    state = {}
    async with engine.connect() as conn:
        for table in (
            tables.contacts,
            tables.interactions,
            tables.interaction_participants,
            tables.tags,
            tables.contact_tags,
        ):
            keys = [c for c in table.primary_key.columns if c.name != "owner_id"]
            query = sa.select(table).where(table.c.owner_id == owner).order_by(*keys)
            rows = (await conn.execute(query)).mappings().all()
            state[table.name] = [{k: v for k, v in r.items() if k != "owner_id"} for r in rows]
    return state


async def test_a_fast_push_of_new_rows_ends_as_the_careful_one_by_one_push(
    engine: AsyncEngine,
) -> None:
    # Runs of new contacts and interactions are created together on the fast path; a
    # rejected mutation makes the whole push run again one mutation at a time. Both must
    # leave the same rows, whatever lies between the runs.
    contacts = [new_id() for _ in range(8)]
    meetings = [new_id() for _ in range(3)]
    tag = new_id()
    steps = [
        *(put_contact(c, n, firstName=f"C{n}", company="Acme") for n, c in enumerate(contacts[:5])),
        put_interaction(meetings[0], 10, [contacts[0], contacts[1]], "Lunch"),
        put_interaction(meetings[1], 11, [contacts[2]], "Call"),
        put_contact(contacts[0], 12, company="Initech"),  # updates a row made in this push
        put_contact(contacts[5], 13, firstName="C5", cadenceDays=30),
        ("tag.put", {"id": str(tag), "fields": {"name": "Climate"}, "hlc": clock_at(NOW, "p")}),
        ("tag.setMembership", {"tagId": str(tag), "contactId": str(contacts[5]), "member": True}),
        put_contact(contacts[6], 14, firstName="C6", introducedById=str(contacts[1])),
        put_contact(contacts[7], 15, firstName="C7"),
        put_contact(contacts[7], 16, lastName="Twice"),  # the same new row twice in a run
        put_interaction(meetings[2], 17, [contacts[7], contacts[5]], "Coffee"),
    ]
    fast, careful = await make_owner(engine), await make_owner(engine)
    mutations = [Mutation(n, *step) for n, step in enumerate(steps, start=1)]
    fast_result = await apply_push(
        engine, owner_id=fast, client_id=f"fast-{fast}", mutations=mutations, clock=CLOCK
    )
    bad = Mutation(len(steps) + 1, *put_contact(new_id(), 20, nickname="no such field"))
    careful_result = await apply_push(
        engine,
        owner_id=careful,
        client_id=f"careful-{careful}",
        mutations=[*mutations, bad],
        clock=CLOCK,
    )
    assert {r.status for r in fast_result.results} == {Status.APPLIED}
    assert careful_result.results[:-1] == fast_result.results
    assert careful_result.results[-1].status == Status.REJECTED
    fast_state = await owner_state(engine, fast)
    assert fast_state == await owner_state(engine, careful)
    assert len(fast_state["contacts"]) == 8
    assert len(fast_state["interaction_participants"]) == 5
    last = {r["id"]: r for r in fast_state["contacts"]}
    assert (last[contacts[0]]["company"], last[contacts[7]]["last_name"]) == ("Initech", "Twice")
    assert last[contacts[5]]["next_follow_up_at"] is not None


async def test_a_push_of_new_rows_costs_a_few_statements_whatever_its_size(
    engine: AsyncEngine,
) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    counts = []
    for size in (10, 200):
        owner = await make_owner(engine)
        contacts = [new_id() for _ in range(size)]
        steps = [put_contact(c, 1, firstName=f"C{n}") for n, c in enumerate(contacts)]
        steps += [put_interaction(new_id(), 2, [c], "Hello") for c in contacts]
        mutations = [Mutation(n, *step) for n, step in enumerate(steps, start=1)]
        statements.clear()
        sa.event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            result = await apply_push(
                engine, owner_id=owner, client_id=f"c-{owner}", mutations=mutations, clock=CLOCK
            )
        finally:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", record)
        assert {r.status for r in result.results} == {Status.APPLIED}
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
