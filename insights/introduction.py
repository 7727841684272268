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
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K")

MAX_ANCHORS = 200
# Each anchor meets at most this many contacts per feature: the first ones of its posting list,
# which is ordered by rank, so a popular interest costs the same as a rare one.
MAX_PARTNERS = 60
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


@dataclass(frozen=True)
class Index(Generic[K]):
    """Feature -> (how a reason names it, the contacts with it, highest rank first).

    Features are ``interest:<label>``, ``tag:<name>``, ``role:<role>`` and ``company:<name>``
    (the last only to tell colleagues apart). ``anchors`` are the contacts to walk from.
    """

    postings: Mapping[str, tuple[str, Sequence[K]]]
    anchors: Sequence[K]
    total: int


@dataclass
class _Tally:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)


def roles_of(title: str | None) -> set[str]:
    """Return the roles a job title names (``"Co-founder & CEO"`` -> founder)."""
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


def build_index(people: Sequence[Person[K]]) -> Index[K]:
    """Build the inverted index from people (the database builds the same one in SQL)."""
    postings: dict[str, tuple[str, list[K]]] = {}
    ordered = sorted(people, key=lambda p: (-p.rank, str(p.key)))
    for person in ordered:
        named = [(f"interest:{normalize(i)}", i) for i in person.interests]
        named += [(f"tag:{normalize(t)}", t) for t in person.tags]
        named += [(f"role:{r}", r) for r in sorted(roles_of(person.title))]
        if person.company and person.company.strip():
            named.append((f"company:{normalize(person.company)}", person.company))
        for feature, label in dict(named).items():
            postings.setdefault(feature, (label, []))[1].append(person.key)
    anchors = [p.key for p in ordered[:MAX_ANCHORS]]
    return Index(postings=postings, anchors=anchors, total=len(people))


def suggest_introductions(
    people: Sequence[Person[K]],
    first: int,
    *,
    goal_tags: Mapping[str, str] | None = None,
    exclude: Callable[[K, K], bool] | None = None,
    candidates: int | None = None,
) -> list[Pair[K]]:
    """Return the best ``first`` pairs (or ``candidates`` of them, for a caller that filters)."""
    return suggest_from_index(
        build_index(people), first, goal_tags=goal_tags, exclude=exclude, candidates=candidates
    )


def suggest_from_index(
    index: Index[K],
    first: int,
    *,
    goal_tags: Mapping[str, str] | None = None,
    exclude: Callable[[K, K], bool] | None = None,
    candidates: int | None = None,
) -> list[Pair[K]]:
    """Walk the index from each anchor; return the best pairs with their reasons."""
    goals = {normalize(t): title for t, title in (goal_tags or {}).items()}
    wanted_count = candidates if candidates is not None else first
    total = max(2, index.total)
    anchors = set(index.anchors)
    # What each anchor has: inverted from the postings, reading only anchors' entries.
    owned: dict[K, list[str]] = {key: [] for key in index.anchors}
    for feature, (_, keys) in index.postings.items():
        for key in keys:
            if key in anchors:
                owned[key].append(feature)
    tallies: dict[tuple[K, K], _Tally] = {}
    for anchor in index.anchors:
        # (posting list, weight, reason) for every way this anchor can share something.
        walks: list[tuple[Sequence[K], float, str]] = []
        colleagues: set[K] = set()
        for feature in owned[anchor]:
            kind, _, value = feature.partition(":")
            label, keys = index.postings[feature]
            if kind == "company":
                colleagues.update(keys)
            elif kind == "role":
                for wanted in complements_of(value):
                    other = index.postings.get(f"role:{wanted}")
                    if other is not None:
                        pair = " and ".join(_a(r) for r in sorted((value, wanted)))
                        walks.append((other[1], ROLE_WEIGHT, f"complementary roles: {pair}"))
            else:
                weight = math.log(total / len(keys)) + 0.1
                reason = (
                    f"both interested in {label}" if kind == "interest" else f"both tagged {label}"
                )
                if kind == "tag" and value in goals:
                    weight *= GOAL_BOOST
                    reason = f"{reason}, which fits your goal \u201c{goals[value]}\u201d"
                walks.append((keys, weight, reason))
        # Scores first, in the tightest loop there is; reasons only for the partners kept.
        # Posting lists are ordered by rank: the partners the user cares most about first.
        scores: dict[K, float] = {}
        get = scores.get
        for posting, weight, _ in walks:
            for other_key in posting[:MAX_PARTNERS]:
                scores[other_key] = get(other_key, 0.0) + weight
        scores.pop(anchor, None)
        for colleague in colleagues:
            # Colleagues at one company presumably know each other already.
            scores.pop(colleague, None)
        # A few partners per anchor: enough for the best pairs, and no one person fills the list.
        for other_key in heapq.nlargest(PER_ANCHOR, scores, key=scores.__getitem__):
            pair_key = (anchor, other_key) if str(anchor) < str(other_key) else (other_key, anchor)
            known = tallies.get(pair_key)
            if known is None or known.score < scores[other_key]:
                reasons = [r for posting, _, r in walks if other_key in posting[:MAX_PARTNERS]]
                tallies[pair_key] = _Tally(score=scores[other_key], reasons=reasons)
    ranked = sorted(tallies.items(), key=lambda item: (-item[1].score, str(item[0])))
    chosen: list[Pair[K]] = []
    for (a, b), tally in ranked:
        if exclude is not None and exclude(a, b):
            continue
        chosen.append(Pair(a=a, b=b, score=round(tally.score, 3), reasons=tuple(tally.reasons)))
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


def not_met(pairs: Sequence[Pair[K]], met: AbstractSet[frozenset[K]], first: int) -> list[Pair[K]]:
    """The best ``first`` pairs whose two contacts have not met (``met``: pairs that share an
    interaction, from ``store.insights.pairs_already_met``)."""
    return [p for p in pairs if frozenset((p.a, p.b)) not in met][:first]
