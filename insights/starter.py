"""Conversation starters: concrete openers, each built from one fact and naming it.

The facts are the contact's own (birthday, work anniversary, interests, preferences) and the
user's notes about them (topics, promises). Nothing is generated or guessed: the same facts
give the same starters, in the same order.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

UPCOMING_DAYS = 14
TOPIC_INTERACTIONS = 3
PROMISE_INTERACTIONS = 5

# Phrases in the user's notes that leave something to do.
_PROMISE = re.compile(
    r"\b(?:(?:i|we)(?:'ll|\u2019ll| will| shall| need to| should| promised to)|let'?s|let\u2019s|"
    r"i owe (?:them|him|her))\s+"
    r"(?:send|share|introduce|intro|follow up|get back|check|call|email|forward|connect|"
    r"look into|catch up|meet|grab|review|find)\b[^.!?\n]*",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]{3,}")
# Words too common in notes to name a topic.
_STOPWORDS = """
    about above after again against also always among another anything around back because
    been before being below between both came come coming could does doing done down during
    each even ever every from further getting going gonna good great have having here into
    just know last later like little long look made make many more most much must need next
    nice only other over really said same says should since some something still such sure
    take talk talked talking than that their them then there these they thing things think
    this those though through time today told took very want wanted week well went were what
    when where which while will with would year years your yours yesterday tomorrow meeting
    call coffee lunch dinner chat quick catch caught mentioned asked says said pretty maybe
    """
STOPWORDS = frozenset(_STOPWORDS.split())


class Source(StrEnum):
    OPEN_PROMISE = "OPEN_PROMISE"
    BIRTHDAY = "BIRTHDAY"
    WORK_ANNIVERSARY = "WORK_ANNIVERSARY"
    LAST_TOPICS = "LAST_TOPICS"
    INTEREST = "INTEREST"
    TIME_SINCE = "TIME_SINCE"
    PREFERENCE = "PREFERENCE"


@dataclass(frozen=True)
class Note:
    occurred_at: datetime
    kind: str
    summary: str
    body: str | None = None
    given: str | None = None


@dataclass(frozen=True)
class StarterFacts:
    name: str
    birthday: tuple[int, int] | None = None
    work_started_on: date | None = None
    company: str | None = None
    interests: tuple[str, ...] = ()
    preferred_channel: str | None = None
    communication_notes: str | None = None
    # The user's interactions with this contact, any order.
    notes: tuple[Note, ...] = ()


def facts_from_rows(contact: Mapping[Any, Any], notes: Sequence[Mapping[Any, Any]]) -> StarterFacts:
    """The facts of a contact row and its latest interaction rows (``store.interactions``)."""
    month = contact["birthday_month"]
    return StarterFacts(
        name=contact["first_name"],
        birthday=None if month is None else (month, contact["birthday_day"]),
        work_started_on=contact["work_started_on"],
        company=contact["company"],
        interests=tuple(contact["interests"]),
        preferred_channel=contact["preferred_channel"],
        communication_notes=contact["communication_notes"],
        notes=tuple(
            Note(
                occurred_at=r["occurred_at"],
                kind=r["kind"],
                summary=r["summary"],
                body=r["body"],
                given=r["given"],
            )
            for r in notes
        ),
    )


@dataclass(frozen=True)
class Starter:
    text: str
    source: Source
    # The fact it came from, as the user would recognise it.
    fact: str


def _days_until(today: date, month: int, day: int) -> tuple[date, int]:
    for year in (today.year, today.year + 1):
        last = calendar.monthrange(year, month)[1]
        when = date(year, month, min(day, last))
        if when >= today:
            return when, (when - today).days
    raise AssertionError("unreachable")


def _when(days: int) -> str:
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"


def _day(value: date | datetime) -> str:
    return f"{value.day} {calendar.month_abbr[value.month]} {value.year}"


def count_keywords(texts: Sequence[str]) -> dict[str, int]:
    """Return each non-trivial word with its count, most frequent first, ties by appearance."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for text in texts:
        for match in _WORD.finditer(text):
            word = match.group().casefold().strip("'-")
            if len(word) < 4 or word in STOPWORDS:
                continue
            counts[word] += 1
            first_seen.setdefault(word, len(first_seen))
    ranked = sorted(counts, key=lambda w: (-counts[w], first_seen[w]))
    return {word: counts[word] for word in ranked}


def extract_keywords(texts: Sequence[str], limit: int = 3) -> list[str]:
    """Return the most frequent non-trivial words, ties by first appearance."""
    return list(count_keywords(texts))[:limit]


def find_promises(text: str) -> list[str]:
    """Return the phrases of ``text`` that promise a next step ("I'll send you the deck")."""
    return [m.group().strip().rstrip(",;:") for m in _PROMISE.finditer(text)]


def _promises(facts: StarterFacts) -> list[Starter]:
    notes = sorted(facts.notes, key=lambda n: n.occurred_at, reverse=True)
    found: list[Starter] = []
    for n, note in enumerate(notes[:PROMISE_INTERACTIONS]):
        # Something given since then (an intro, a gift, a file) is taken as the promise kept.
        if any(later.given for later in notes[:n]):
            break
        for phrase in find_promises(f"{note.summary}\n{note.body or ''}"):
            found.append(
                Starter(
                    text=f"Follow up on your promise: “{phrase}”.",
                    source=Source.OPEN_PROMISE,
                    fact=f"your note of {_day(note.occurred_at)}: “{note.summary}”",
                )
            )
    return found


def _milestones(facts: StarterFacts, today: date) -> list[Starter]:
    found = []
    if facts.birthday is not None:
        when, days = _days_until(today, *facts.birthday)
        if days <= UPCOMING_DAYS:
            found.append(
                Starter(
                    text=f"Wish {facts.name} a happy birthday ({_when(days)}, {_day(when)}).",
                    source=Source.BIRTHDAY,
                    fact=f"birthday: {calendar.month_name[facts.birthday[0]]} {facts.birthday[1]}",
                )
            )
    started = facts.work_started_on
    if started is not None:
        when, days = _days_until(today, started.month, started.day)
        years = when.year - started.year
        if days <= UPCOMING_DAYS and years > 0:
            where = f" at {facts.company}" if facts.company else ""
            found.append(
                Starter(
                    text=f"Congratulate {facts.name} on {years} year{'s' if years > 1 else ''}"
                    f"{where} ({_when(days)}).",
                    source=Source.WORK_ANNIVERSARY,
                    fact=f"started{where} on {_day(started)}",
                )
            )
    return found


def _topics(facts: StarterFacts) -> list[Starter]:
    notes = sorted(facts.notes, key=lambda n: n.occurred_at, reverse=True)[:TOPIC_INTERACTIONS]
    if not notes:
        return []
    words = extract_keywords([f"{n.summary}\n{n.body or ''}" for n in notes])
    if not words:
        return []
    latest = notes[0]
    return [
        Starter(
            text=f"Pick up where you left off: {', '.join(words)}.",
            source=Source.LAST_TOPICS,
            fact=f"your notes of the last {len(notes)} interaction{'s' if len(notes) > 1 else ''}"
            f" (latest {_day(latest.occurred_at)}: “{latest.summary}”)",
        )
    ]


def _interests(facts: StarterFacts) -> list[Starter]:
    text = " ".join(f"{n.summary} {n.body or ''}" for n in facts.notes).casefold()
    found = []
    for interest in facts.interests:
        if interest.casefold() in text:
            opener = f"Ask how {interest} is going — you have talked about it before."
        else:
            opener = f"Ask what is new in {interest}."
        found.append(
            Starter(text=opener, source=Source.INTEREST, fact=f"their interests list “{interest}”")
        )
    return found


def _time_since(facts: StarterFacts, now: datetime) -> list[Starter]:
    if not facts.notes:
        return [
            Starter(
                text=f"You have not logged anything with {facts.name} yet: say hello.",
                source=Source.TIME_SINCE,
                fact="no interactions logged",
            )
        ]
    last = max(facts.notes, key=lambda n: n.occurred_at)
    days = max(0, (now - last.occurred_at).days)
    span = f"{days // 7} weeks" if days >= 14 else f"{days} days"
    return [
        Starter(
            text=f"It has been {span} since your last {last.kind.lower()}: check in.",
            source=Source.TIME_SINCE,
            fact=f"last interaction on {_day(last.occurred_at)}",
        )
    ]


def _preferences(facts: StarterFacts) -> list[Starter]:
    if facts.preferred_channel is None and not facts.communication_notes:
        return []
    parts = []
    if facts.preferred_channel is not None:
        parts.append(f"reach {facts.name} by {facts.preferred_channel.lower().replace('_', ' ')}")
    if facts.communication_notes:
        parts.append(f"remember: {facts.communication_notes}")
    fact = ", ".join(
        p
        for p in (
            f"preferred channel {facts.preferred_channel}" if facts.preferred_channel else "",
            f"communication notes “{facts.communication_notes}”"
            if facts.communication_notes
            else "",
        )
        if p
    )
    text = "; ".join(parts)
    return [Starter(text=text[0].upper() + text[1:] + ".", source=Source.PREFERENCE, fact=fact)]


def build_starters(facts: StarterFacts, *, now: datetime, today: date, first: int) -> list[Starter]:
    """Return up to ``first`` starters: promises, milestones, topics, interests, time, manners."""
    starters = [
        *_promises(facts),
        *_milestones(facts, today),
        *_topics(facts),
        *_interests(facts),
        *_time_since(facts, now),
        *_preferences(facts),
    ]
    return starters[:first]
