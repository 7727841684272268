"""Property: a merge racing offline edits converges, and no edit is lost without a word.

Three devices start from the same three contacts (Ada, and her duplicates Ada L. and A.
Lovelace). Offline, each adds email addresses to contacts, logs meetings with them and tags
them, pushing and pulling in any order, while the user merges the duplicates into Ada online
at some point. A device that has pulled the merge edits the survivor, as docs/sync.md asks;
one that has not edits whatever it holds. After everyone pushed and pulled:

- every device holds exactly what a fresh pull returns; the duplicates are tombstones whose
  ``derived.mergedInto`` names Ada on every device;
- an edit of a merged contact that arrived after the merge was REJECTED, naming the survivor;
  every other mutation was APPLIED;
- the merge kept every address the three contacts had; every contact's addresses are those
  of its latest write by clock (device edits and the merge alike): an edit that lost, lost
  to a later one, as last-writer-wins says;
- every meeting and tag made offline is on a living contact: none is hidden on a tombstone.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.clock import FixedClock
from store import tables
from store.engine import create_engine
from sync.entity import new_id
from sync.merge import merge_contacts
from sync.pull import collect_changes
from sync.push import Mutation, Status, apply_push
from sync.writer import open_writer
from tests.integration.sync_support import NOW, Change, changes_of, clock_at, make_owner

EXAMPLES = int(os.environ.get("RAPPORT_MERGE_EXAMPLES", "30"))
DEVICES = 3
CONTACTS = 3  # contact 0 survives; 1 and 2 are merged into it


@dataclass
class Device:
    client_id: str
    node: str
    skew_ms: int
    rows: dict[tuple[str, str], Change] = field(default_factory=dict)
    cursor: str | None = None
    queue: list[Mutation] = field(default_factory=list)
    next_id: int = 1
    counter: int = 0

    def clock(self, step: int) -> str:
        self.counter += 1
        return clock_at(
            NOW + timedelta(milliseconds=step * 10 + self.skew_ms), self.node, self.counter
        )

    def contact(self, contact_id: str) -> str:
        """The contact to edit: a merged one's survivor once the device has pulled the merge."""
        held = self.rows.get(("contact", contact_id))
        if held is not None and held.deleted and held.derived.get("mergedInto"):
            return str(held.derived["mergedInto"])
        return contact_id

    def emails(self, contact_id: str) -> list[dict[str, str]]:
        """The addresses the device shows: the pulled row, then its own queued edit."""
        shown: list[dict[str, str]] = []
        held = self.rows.get(("contact", contact_id))
        if held is not None and held.fields is not None:
            shown = list(held.fields["emails"])
        for mutation in self.queue:
            if mutation.name == "contact.put" and mutation.args["id"] == contact_id:
                shown = list(mutation.args["fields"]["emails"])
        return shown

    def enqueue(self, name: str, args: dict[str, Any]) -> Mutation:
        mutation = Mutation(self.next_id, name, args)
        self.next_id += 1
        self.queue.append(mutation)
        return mutation


@dataclass
class Written:
    """A write of a contact's emails that the server applied: by a device or by the merge."""

    contact: str
    clock: str
    emails: list[str]


Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["email", "email", "meet", "tag", "push", "push", "pull"]),
        st.integers(0, DEVICES - 1),
        st.integers(0, CONTACTS - 1),
    ),
    min_size=4,
    # At most 14 new addresses and 3 seeds: the merged lists stay within 20 addresses.
    max_size=14,
)


async def _pull(engine: Any, owner: UUID, device: Device) -> None:
    while True:
        page = await collect_changes(
            engine, owner_id=owner, client_id=device.client_id, cursor=device.cursor, limit=50
        )
        for change in changes_of(page):
            device.rows[(change.entity, change.id)] = change
        device.cursor = page.cursor
        if not page.has_more:
            return


async def _play(engine: Any, scenario: list[Step], merge_at: int) -> None:
    owner = await make_owner(engine)
    server = FixedClock(NOW)
    contacts = [str(new_id()) for _ in range(CONTACTS)]
    tag_id = str(new_id())
    seed = Device(f"{owner}-seed", "seed", 0)
    seed.enqueue("tag.put", {"id": tag_id, "hlc": seed.clock(0), "fields": {"name": "Friends"}})
    for n, (contact_id, (first, last)) in enumerate(
        zip(contacts, [("Ada", "Lovelace"), ("Ada", "L."), ("A.", "Lovelace")], strict=True)
    ):
        seed.enqueue(
            "contact.put",
            {
                "id": contact_id,
                "hlc": seed.clock(0),
                "fields": {
                    "firstName": first,
                    "lastName": last,
                    "emails": [{"label": "", "value": f"seed{n}@example.com"}],
                },
            },
        )
    await apply_push(
        engine, owner_id=owner, client_id=seed.client_id, mutations=seed.queue, clock=server
    )
    devices = [Device(f"{owner}-d{d}", f"d{d}", skew) for d, skew in enumerate([-900, 0, 700])]
    for device in devices:
        await _pull(engine, owner, device)

    written: list[Written] = [
        Written(c, seed.queue[n + 1].args["hlc"], [f"seed{n}@example.com"])
        for n, c in enumerate(contacts)
    ]
    meetings: list[str] = []
    merged = False
    unique = 0

    async def push(device: Device) -> None:
        if not device.queue:
            return
        result = await apply_push(
            engine,
            owner_id=owner,
            client_id=device.client_id,
            mutations=device.queue,
            clock=server,
        )
        for mutation, outcome in zip(device.queue, result.results, strict=True):
            merged_target = mutation.args.get("id") in contacts[1:]
            if mutation.name == "contact.put" and merged_target and merged:
                assert outcome.status is Status.REJECTED, outcome
                assert outcome.reason is not None
                assert contacts[0] in outcome.reason
                continue
            assert outcome.status is Status.APPLIED, (mutation, outcome)
            if mutation.name == "contact.put":
                values = [e["value"] for e in mutation.args["fields"]["emails"]]
                written.append(Written(mutation.args["id"], mutation.args["hlc"], values))
        device.queue.clear()

    for n, (kind, d, c) in enumerate(scenario):
        if n == merge_at and not merged:
            before = await _emails(engine, owner, contacts)
            async with open_writer(engine, owner, server) as w:
                await merge_contacts(w, UUID(contacts[0]), [UUID(contacts[1]), UUID(contacts[2])])
            merged = True
            after = await _emails(engine, owner, contacts)
            # The merge keeps every address the three had.
            assert set().union(*before.values()) <= set(after[contacts[0]])
            written.append(
                Written(contacts[0], await _clock(engine, owner, contacts[0]), after[contacts[0]])
            )
        device = devices[d]
        step = n + 1
        if kind == "email":
            target = device.contact(contacts[c])
            unique += 1
            emails = [*device.emails(target), {"label": "", "value": f"e{unique}@example.com"}]
            device.enqueue(
                "contact.put",
                {"id": target, "hlc": device.clock(step), "fields": {"emails": emails}},
            )
        elif kind == "meet":
            interaction = str(new_id())
            meetings.append(interaction)
            device.enqueue(
                "interaction.put",
                {
                    "id": interaction,
                    "hlc": device.clock(step),
                    "fields": {
                        "contactIds": [device.contact(contacts[c])],
                        "occurredAt": (NOW - timedelta(days=step)).isoformat(),
                        "kind": "MEETING",
                    },
                },
            )
        elif kind == "tag":
            device.enqueue(
                "tag.setMembership",
                {"tagId": tag_id, "contactId": device.contact(contacts[c]), "member": True},
            )
        elif kind == "push":
            await push(device)
        else:
            await _pull(engine, owner, device)
    if not merged:
        async with open_writer(engine, owner, server) as w:
            await merge_contacts(w, UUID(contacts[0]), [UUID(contacts[1]), UUID(contacts[2])])
        merged = True
        written.append(
            Written(
                contacts[0],
                await _clock(engine, owner, contacts[0]),
                (await _emails(engine, owner, contacts))[contacts[0]],
            )
        )
    for device in devices:
        await push(device)
    for device in devices:
        await _pull(engine, owner, device)

    # Every device holds what a fresh pull returns.
    fresh = Device(f"{owner}-fresh", "fresh", 0)
    await _pull(engine, owner, fresh)
    expected = {key: _state(change) for key, change in fresh.rows.items()}
    for device in devices:
        held = {key: _state(change) for key, change in device.rows.items()}
        assert {k: held[k] for k in expected} == expected
    for merged_id in contacts[1:]:
        for device in devices:
            tombstone = device.rows[("contact", merged_id)]
            assert tombstone.deleted
            assert tombstone.derived["mergedInto"] == contacts[0]
    # Each contact's addresses are those of its latest write by clock.
    final = await _emails(engine, owner, contacts)
    for contact_id in contacts:
        latest = max((w for w in written if w.contact == contact_id), key=lambda w: w.clock)
        assert final[contact_id] == latest.emails
    # Nothing made offline is hidden on a tombstone.
    survivors = fresh.rows
    for interaction in meetings:
        row = survivors[("interaction", interaction)]
        assert row.fields is not None
        assert row.fields["contactIds"] == [contacts[0]]
    for (entity, key), change in survivors.items():
        if entity == "contactTag" and not change.deleted:
            assert key.endswith(contacts[0])


def _state(change: Change) -> str:
    return json.dumps(
        [change.deleted, change.cl, change.fields, change.clocks, change.derived], sort_keys=True
    )


async def _emails(engine: Any, owner: UUID, contacts: list[str]) -> dict[str, list[str]]:
    c = tables.contacts.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(c.id, c.emails).where(
                c.owner_id == owner, c.id.in_([UUID(x) for x in contacts])
            )
        )
        return {str(row.id): [e["value"] for e in row.emails] for row in rows}


async def _clock(engine: Any, owner: UUID, contact_id: str) -> str:
    c = tables.contacts.c
    async with engine.connect() as conn:
        hlc = await conn.scalar(
            sa.select(c.field_hlc).where(c.owner_id == owner, c.id == UUID(contact_id))
        )
    return str(hlc["emails"])


def test_a_merge_racing_offline_edits_converges_and_loses_no_edit_silently(db_url: str) -> None:
    loop = asyncio.new_event_loop()
    engine = create_engine(db_url, pool_size=2)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(scenario=steps, merge_at=st.integers(0, 14))
    def run(scenario: list[Step], merge_at: int) -> None:
        loop.run_until_complete(_play(engine, scenario, merge_at))

    try:
        run()
    finally:
        loop.run_until_complete(engine.dispose())
        loop.close()
