"""Convergence: devices editing offline through a faulty network end up equal.

Three or more simulated devices edit contacts, tags, memberships, interactions, goals, events
and their attendees, and reminders, delete and restore, create tags of a name another device
has deleted or created, with clocks skewed by up to four minutes, and push and pull through a transport that
drops requests and responses, duplicates them, and delays them past later ones. After
quiescence (everything delivered, every device pushed and pulled) every device must hold
exactly what the server holds, and the server must hold what an oracle computes from the set
of applied mutations alone, whatever order they arrived in. The one fact besides the
mutations is the server's clock when it applied each tag delete: a same-name create restores a
deleted tag if and only if its clock is later than that (docs/sync.md §4).

The device follows docs/sync.md: its state is the server's rows from pulls plus its pending
mutations; it receives the server's clock on every pull; it applies a pull only for the
cursor it asked from.

CI runs 160 examples of up to 50 steps. `make soak SECONDS=600` keeps running new examples for that long.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from model.clock import SystemClock
from store import tables
from store.engine import create_engine
from sync.entity import DELETED_CLOCK, new_id, tag_key
from sync.hlc import max_hlc, tick_hlc
from sync.pull import collect_changes
from sync.push import Mutation, PushResult, Status, apply_push
from tests.integration.sync_support import Change, changes_of, make_owner

EXAMPLES = int(os.environ.get("RAPPORT_SYNC_EXAMPLES", "160"))
SOAK_SECONDS = float(os.environ.get("RAPPORT_SOAK_SECONDS", "0"))
SKEW_MS = 4 * 60 * 1000
TAG_NAMES = ["VIP", "vip", "Investors", "investors", "Mentors", "MENTORS"]
TAG_COLORS = ["#111111", "#2E7D32", None]
# Rows a device creates and edits with ``put``, besides contacts and interactions.
CREATE_FIELDS: dict[str, dict[str, Any]] = {
    "goal": {
        "title": "Goal",
        "metric": "LOG_INTERACTIONS",
        "target": 3,
        "period": "MONTH",
        "startsOn": "2026-11-01",
    },
    "event": {"name": "Meetup", "startsAt": "2026-11-05T18:00:00+00:00"},
    "reminder": {"title": "Call", "dueOn": "2026-12-01"},
}
EDIT_FIELDS = {
    "goal": ["title", "target", "description"],
    "event": ["name", "location", "notes"],
    "reminder": ["title", "notes"],
}
PUT_KINDS = ("contact", "interaction", *CREATE_FIELDS)
FAULTS = ["ok", "ok", "drop_request", "drop_response", "duplicate", "delay"]


@dataclass
class Device:
    name: str
    skew_ms: int
    hlc: str = ""
    next_id: int = 1
    pending: list[Mutation] = field(default_factory=list)
    snapshot: dict[tuple[str, str], Change] = field(default_factory=dict)
    cursor: str | None = None
    # Causal lengths the device has seen or asked for, to ask for the next one.
    cl: dict[tuple[str, str], int] = field(default_factory=dict)
    known_contacts: list[str] = field(default_factory=list)
    known_interactions: list[str] = field(default_factory=list)
    known_tags: dict[str, str] = field(default_factory=dict)  # id -> name
    known: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in CREATE_FIELDS})

    def tick(self) -> str:
        self.hlc = tick_hlc(self.hlc, int(time.time() * 1000) + self.skew_ms, self.name).pack()
        return self.hlc

    def enqueue(self, name: str, args: dict[str, Any]) -> Mutation:
        mutation = Mutation(self.next_id, name, args)
        self.next_id += 1
        self.pending.append(mutation)
        return mutation

    def acknowledge(self, last: int | None) -> None:
        if last is not None:
            self.pending = [m for m in self.pending if m.id > last]

    def next_cl(self, key: tuple[str, str], alive: bool) -> int:
        current = self.cl.get(key, 1)
        wanted = current + 1 if (current % 2 == 1) != alive else current
        self.cl[key] = wanted
        return wanted

    def apply_page(self, changes: list[Change]) -> None:
        for change in changes:
            key = (change.entity, change.id)
            self.snapshot[key] = change
            self.cl[key] = max(self.cl.get(key, 1), change.cl)
            if change.entity == "contact" and change.id not in self.known_contacts:
                self.known_contacts.append(change.id)
            if change.entity == "interaction" and change.id not in self.known_interactions:
                self.known_interactions.append(change.id)
            if change.entity in self.known and change.id not in self.known[change.entity]:
                self.known[change.entity].append(change.id)
            if change.entity == "tag" and change.fields is not None:
                self.known_tags[change.id] = change.fields["name"]
            if change.entity == "tagAlias" and change.fields is not None:
                # Our tag merged into another of the same name: use that one from now on.
                self.known_tags.pop(change.id, None)


def alive_rows(rows: dict[tuple[str, str], Change]) -> dict[tuple[str, str], tuple[int, Any]]:
    return {key: (ch.cl, ch.fields) for key, ch in rows.items() if not ch.deleted}


class Oracle:
    """The expected state from applied mutations alone: merges that ignore arrival order."""

    def __init__(self) -> None:
        # Each applied mutation, with the server's clock of a tag delete (else "").
        self.applied: list[tuple[str, Mutation, str]] = []
        self.seen: set[tuple[str, int]] = set()

    def record(
        self,
        device: str,
        mutations: list[Mutation],
        result: PushResult,
        delete_clocks: dict[str, str],
    ) -> None:
        """Note what a push applied; ``delete_clocks`` gives each tag id's delete clock after it."""
        by_id = {m.id: m for m in mutations}
        for outcome in result.results:
            assert outcome.status != Status.REJECTED, outcome
            if outcome.status == Status.APPLIED:
                # Exactly once: no mutation is applied a second time, however often it arrives.
                assert (device, outcome.id) not in self.seen, (device, outcome.id)
                self.seen.add((device, outcome.id))
                m = by_id[outcome.id]
                stamp = delete_clocks.get(m.args["id"], "") if m.name == "tag.delete" else ""
                self.applied.append((device, m, stamp))

    def expected(self) -> dict[str, Any]:
        fields: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {}
        cls: dict[tuple[str, str], int] = {}
        # Tags by name key: every id created with one name is one tag.
        tag_of: dict[str, str] = {}
        tag_fields: dict[str, dict[str, tuple[str, Any]]] = {}
        tag_cl: dict[str, int] = {}
        tag_deleted_at: dict[str, str] = {}
        members: dict[tuple[str, str], int] = {}
        attendees: dict[str, int] = {}

        def merge(row: dict[str, tuple[str, Any]], clock: str, values: dict[str, Any]) -> None:
            for name, value in values.items():
                if name not in row or clock > row[name][0]:
                    row[name] = (clock, value)

        for _, m, stamp in self.applied:
            args = m.args
            kind = m.name.split(".")[0]
            if m.name.endswith(".put") and kind in PUT_KINDS:
                merge(fields.setdefault((kind, args["id"]), {}), args["hlc"], args["fields"])
                cls.setdefault((kind, args["id"]), 1)
            elif m.name == "tag.put":
                created = args["id"] not in tag_of
                if created:
                    tag_of[args["id"]] = tag_key(args["fields"]["name"])
                key = tag_of[args["id"]]
                merge(tag_fields.setdefault(key, {}), args["hlc"], args["fields"])
                if created and tag_cl.get(key, 1) % 2 == 0 and args["hlc"] > tag_deleted_at[key]:
                    # A same-name create made after the (latest) delete brings the tag back.
                    tag_cl[key] += 1
                tag_cl.setdefault(key, 1)
            elif m.name == "tag.delete":
                key = tag_of[args["id"]]
                if args["cl"] > tag_cl[key]:
                    tag_cl[key], tag_deleted_at[key] = args["cl"], stamp
            elif m.name == "tag.restore":
                key = tag_of[args["id"]]
                tag_cl[key] = max(tag_cl[key], args["cl"])
            elif m.name.endswith((".delete", ".restore")):
                cls[(kind, args["id"])] = max(cls.get((kind, args["id"]), 1), args["cl"])
            elif m.name == "tag.setMembership":
                pair = (tag_of[args["tagId"]], args["contactId"])
                members[pair] = max(members.get(pair, 0), args["cl"])
            elif m.name in ("event.setAttendee", "event.removeAttendee"):
                pair_id = f"{args['eventId']}:{args['contactId']}"
                attendees[pair_id] = max(attendees.get(pair_id, 0), args["cl"])
                if args.get("fields"):
                    row = fields.setdefault(("eventAttendee", pair_id), {})
                    merge(row, args["hlc"], args["fields"])
        alive = {key for key, cl in cls.items() if cl % 2 == 1}
        alive.update(("eventAttendee", k) for k, cl in attendees.items() if cl % 2 == 1)

        def rows(entity: str) -> dict[str, dict[str, Any]]:
            return {
                key[1]: {n: (sorted(v) if n == "contactIds" else v) for n, (_, v) in f.items()}
                for key, f in fields.items()
                if key[0] == entity and key in alive
            }

        expected: dict[str, Any] = {kind: rows(kind) for kind in PUT_KINDS}
        expected["eventAttendee"] = {
            k: rows("eventAttendee").get(k, {}) for k, cl in attendees.items() if cl % 2 == 1
        }
        expected["tags"] = {
            key: {n: v for n, (_, v) in tag_fields[key].items()}
            for key, cl in tag_cl.items()
            if cl % 2 == 1
        }
        expected["members"] = {pair for pair, cl in members.items() if cl % 2 == 1}
        return expected


def server_view(
    rows: dict[tuple[str, str], Change],
    written: dict[str, set[str]],
    tag_keys: dict[str, str],
) -> dict[str, Any]:
    """The server's rows, in the oracle's terms (fields the devices wrote; tags by name)."""
    alive = {key: ch for key, ch in rows.items() if not ch.deleted}

    def pick(entity: str) -> dict[str, dict[str, Any]]:
        out = {}
        for (kind, key), ch in alive.items():
            if kind == entity and ch.fields is not None:
                out[key] = {
                    n: (sorted(ch.fields[n]) if n == "contactIds" else ch.fields[n])
                    for n in written.get(key, set())
                }
        return out

    view: dict[str, Any] = {kind: pick(kind) for kind in (*PUT_KINDS, "eventAttendee")}
    view["tags"] = {
        tag_keys[key]: {n: ch.fields[n] for n in written.get(tag_keys[key], set())}
        for (kind, key), ch in alive.items()
        if kind == "tag" and ch.fields is not None
    }
    view["members"] = {
        (tag_keys[key.split(":")[0]], key.split(":")[1])
        for (kind, key) in alive
        if kind == "contactTag"
    }
    return view


class SyncNetwork(RuleBasedStateMachine):
    database_url = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.engine: AsyncEngine = create_engine(self.database_url, pool_size=3)
        self.owner: UUID = self.run(make_owner(self.engine))
        self.clock = SystemClock()
        self.devices: list[Device] = []
        self.delayed: list[tuple[str, Device, Any]] = []
        self.oracle = Oracle()
        self.rng = random.Random(0)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()

    @initialize(
        skews=st.lists(
            st.sampled_from([-SKEW_MS, -SKEW_MS // 2, 0, SKEW_MS // 2, SKEW_MS]),
            min_size=3,
            max_size=4,
        ),
        seed=st.integers(0, 2**16),
    )
    def make_devices(self, skews: list[int], seed: int) -> None:
        self.devices = [Device(f"device{n}", skew) for n, skew in enumerate(skews)]
        self.rng = random.Random(seed)
        # Start from a shared address book, so that devices edit the same rows at once.
        first = self.devices[0]
        for name in ("Ada", "Grace", "Alan"):
            self.create_contact(0, name)
        self.create_tag(0, "VIP")
        for kind in sorted(CREATE_FIELDS):
            self.create_row(0, kind)
        first.acknowledge(self._push(first, list(first.pending)).last_mutation_id)
        for d in self.devices:
            self.pull(self.devices.index(d), "ok")

    # Local edits -----------------------------------------------------------------------

    @rule(device=st.integers(0, 3), first=st.sampled_from(["Ada", "Grace", "Alan", "Joan"]))
    def create_contact(self, device: int, first: str) -> None:
        d = self.devices[device % len(self.devices)]
        contact_id = str(new_id())
        d.enqueue(
            "contact.put",
            {"id": contact_id, "hlc": d.tick(), "fields": {"firstName": first, "company": "Start"}},
        )
        d.known_contacts.append(contact_id)

    @rule(
        device=st.integers(0, 3),
        pick=st.integers(0, 50),
        name=st.sampled_from(["company", "notes", "cadenceDays"]),
        value=st.integers(1, 9),
    )
    def edit_contact(self, device: int, pick: int, name: str, value: int) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known_contacts:
            return
        contact_id = d.known_contacts[pick % len(d.known_contacts)]
        new_value: Any = value * 7 if name == "cadenceDays" else f"{name} {value} by {d.name}"
        d.enqueue("contact.put", {"id": contact_id, "hlc": d.tick(), "fields": {name: new_value}})

    @rule(
        device=st.integers(0, 3),
        pick=st.integers(0, 50),
        alive=st.booleans(),
        entity=st.sampled_from(["contact", "interaction", "tag"]),
    )
    def delete_or_restore(self, device: int, pick: int, alive: bool, entity: str) -> None:
        d = self.devices[device % len(self.devices)]
        known = {
            "contact": d.known_contacts,
            "interaction": d.known_interactions,
            "tag": sorted(d.known_tags),
            **d.known,
        }[entity]
        if not known:
            return
        row_id = known[pick % len(known)]
        cl = d.next_cl((entity, row_id), alive)
        d.enqueue(f"{entity}.{'restore' if alive else 'delete'}", {"id": row_id, "cl": cl})

    @rule(
        device=st.integers(0, 3),
        name=st.sampled_from(TAG_NAMES),
        color=st.sampled_from(TAG_COLORS),
    )
    def create_tag(self, device: int, name: str, color: str | None = None) -> None:
        d = self.devices[device % len(self.devices)]
        if tag_key(name) in {tag_key(n) for n in d.known_tags.values()}:
            return  # the app reuses a tag it knows (or restores it, when deleted)
        # A device that never saw a tag of this name (or its delete) makes one: an alias.
        tag_id = str(new_id())
        fields: dict[str, Any] = {"name": name}
        if color is not None:
            fields["color"] = color
        d.enqueue("tag.put", {"id": tag_id, "hlc": d.tick(), "fields": fields})
        d.known_tags[tag_id] = name

    @rule(
        device=st.integers(0, 3),
        pick=st.integers(0, 10),
        other=st.integers(0, 3),
        name=st.sampled_from(TAG_NAMES),
    )
    def delete_a_tag_another_device_makes(
        self, device: int, pick: int, other: int, name: str
    ) -> None:
        """One device deletes a tag while another, which never saw it, makes one of its name."""
        d = self.devices[device % len(self.devices)]
        if not d.known_tags:
            return
        tag_id = sorted(d.known_tags)[pick % len(d.known_tags)]
        d.enqueue("tag.delete", {"id": tag_id, "cl": d.next_cl(("tag", tag_id), False)})
        same = [n for n in TAG_NAMES if tag_key(n) == tag_key(d.known_tags[tag_id])]
        self.create_tag(other, same[TAG_NAMES.index(name) % len(same)], None)

    @rule(device=st.integers(0, 3), pick=st.integers(0, 10), color=st.sampled_from(TAG_COLORS))
    def recolor_tag(self, device: int, pick: int, color: str | None) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known_tags:
            return
        tag_id = sorted(d.known_tags)[pick % len(d.known_tags)]
        d.enqueue("tag.put", {"id": tag_id, "hlc": d.tick(), "fields": {"color": color}})

    @rule(device=st.integers(0, 3), kind=st.sampled_from(sorted(CREATE_FIELDS)))
    def create_row(self, device: int, kind: str) -> None:
        d = self.devices[device % len(self.devices)]
        row_id = str(new_id())
        d.enqueue(f"{kind}.put", {"id": row_id, "hlc": d.tick(), "fields": CREATE_FIELDS[kind]})
        d.known[kind].append(row_id)

    @rule(
        device=st.integers(0, 3),
        pick=st.integers(0, 50),
        alive=st.booleans(),
        kind=st.sampled_from(sorted(CREATE_FIELDS)),
    )
    def delete_or_restore_row(self, device: int, pick: int, alive: bool, kind: str) -> None:
        self.delete_or_restore(device, pick, alive, kind)

    @rule(
        device=st.integers(0, 3),
        kind=st.sampled_from(sorted(CREATE_FIELDS)),
        pick=st.integers(0, 50),
        which=st.integers(0, 2),
        value=st.integers(1, 9),
    )
    def edit_row(self, device: int, kind: str, pick: int, which: int, value: int) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known[kind]:
            return
        row_id = d.known[kind][pick % len(d.known[kind])]
        name = EDIT_FIELDS[kind][which % len(EDIT_FIELDS[kind])]
        new_value: Any = value * 10 if name == "target" else f"{name} {value} by {d.name}"
        d.enqueue(f"{kind}.put", {"id": row_id, "hlc": d.tick(), "fields": {name: new_value}})

    @rule(
        device=st.integers(0, 3),
        event=st.integers(0, 50),
        pick=st.integers(0, 50),
        action=st.sampled_from(["add", "note", "remove"]),
        status=st.sampled_from(["PLANNED", "MET"]),
    )
    def attend(self, device: int, event: int, pick: int, action: str, status: str) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known["event"] or not d.known_contacts:
            return
        event_id = d.known["event"][event % len(d.known["event"])]
        contact_id = d.known_contacts[pick % len(d.known_contacts)]
        key = ("eventAttendee", f"{event_id}:{contact_id}")
        d.cl.setdefault(key, 0)
        args: dict[str, Any] = {"eventId": event_id, "contactId": contact_id}
        if action == "remove":
            cl = d.next_cl(key, False)
            if cl == 0:
                return  # never on this device's list
            d.enqueue("event.removeAttendee", {**args, "cl": cl})
            return
        if action == "note":
            # An attendee already listed: send the cl the device has (docs/sync.md, §4).
            cl = d.cl[key]
            if cl % 2 == 0:
                return
            fields: dict[str, Any] = {"note": f"note by {d.name}"}
        else:
            cl = d.next_cl(key, True)
            fields = {"status": status}
        d.enqueue("event.setAttendee", {**args, "cl": cl, "hlc": d.tick(), "fields": fields})

    @rule(
        device=st.integers(0, 3),
        tag=st.integers(0, 10),
        pick=st.integers(0, 50),
        member=st.booleans(),
    )
    def toggle_membership(self, device: int, tag: int, pick: int, member: bool) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known_tags or not d.known_contacts:
            return
        tag_id = sorted(d.known_tags)[tag % len(d.known_tags)]
        contact_id = d.known_contacts[pick % len(d.known_contacts)]
        key = ("contactTag", f"{tag_id}:{contact_id}")
        d.cl.setdefault(key, 0)
        cl = d.next_cl(key, member)
        if cl == 0:
            return
        d.enqueue(
            "tag.setMembership",
            {"tagId": tag_id, "contactId": contact_id, "member": member, "cl": cl},
        )

    @rule(
        device=st.integers(0, 3),
        picks=st.lists(st.integers(0, 50), min_size=1, max_size=2),
        summary=st.sampled_from(["Lunch", "Call", "Walk"]),
    )
    def log_interaction(self, device: int, picks: list[int], summary: str) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known_contacts:
            return
        contact_ids = sorted({d.known_contacts[p % len(d.known_contacts)] for p in picks})
        interaction_id = str(new_id())
        d.enqueue(
            "interaction.put",
            {
                "id": interaction_id,
                "hlc": d.tick(),
                "fields": {
                    "contactIds": contact_ids,
                    "occurredAt": "2026-11-01T10:00:00+00:00",
                    "summary": summary,
                },
            },
        )
        d.known_interactions.append(interaction_id)

    @rule(
        device=st.integers(0, 3),
        pick=st.integers(0, 50),
        body=st.sampled_from(["good", "bad", "long story"]),
    )
    def edit_interaction(self, device: int, pick: int, body: str) -> None:
        d = self.devices[device % len(self.devices)]
        if not d.known_interactions:
            return
        interaction_id = d.known_interactions[pick % len(d.known_interactions)]
        d.enqueue(
            "interaction.put",
            {"id": interaction_id, "hlc": d.tick(), "fields": {"body": f"{body} ({d.name})"}},
        )

    # The network -------------------------------------------------------------------------

    def _push(self, d: Device, mutations: list[Mutation]) -> PushResult:
        result: PushResult = self.run(
            apply_push(
                self.engine,
                owner_id=self.owner,
                client_id=f"{self.owner}-{d.name}",
                mutations=mutations,
                clock=self.clock,
            )
        )
        deletes_tags = any(m.name == "tag.delete" for m in mutations)
        clocks = self.run(self._delete_clocks()) if deletes_tags else {}
        self.oracle.record(d.name, mutations, result, clocks)
        return result

    def _pull(self, d: Device, cursor: str | None) -> Any:
        return self.run(
            collect_changes(
                self.engine,
                owner_id=self.owner,
                client_id=f"{self.owner}-{d.name}",
                cursor=cursor,
                limit=7,
            )
        )

    def _receive_pull(self, d: Device, asked_from: str | None, page: Any) -> None:
        if asked_from != d.cursor:
            return  # an old response overtaken by a newer pull: ignore it
        if page.reset:
            d.snapshot.clear()
            d.cursor = None
            return
        d.apply_page(changes_of(page))
        d.cursor = page.cursor
        d.hlc = max_hlc(d.hlc, page.server_hlc)
        d.acknowledge(page.last_mutation_id)

    @rule(device=st.integers(0, 3), fault=st.sampled_from(FAULTS))
    def push(self, device: int, fault: str) -> None:
        d = self.devices[device % len(self.devices)]
        batch = list(d.pending)
        if not batch or fault == "drop_request":
            return
        if fault == "delay":
            self.delayed.append(("push", d, batch))
            return
        result = self._push(d, batch)
        if fault == "duplicate":
            self._push(d, batch)
        if fault != "drop_response":
            d.acknowledge(result.last_mutation_id)
            d.hlc = max_hlc(d.hlc, result.server_hlc)

    @rule(device=st.integers(0, 3), fault=st.sampled_from(FAULTS))
    def pull(self, device: int, fault: str) -> None:
        d = self.devices[device % len(self.devices)]
        if fault == "drop_request":
            return
        asked_from = d.cursor
        page = self._pull(d, asked_from)
        if fault == "delay":
            self.delayed.append(("pull", d, (asked_from, page)))
        elif fault != "drop_response":
            self._receive_pull(d, asked_from, page)
            if fault == "duplicate":
                self._receive_pull(d, asked_from, page)

    @precondition(lambda self: bool(self.delayed))
    @rule(pick=st.integers(0, 50))
    def deliver_delayed(self, pick: int) -> None:
        kind, d, payload = self.delayed.pop(pick % len(self.delayed))
        if kind == "push":
            result = self._push(d, payload)
            d.acknowledge(result.last_mutation_id)
        else:
            self._receive_pull(d, *payload)

    @invariant()
    def cursors_belong_to_devices(self) -> None:
        for d in self.devices:
            assert all(m.id >= 1 for m in d.pending)

    def converge(self) -> None:
        """Quiescence: deliver what is in flight, then push and pull until nothing moves."""
        for kind, d, payload in self.delayed:
            if kind == "push":
                self._push(d, payload)
        self.delayed.clear()
        for _ in range(3):
            for d in self.devices:
                if d.pending:
                    result = self._push(d, list(d.pending))
                    d.acknowledge(result.last_mutation_id)
            for d in self.devices:
                while True:
                    asked = d.cursor
                    page = self._pull(d, asked)
                    self._receive_pull(d, asked, page)
                    if not page.has_more and not page.reset:
                        break
        server: dict[tuple[str, str], Change] = {}
        cursor = None
        while True:
            page = self._pull(Device("fresh", 0), cursor)
            server.update({(c.entity, c.id): c for c in changes_of(page)})
            cursor = page.cursor
            if not page.has_more:
                break
        for d in self.devices:
            assert not d.pending, (d.name, d.pending)
            assert alive_rows(d.snapshot) == alive_rows(server), d.name
        expected = self.oracle.expected()
        written = {
            key: set(values)
            for kind in (*PUT_KINDS, "eventAttendee", "tags")
            for key, values in expected[kind].items()
        }
        # Tombstones carry no fields, so a deleted tag's name is read where it is kept.
        assert server_view(server, written, self.run(self._tag_keys())) == expected

    async def _delete_clocks(self) -> dict[str, str]:
        """Each tag id's (and alias id's) clock of its tag's latest delete, as the server has it."""
        t, al = tables.tags.c, tables.tag_aliases.c
        named = sa.select(t.id, t.id.label("tag_id")).where(t.owner_id == self.owner)
        ids = named.union_all(sa.select(al.id, al.tag_id).where(al.owner_id == self.owner)).cte()
        query = (
            sa.select(ids.c.id, t.field_hlc[DELETED_CLOCK].astext)
            .join(tables.tags, (t.owner_id == self.owner) & (t.id == ids.c.tag_id))
            .where(t.field_hlc.has_key(DELETED_CLOCK))
        )
        async with self.engine.connect() as conn:
            return {str(row[0]): row[1] for row in await conn.execute(query)}

    async def _tag_keys(self) -> dict[str, str]:
        t = tables.tags.c
        async with self.engine.connect() as conn:
            found = await conn.execute(sa.select(t.id, t.name_key).where(t.owner_id == self.owner))
            return {str(row.id): row.name_key for row in found}


def test_devices_converge_through_a_faulty_network(db_url: str) -> None:
    class Converging(SyncNetwork):
        database_url = db_url

        def teardown(self) -> None:
            try:
                if self.devices:
                    self.converge()
            finally:
                super().teardown()

    config = settings(
        max_examples=EXAMPLES,
        stateful_step_count=50,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=not SOAK_SECONDS,
    )
    deadline = time.monotonic() + SOAK_SECONDS
    while True:
        run_state_machine_as_test(Converging, settings=config)
        if time.monotonic() >= deadline:
            break
        config = settings(config, derandomize=False)
