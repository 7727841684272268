"""Introductions worth making: two of the user's contacts who would gain from meeting.

Pairs are found through an inverted index, never by comparing every pair: each contact's
features (interests, tags, role) point at the contacts sharing them, ordered by rank (how much
the user cares about them). Only "anchor" contacts, the ``MAX_ANCHORS`` of highest rank, are
walked, each meeting at most ``MAX_PARTNERS`` contacts per feature, so the work is bounded by
anchors times features times partners whatever the size of the address book. A shared
feature counts by its rarity (inverse document frequency): two people who both like
"mycology" have more to say to each other than two who both like "travel".

Colleagues at the same company, who presumably know each other, are left out here; pairs who
met already (an interaction together, one introduced the other) by the caller, who asks for
more ``candidates`` than it needs and checks them.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

K = TypeVar("K")

MAX_ANCHORS = 300
# Each anchor meets at most this many contacts per feature: the first ones of its posting list,
# which is ordered by rank, so a popular interest costs the same as a rare one.
MAX_PARTNERS = 100
PER_ANCHOR = 5
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
    reasons: list[Any] = field(default_factory=list)


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
    wanted_count = candidates if candidates is not None else first
    company = {p.key: normalize(p.company) if p.company else None for p in people}
    tallies: dict[tuple[K, K], tuple[Person[K], Person[K], _Tally]] = {}
    for anchor in anchors:
        # What this anchor can share: (posting list, weight, reason); a role's reason names
        # the partner, so it is written only for the pairs that are kept.
        walks: list[tuple[list[K], float, str | tuple[str, str]]] = []
        for name, reason in features[anchor.key].items():
            weight = idf(name)
            label = name.split(":", 1)[1]
            if name.startswith("tag:") and label in goal_tags:
                weight *= GOAL_BOOST
                reason = f"{reason}, which fits your goal \u201c{goal_tags[label]}\u201d"
            walks.append((index[name], weight, reason))
        for role in roles[anchor.key]:
            for wanted in complements_of(role):
                walks.append((index.get(f"role:{wanted}", []), ROLE_WEIGHT, (role, wanted)))
        own_company = company[anchor.key]
        local: dict[K, _Tally] = {}
        for posting, weight, why in walks:
            # Posting lists are ordered by rank: the partners the user cares most about first.
            for other in posting[:MAX_PARTNERS]:
                if other == anchor.key:
                    continue
                tally = local.get(other)
                if tally is None:
                    tally = local[other] = _Tally()
                tally.score += weight
                tally.reasons.append(why)
        # A few partners per anchor: enough for the best pairs, and no one person fills the list.
        best = heapq.nlargest(PER_ANCHOR, local.items(), key=lambda item: item[1].score)
        for other, tally in best:
            # Colleagues at one company presumably know each other already.
            if own_company is not None and company[other] == own_company:
                continue
            pair = (anchor.key, other) if str(anchor.key) < str(other) else (other, anchor.key)
            known = tallies.get(pair)
            if known is None or known[2].score < tally.score:
                tallies[pair] = (anchor, by_key[other], tally)
    ranked = sorted(tallies.items(), key=lambda item: (-item[1][2].score, str(item[0])))
    chosen: list[Pair[K]] = []
    for (a, b), (one, two, tally) in ranked:
        if exclude is not None and exclude(a, b):
            continue
        reasons = _render(one, two, tally.reasons)
        chosen.append(Pair(a=a, b=b, score=round(tally.score, 3), reasons=reasons))
        if len(chosen) >= wanted_count:
            break
    return chosen


def _render(anchor: Person[K], other: Person[K], raw: list[Any]) -> tuple[str, ...]:
    """Write a pair's reasons; a role reason names both people, in a fixed order."""
    texts: list[str] = []
    for reason in raw:
        text = reason
        if isinstance(reason, tuple):
            (n1, r1), (n2, r2) = sorted(((anchor.name, reason[0]), (other.name, reason[1])))
            text = f"{n1} is {_a(r1)}, {n2} {_a(r2)}"
        if text not in texts:
            texts.append(text)
    return tuple(texts)


def pairs_of(groups: Iterable[Sequence[K]]) -> set[frozenset[K]]:
    """Return every unordered pair within each group (participants of one interaction)."""
    found: set[frozenset[K]] = set()
    for group in groups:
        members = list(dict.fromkeys(group))
        for n, a in enumerate(members):
            for b in members[n + 1 :]:
                found.add(frozenset((a, b)))
    return found
