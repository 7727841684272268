"""Duplicate contacts: pairs that are probably one person, each with the reasons that say so.

Pairs come from blocks, never from comparing every pair: contacts that share a normalised email,
phone or profile URL meet in that value's block, and contacts at the same company (normalised
name) meet in the company's block, where ``rapidfuzz`` compares their names. A value shared by
more than ``MAX_SHARED`` contacts (an office switchboard, a team mailbox) says nothing about who
is who and is skipped; a company block compares at most ``MAX_COMPANY`` names. So the work is
the contacts plus the pairs inside small blocks, whatever the size of the address book.

The score (0-100) combines the evidence as independent chances that the pair is one person:
``100 * (1 - product of (1 - weight))``. The weights are in ``WEIGHTS``; a similar name at the
same company counts by its similarity, and a similar name adds to pairs found another way.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from uuid import UUID

from rapidfuzz import fuzz, process

K = TypeVar("K", bound=Hashable)

MAX_SHARED = 10
MAX_COMPANY = 2_000
# Names this similar (token-sort ratio, 0-100) count as the same name.
NAME_CUTOFF = 85.0
WEIGHTS = {"email": 0.9, "phone": 0.8, "url": 0.9, "company_name": 0.7, "name": 0.3}
# The digits of a phone number that identify it: the last nine, so "+44 20 7946 0958" and
# "020 7946 0958" are one number, whatever the country prefix.
PHONE_DIGITS = 9

_COMPANY_SUFFIXES = {
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "bv",
    "plc",
    "corp",
    "corporation",
    "co",
    "company",
}
_NON_WORD = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class Person(Generic[K]):
    key: K
    first_name: str
    last_name: str = ""
    company: str | None = None
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Candidate(Generic[K]):
    a: K
    b: K
    score: int
    reasons: tuple[str, ...]


def _fold(text: str) -> str:
    """Case-folded, accents dropped, spaces collapsed: how people compare names by eye."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().split())


def email_key(value: str) -> str:
    return value.strip().casefold()


def phone_key(value: str) -> str | None:
    """The identifying digits of a phone number, or None when too short to identify anyone."""
    digits = "".join(c for c in value if c.isdigit())
    return digits[-PHONE_DIGITS:] if len(digits) >= 7 else None


def url_key(value: str) -> str:
    """A URL without scheme, ``www.``, query, fragment or trailing slash, case-folded."""
    text = value.strip().casefold()
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.removeprefix("www.")
    text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text.rstrip("/")


def company_key(value: str | None) -> str | None:
    """A company name without punctuation and legal suffixes ("Acme, Inc." is "acme")."""
    if not value:
        return None
    words = [w for w in _NON_WORD.split(_fold(value)) if w]
    while len(words) > 1 and words[-1] in _COMPANY_SUFFIXES:
        words.pop()
    return " ".join(words) or None


def name_similarity(a: str, b: str) -> float:
    """0-100: how alike two names are, word order aside ("Lovelace Ada" is "Ada Lovelace")."""
    return float(fuzz.token_sort_ratio(_fold(a), _fold(b)))


@dataclass
class _Evidence:
    kinds: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)

    def add(self, kind: str, weight: float, reason: str) -> None:
        if kind not in self.kinds:
            self.reasons.append(reason)
        self.kinds[kind] = max(self.kinds.get(kind, 0.0), weight)

    def score(self) -> int:
        doubt = 1.0
        for weight in self.kinds.values():
            doubt *= 1.0 - weight
        return round(100 * (1.0 - doubt))


def _blocks(
    people: Sequence[Person[K]],
) -> Iterable[tuple[str, str, list[int]]]:
    """Yield (kind, shown value, members) for each shared email, phone and URL."""
    index: dict[tuple[str, str], tuple[str, list[int]]] = {}
    for n, person in enumerate(people):
        keyed: set[tuple[str, str, str]] = set()
        keyed.update(("email", email_key(e), e) for e in person.emails if email_key(e))
        for phone in person.phones:
            if (key := phone_key(phone)) is not None:
                keyed.add(("phone", key, phone))
        keyed.update(("url", url_key(u), u) for u in person.urls if url_key(u))
        for kind, key, shown in sorted(keyed):
            entry = index.setdefault((kind, key), (shown, []))
            if not entry[1] or entry[1][-1] != n:
                entry[1].append(n)
    for (kind, _), (shown, members) in index.items():
        if 2 <= len(members) <= MAX_SHARED:
            yield kind, shown, members


def find_candidates(people: Sequence[Person[K]]) -> list[Candidate[K]]:
    """Return every pair with evidence of being one person, best first (then by key)."""
    evidence: dict[tuple[int, int], _Evidence] = {}

    def note(i: int, j: int, kind: str, weight: float, reason: str) -> None:
        pair = (i, j) if i < j else (j, i)
        evidence.setdefault(pair, _Evidence()).add(kind, weight, reason)

    labels = {"email": "same email", "phone": "same phone", "url": "same profile URL"}
    for kind, shown, members in _blocks(people):
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                note(i, j, kind, WEIGHTS[kind], f"{labels[kind]} {shown}")
    companies: dict[str, list[int]] = {}
    for n, person in enumerate(people):
        if (key := company_key(person.company)) is not None and person.name:
            companies.setdefault(key, []).append(n)
    for members in companies.values():
        if not 2 <= len(members) <= MAX_COMPANY:
            continue
        names = [_fold(people[n].name) for n in members]
        for x, i in enumerate(members):
            # One call in C per name against the rest of the block; only close names return.
            close = process.extract(
                names[x],
                names[x + 1 :],
                scorer=fuzz.token_sort_ratio,
                score_cutoff=NAME_CUTOFF,
                limit=None,
            )
            for _, similarity, y in close:
                if similarity >= NAME_CUTOFF:
                    j = members[x + 1 + y]
                    company = people[i].company or ""
                    note(
                        i,
                        j,
                        "company_name",
                        WEIGHTS["company_name"] * similarity / 100,
                        f"similar names at {company}: {people[i].name} and {people[j].name} "
                        f"({round(similarity)}/100)",
                    )
    found: list[Candidate[K]] = []
    for (i, j), seen in evidence.items():
        if "company_name" not in seen.kinds:
            similarity = name_similarity(people[i].name, people[j].name)
            if similarity >= NAME_CUTOFF:
                seen.add(
                    "name",
                    WEIGHTS["name"] * similarity / 100,
                    f"similar names: {people[i].name} and {people[j].name} "
                    f"({round(similarity)}/100)",
                )
        a, b = sorted((people[i].key, people[j].key), key=str)
        found.append(Candidate(a, b, seen.score(), tuple(seen.reasons)))
    found.sort(key=lambda c: (-c.score, str(c.a), str(c.b)))
    return found


def find_undismissed(
    rows: Sequence[Mapping[Any, Any]], dismissed: AbstractSet[tuple[UUID, UUID]]
) -> list[Candidate[UUID]]:
    """Candidates among contact rows (``store.duplicates.identities``), best first, leaving
    out the pairs the user dismissed (each as (smaller id, larger id))."""
    people = [
        Person(
            key=row["id"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            company=row["company"],
            emails=tuple(e["value"] for e in row["emails"]),
            phones=tuple(p["value"] for p in row["phones"]),
            urls=tuple(u["value"] for u in row["urls"]),
        )
        for row in rows
    ]
    return [c for c in find_candidates(people) if (min(c.a, c.b), max(c.a, c.b)) not in dismissed]
