"""Introductions worth making: two of the user's contacts who would gain from meeting.

Pairs are found through an inverted index, never by comparing every pair: each contact's
features (interests, tags, role) point at the contacts sharing them. Only "anchor" contacts —
the ones the user cares most about, at most ``MAX_ANCHORS`` — are walked, so the work is
anchors times features times contacts per feature, whatever the size of the address book. A shared
feature counts by its rarity (inverse document frequency): two people who both like
"mycology" have more to say to each other than two who both like "travel".

Pairs who met already (an interaction together, one introduced the other) and colleagues at
the same company, who presumably know each other, are left out by the caller's ``exclude``.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")

MAX_ANCHORS = 500
# A feature shared by more contacts than this says little; only its rarest owners are walked.
MAX_POSTING = 2_000
GOAL_BOOST = 2.0
ROLE_WEIGHT = 1.5

# Role words in a title, and which roles gain from meeting each other.
ROLE_WORDS = {
    "founder": "founder",
    "co-founder": "founder",
    "cofounder": "founder",
    "ceo": "founder",
    "investor": "investor",
    "vc": "investor",
    "angel": "investor",
    "venture": "investor",
    "engineer": "engineer",
    "developer": "engineer",
    "cto": "engineer",
    "designer": "designer",
    "recruiter": "recruiter",
    "talent": "recruiter",
    "product": "product",
    "journalist": "media",
    "editor": "media",
    "reporter": "media",
    "researcher": "researcher",
    "professor": "researcher",
    "scientist": "researcher",
}
COMPLEMENTS = {
    ("founder", "investor"),
    ("founder", "engineer"),
    ("founder", "recruiter"),
    ("founder", "media"),
    ("founder", "researcher"),
    ("product", "designer"),
    ("product", "engineer"),
    ("engineer", "recruiter"),
}


@dataclass(frozen=True)
class Person(Generic[K]):
    key: K
    name: str
    interests: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    title: str | None = None
    company: str | None = None
    # Larger first: who the anchors are.
    rank: float = 0.0


@dataclass(frozen=True)
class Pair(Generic[K]):
    a: K
    b: K
    score: float
    reasons: tuple[str, ...]


@dataclass
class _Tally:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


def roles_of(title: str | None) -> set[str]:
    """Return the roles a job title names (``"Co-founder & CEO"`` → founder)."""
    if not title:
        return set()
    words = re.findall(r"[a-z][a-z\-]*", title.casefold())
    return {ROLE_WORDS[w] for w in words if w in ROLE_WORDS}


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def complements_of(role: str) -> list[str]:
    """Return the roles that gain from meeting ``role``."""
    return sorted(
        {b for a, b in COMPLEMENTS if a == role} | {a for a, b in COMPLEMENTS if b == role}
    )


def normalize(label: str) -> str:
    return " ".join(label.split()).casefold()


def _features(person: Person[K]) -> dict[str, str]:
    """Feature → how a reason names it."""
    found = {f"interest:{normalize(i)}": f"both interested in {i}" for i in person.interests}
    found.update({f"tag:{normalize(t)}": f"both tagged {t}" for t in person.tags})
    return found


def suggest_introductions(
    people: Sequence[Person[K]],
    first: int,
    *,
    goal_tags: Mapping[str, str] | None = None,
    exclude: Callable[[K, K], bool] | None = None,
    candidates: int | None = None,
) -> list[Pair[K]]:
    """Return the best ``first`` pairs (or ``candidates`` of them, for a caller that filters)."""
    goal_tags = {normalize(t): title for t, title in (goal_tags or {}).items()}
    by_key = {p.key: p for p in people}
    features = {p.key: _features(p) for p in people}
    roles = {p.key: roles_of(p.title) for p in people}
    index: dict[str, list[K]] = defaultdict(list)
    for person in sorted(people, key=lambda p: -p.rank):
        for name in features[person.key]:
            index[name].append(person.key)
        for role in roles[person.key]:
            index[f"role:{role}"].append(person.key)
    total = max(2, len(people))

    def idf(name: str) -> float:
        return math.log(total / len(index[name])) + 0.1

    anchors = sorted(people, key=lambda p: (-p.rank, str(p.key)))[:MAX_ANCHORS]
    tallies: dict[tuple[K, K], _Tally] = {}

    def credit(a: K, b: K, weight: float, reason: str) -> None:
        if a == b:
            return
        pair = (a, b) if str(a) < str(b) else (b, a)
        tally = tallies.setdefault(pair, _Tally())
        if reason not in tally.reasons:
            tally.score += weight
            tally.reasons.append(reason)

    for anchor in anchors:
        for name, reason in features[anchor.key].items():
            weight = idf(name)
            label = name.split(":", 1)[1]
            if name.startswith("tag:") and label in goal_tags:
                weight *= GOAL_BOOST
                reason = f"{reason}, which fits your goal “{goal_tags[label]}”"
            for other in index[name][:MAX_POSTING]:
                credit(anchor.key, other, weight, reason)
        for role in roles[anchor.key]:
            for wanted in complements_of(role):
                for other in index.get(f"role:{wanted}", [])[:MAX_POSTING]:
                    # Named in a fixed order, so both anchors of a pair give the same reason.
                    (n1, r1), (n2, r2) = sorted(((anchor.name, role), (by_key[other].name, wanted)))
                    credit(anchor.key, other, ROLE_WEIGHT, f"{n1} is {_a(r1)}, {n2} {_a(r2)}")
    pairs = []
    for (a, b), tally in tallies.items():
        pa, pb = by_key[a], by_key[b]
        if pa.company and pb.company and normalize(pa.company) == normalize(pb.company):
            continue
        pairs.append(Pair(a=a, b=b, score=round(tally.score, 3), reasons=tuple(tally.reasons)))
    pairs.sort(key=lambda p: (-p.score, str(p.a), str(p.b)))
    wanted_count = candidates if candidates is not None else first
    chosen: list[Pair[K]] = []
    for pair in pairs:
        if exclude is not None and exclude(pair.a, pair.b):
            continue
        chosen.append(pair)
        if len(chosen) >= wanted_count:
            break
    return chosen


def pairs_of(groups: Iterable[Sequence[K]]) -> set[frozenset[K]]:
    """Return every unordered pair within each group (participants of one interaction)."""
    found: set[frozenset[K]] = set()
    for group in groups:
        members = list(dict.fromkeys(group))
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                found.add(frozenset((a, b)))
    return found
