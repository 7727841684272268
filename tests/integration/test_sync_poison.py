"""One mutation that can never apply is rejected alone: it never wedges the device's queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import FixedClock
from store import tables
from sync import mutation as sync_mutation
from sync.entity import new_id
from sync.push import Mutation, PushResult, Status, apply_push
from sync.writer import Writer
from tests.integration.sync_support import NOW, clock_at, make_owner

CLOCK = FixedClock(NOW + timedelta(hours=1))
SIZE = 1_000


def poisons(contact: UUID) -> dict[str, tuple[str, dict[str, Any], str]]:
    """Each poison: (name, args, a part of the reason it must be rejected with)."""
    hlc = clock_at(NOW, "phone", 99_999)
    return {
        "cl past int32": ("contact.delete", {"id": str(contact), "cl": 2**31}, "args.cl"),
        "cl past int64": ("contact.delete", {"id": str(contact), "cl": 2**64}, "args.cl"),
        "negative cl": ("contact.delete", {"id": str(contact), "cl": -2}, "args.cl"),
        "NUL in the name": ("contact.del\x00ete", {"id": str(contact)}, "unknown mutation"),
        "lone surrogate in the name": ("contact.\ud800put", {"id": str(contact)}, "\\ud800"),
        "NUL in a row id": ("contact.delete", {"id": f"{contact}\x00"}, "args.id"),
        "NUL in a key of fields": (
            "contact.put",
            {"id": str(contact), "hlc": hlc, "fields": {"first\x00Name": "Eve"}},
            "first\\x00Name",
        ),
        "NUL in an argument name": (
            "contact.put",
            {"id": str(contact), "hlc": hlc, "fields": {}, "ba\x00se": {}},
            "ba\\x00se",
        ),
        "attendee cl past int32": (
            "event.removeAttendee",
            {"eventId": str(contact), "contactId": str(contact), "cl": 2**32},
            "args.cl",
        ),
    }


def valid_mutation(n: int) -> tuple[str, dict[str, Any]]:
    """One of the 999 good mutations: mostly new contacts, with edits and tags between them."""
    contact = UUID(int=n + 1)
    if n % 50 == 7:
        return "tag.put", {
            "id": str(UUID(int=10**9 + n)),
            "hlc": clock_at(NOW, "phone", n),
            "fields": {"name": f"tag {n}"},
        }
    return "contact.put", {
        "id": str(contact),
        "hlc": clock_at(NOW, "phone", n),
        "fields": {"firstName": f"Person {n}", "company": "Acme"},
    }


async def push(engine: AsyncEngine, owner: UUID, mutations: list[Mutation]) -> PushResult:
    return await apply_push(
        engine, owner_id=owner, client_id=f"{owner}-phone", mutations=mutations, clock=CLOCK
    )


async def counts(engine: AsyncEngine, owner: UUID) -> dict[str, Any]:
    async with engine.connect() as conn:
        found: dict[str, Any] = {}
        for table in (tables.contacts, tables.tags, tables.sync_rejections):
            found[table.name] = await conn.scalar(
                sa.select(sa.func.count()).select_from(table).where(table.c.owner_id == owner)
            )
        c = tables.contacts.c
        found["cl"] = sorted(
            (await conn.scalars(sa.select(c.cl).where(c.owner_id == owner).distinct())).all()
        )
    return found


@pytest.mark.parametrize("position", ["start", "middle", "end"])
@pytest.mark.parametrize(
    "poison",
    [
        "cl past int32",
        "negative cl",
        "NUL in the name",
        "NUL in a row id",
        "NUL in a key of fields",
    ],
)
async def test_a_poison_among_a_thousand_mutations_is_rejected_alone(
    engine: AsyncEngine, poison: str, position: str
) -> None:
    owner = await make_owner(engine)
    target = new_id()  # a contact that exists, so only the poison's own flaw can refuse it
    first = Mutation(
        1,
        "contact.put",
        {"id": str(target), "hlc": clock_at(NOW, "phone"), "fields": {"firstName": "Target"}},
    )
    assert (await push(engine, owner, [first])).results[0].status == Status.APPLIED
    name, args, reason = poisons(target)[poison]
    at = {"start": 0, "middle": SIZE // 2, "end": SIZE - 1}[position]
    calls = [valid_mutation(n) for n in range(SIZE - 1)]
    calls.insert(at, (name, args))
    mutations = [Mutation(2 + n, call[0], call[1]) for n, call in enumerate(calls)]

    result = await push(engine, owner, mutations)

    statuses = [r.status for r in result.results]
    assert statuses[at] == Status.REJECTED
    assert reason in (result.results[at].reason or ""), result.results[at]
    assert statuses.count(Status.APPLIED) == SIZE - 1
    assert result.last_mutation_id == SIZE + 1
    after = await counts(engine, owner)
    tags = sum(1 for call in calls if call[0] == "tag.put")
    assert after == {
        "contacts": 1 + SIZE - 1 - tags,
        "tags": tags,
        "sync_rejections": 1,
        "cl": [1],  # the target was not deleted
    }

    again = await push(engine, owner, mutations)
    assert again.last_mutation_id == result.last_mutation_id
    assert {r.status for r in again.results} == {Status.ALREADY_APPLIED}
    assert len(again.results) == SIZE
    assert await counts(engine, owner) == after


@pytest.mark.parametrize(
    "poison",
    [
        "cl past int64",
        "lone surrogate in the name",
        "NUL in an argument name",
        "attendee cl past int32",
    ],
)
async def test_other_poisons_are_rejected_with_their_reason(
    engine: AsyncEngine, poison: str
) -> None:
    owner = await make_owner(engine)
    target = new_id()
    name, args, reason = poisons(target)[poison]
    mutations = [
        Mutation(
            1,
            "contact.put",
            {"id": str(target), "hlc": clock_at(NOW, "phone"), "fields": {"firstName": "Target"}},
        ),
        Mutation(2, name, args),
        Mutation(
            3,
            "contact.put",
            {"id": str(target), "hlc": clock_at(NOW, "phone", 1), "fields": {"company": "After"}},
        ),
    ]
    result = await push(engine, owner, mutations)
    assert [r.status for r in result.results] == [Status.APPLIED, Status.REJECTED, Status.APPLIED]
    assert reason in (result.results[1].reason or "")
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                sa.select(tables.sync_rejections.c.name, tables.sync_rejections.c.reason).where(
                    tables.sync_rejections.c.owner_id == owner
                )
            )
        ).one()
    assert "\x00" not in stored.name
    assert "\x00" not in stored.reason
    assert stored.reason == result.results[1].reason


async def test_a_causal_length_that_would_pass_int32_is_rejected(engine: AsyncEngine) -> None:
    owner = await make_owner(engine)
    contact = new_id()
    mutations = [
        Mutation(
            1,
            "contact.put",
            {"id": str(contact), "hlc": clock_at(NOW, "phone"), "fields": {"firstName": "Ada"}},
        ),
        Mutation(2, "contact.delete", {"id": str(contact), "cl": 2**31 - 2}),
        Mutation(3, "contact.restore", {"id": str(contact)}),  # to 2**31 - 1, the last one
        Mutation(4, "contact.delete", {"id": str(contact)}),  # would be 2**31
    ]
    result = await push(engine, owner, mutations)
    assert [r.status for r in result.results] == [Status.APPLIED] * 3 + [Status.REJECTED]
    assert "args.cl: must be at most 2147483647" in (result.results[3].reason or "")


async def _create_trigger(engine: AsyncEngine, body: str) -> None:
    """A contacts trigger that misbehaves for the company 'Poison' (a fault no rule foresees)."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(f"""
            CREATE FUNCTION misbehave() RETURNS trigger AS $$
            BEGIN
              IF NEW.company = 'Poison' THEN {body} END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        )
        await conn.execute(
            sa.text(
                "CREATE TRIGGER misbehave BEFORE INSERT OR UPDATE ON contacts "
                "FOR EACH ROW EXECUTE FUNCTION misbehave()"
            )
        )


def three_contacts(poisoned: int) -> list[Mutation]:
    return [
        Mutation(
            n + 1,
            "contact.put",
            {
                "id": str(new_id()),
                "hlc": clock_at(NOW, "phone", n),
                "fields": {"firstName": f"P{n}", "company": "Poison" if n == poisoned else "Ok"},
            },
        )
        for n in range(3)
    ]


async def test_an_unexpected_database_error_rejects_that_mutation_alone(
    engine: AsyncEngine,
) -> None:
    owner = await make_owner(engine)
    # RAISE without a code is SQLSTATE P0001: neither bad data nor a broken constraint.
    await _create_trigger(engine, "RAISE EXCEPTION 'something nobody planned for';")
    result = await push(engine, owner, three_contacts(poisoned=1))
    assert [r.status for r in result.results] == [
        Status.APPLIED,
        Status.REJECTED,
        Status.APPLIED,
    ]
    assert result.last_mutation_id == 3
    assert (await counts(engine, owner))["contacts"] == 2


async def test_an_unexpected_exception_in_the_code_rejects_that_mutation_alone(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await make_owner(engine)
    put_contact = sync_mutation.HANDLERS["contact.put"]

    async def trips_on_poison(w: Writer, raw: Mapping[str, Any]) -> None:
        await put_contact(w, raw)  # writes first, so the savepoint has something to undo
        if raw["fields"].get("company") == "Poison":
            raise KeyError("a bug in the write path")

    monkeypatch.setitem(sync_mutation.HANDLERS, "contact.put", trips_on_poison)
    mutations = three_contacts(poisoned=2)
    # Not new rows only, so the push cannot take its batched path around the handler.
    mutations[2] = Mutation(3, "contact.put", {**mutations[2].args, "id": mutations[0].args["id"]})
    result = await push(engine, owner, mutations)
    assert [r.status for r in result.results] == [
        Status.APPLIED,
        Status.APPLIED,
        Status.REJECTED,
    ]
    async with engine.connect() as conn:
        c = tables.contacts.c
        companies = set(await conn.scalars(sa.select(c.company).where(c.owner_id == owner)))
    assert companies == {"Ok"}


@pytest.mark.parametrize(
    ("body", "what"),
    [
        ("RAISE EXCEPTION 'busy' USING ERRCODE = 'serialization_failure';", "serialization"),
        ("RAISE EXCEPTION 'stuck' USING ERRCODE = 'deadlock_detected';", "deadlock"),
        ("PERFORM pg_terminate_backend(pg_backend_pid());", "connection lost"),
    ],
)
async def test_a_transient_database_failure_fails_the_push_so_the_device_resends(
    engine: AsyncEngine, body: str, what: str
) -> None:
    owner = await make_owner(engine)
    await _create_trigger(engine, body)
    with pytest.raises(DBAPIError):
        await push(engine, owner, three_contacts(poisoned=1))
    after = await counts(engine, owner)
    assert after["contacts"] == 0, what
    assert after["sync_rejections"] == 0, what
    async with engine.connect() as conn:
        c = tables.sync_clients.c
        last = await conn.scalar(
            sa.select(c.last_mutation_id).where(c.client_id == f"{owner}-phone")
        )
    assert last in (None, 0), what  # nothing consumed: the resend applies all three
