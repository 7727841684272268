"""Introduction paths: which of the user's contacts could introduce them to a target.

A contact is a possible introducer when they share something with the target: the company
(they are probably colleagues), an event (both on its list), a tag the user gave both, or an
interest. Each shared fact is a reason, named as the user would recognise it, with a weight;
a closer relationship with the introducer multiplies the sum, since a warm introduction goes
through someone who answers the user's messages. Nothing is guessed: the same facts give the
same paths, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Generic, TypeVar

K = TypeVar("K")


class ReasonKind(StrEnum):
    COMPANY = "COMPANY"
    EVENT = "EVENT"
    TAG = "TAG"
    INTEREST = "INTEREST"
    RELATIONSHIP = "RELATIONSHIP"


# A colleague knows the target best; meeting at an event, a tag the user chose and an
# interest in common are weaker ties, in that order.
WEIGHTS = {
    ReasonKind.COMPANY: 3.0,
    ReasonKind.EVENT: 2.0,
    ReasonKind.TAG: 1.5,
    ReasonKind.INTEREST: 1.0,
}
# How much more a path through a contact counts by the relationship's stage.
CLOSENESS = {"CLOSE": 1.0, "ACTIVE": 0.6, "ACQUAINTANCE": 0.3, "NEW": 0.1, "ARCHIVED": 0.0}
# An introducer talked to this recently is warm: a reason, and a little more weight.
RECENT_DAYS = 90
RECENT_BONUS = 0.2


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    fact: str


@dataclass(frozen=True)
class Person(Generic[K]):
    key: K
    name: str
    company: str | None = None
    interests: tuple[str, ...] = ()
    # Names of the tags, and (name, day) of the events, shared with the target.
    tags: tuple[str, ...] = ()
    events: tuple[tuple[str, date], ...] = ()
    stage: str = "NEW"
    last_interaction_at: datetime | None = None


@dataclass(frozen=True)
class Path(Generic[K]):
    key: K
    score: float
    reasons: tuple[Reason, ...]


@dataclass
class _Tally:
    reasons: list[Reason] = field(default_factory=list)
    score: float = 0.0

    def add(self, kind: ReasonKind, fact: str) -> None:
        self.reasons.append(Reason(kind, fact))
        self.score += WEIGHTS[kind]


def _fold(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


def rank_paths(
    target: Person[K], people: Sequence[Person[K]], *, now: datetime, limit: int
) -> list[Path[K]]:
    """Return up to ``limit`` introducers of ``target``, best first, each with its reasons.

    ``people`` carry only the tags and events they share with the target (the read knows
    which); company and interests are compared here, case and spacing aside.
    """
    company = _fold(target.company)
    wanted = {_fold(i): i for i in target.interests if _fold(i)}
    paths: list[Path[K]] = []
    for person in people:
        if person.key == target.key:
            continue
        tally = _Tally()
        if company and _fold(person.company) == company:
            tally.add(ReasonKind.COMPANY, f"{person.name} works at {target.company}")
        for name, day in sorted(person.events, key=lambda e: (e[1], e[0])):
            tally.add(ReasonKind.EVENT, f"both on the list for {name} ({day.isoformat()})")
        for name in sorted(person.tags, key=str.casefold):
            tally.add(ReasonKind.TAG, f"both tagged {name}")
        shared = sorted({_fold(i) for i in person.interests} & set(wanted))
        for interest in shared:
            tally.add(ReasonKind.INTEREST, f"both interested in {wanted[interest]}")
        if not tally.reasons:
            continue
        closeness = CLOSENESS.get(person.stage, 0.0)
        last = person.last_interaction_at
        if last is not None and 0 <= (now - last).days <= RECENT_DAYS:
            days = (now - last).days
            when = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
            tally.reasons.append(Reason(ReasonKind.RELATIONSHIP, f"you last talked {when}"))
            closeness += RECENT_BONUS
        score = round(tally.score * (1.0 + closeness), 4)
        paths.append(Path(person.key, score, tuple(tally.reasons)))
    paths.sort(key=lambda p: (-p.score, str(p.key)))
    return paths[:limit]
