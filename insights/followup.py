"""Follow-up drafts: a short message after a meeting, each sentence naming the fact behind it.

The facts are the interaction's notes (promises and topics, found as conversation starters
find them), the recipients' interests that the notes mention, their keep-in-touch cadence and
the user's display name. Templates only: the same facts and tone give the same draft.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from insights import health, starter

# Kinds of interaction that are time spent together, worth thanking someone for.
CONVERSATION_KINDS = ("MEETING", "CALL", "VIDEO", "MEAL", "EVENT")
MAX_PROMISES = 3
MAX_INTERESTS = 2
MAX_TOPICS = 3
# A longer "word" is a code, a URL or a key held down: not a topic.
MAX_TOPIC_WORD = 30
# Quoted text is cut at a word boundary: a draft is a few lines, whatever the notes' length.
MAX_QUOTE = 160
# Above this many recipients the greeting is "Hi all".
MAX_NAMED = 3
# A first meeting is owed a follow-up when nothing else is logged this many days after it
# (``followUpsOwed(afterDays)``), until OWED_WINDOW_DAYS have passed: later, it is a matter
# for reconnect suggestions.
DEFAULT_AFTER_DAYS = 3
OWED_WINDOW_DAYS = 30


class Tone(StrEnum):
    WARM = "WARM"
    BRIEF = "BRIEF"
    FORMAL = "FORMAL"


class SourceKind(StrEnum):
    RECIPIENT = "RECIPIENT"
    INTERACTION = "INTERACTION"
    OPEN_PROMISE = "OPEN_PROMISE"
    TOPICS = "TOPICS"
    SHARED_INTEREST = "SHARED_INTEREST"
    CADENCE = "CADENCE"
    SIGNATURE = "SIGNATURE"


@dataclass(frozen=True)
class Recipient:
    first_name: str
    last_name: str = ""
    interests: tuple[str, ...] = ()
    importance: str = "NORMAL"
    cadence_days: int | None = None


@dataclass(frozen=True)
class DraftFacts:
    kind: str
    # The interaction's day in the user's time zone.
    occurred_on: date
    summary: str
    body: str | None
    recipients: tuple[Recipient, ...]
    sender: str = ""
    # Interactions with the recipients logged after this one.
    later: tuple[starter.Note, ...] = ()


@dataclass(frozen=True)
class Sentence:
    text: str
    kind: SourceKind
    # The fact it came from, as the user would recognise it.
    fact: str


@dataclass(frozen=True)
class Draft:
    sentences: tuple[Sentence, ...]

    @property
    def text(self) -> str:
        """Return the message: greeting, one paragraph, sign-off."""
        first, *middle, last = self.sentences
        return f"{first.text}\n\n{' '.join(s.text for s in middle)}\n\n{last.text}"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
# "I'll send her the deck": the note speaks of them; the draft speaks to them.
_OBJECT = re.compile(
    r"\b(send|share|introduce|intro|email|forward|connect|call|meet|check with|get back to) "
    r"(?:them|him|her)\b",
    re.IGNORECASE,
)

_NOUN = {"MEETING": "meeting", "CALL": "call", "VIDEO": "video call", "MEAL": "meal"}
_THANKS = {
    Tone.WARM: {
        "MEETING": "Thank you so much for meeting with me {when} — it was great to talk.",
        "CALL": "Thank you so much for the call {when} — it was great to talk.",
        "VIDEO": "Thank you so much for the video call {when} — it was great to talk.",
        "MEAL": "Thank you so much for sharing a meal {when} — it was great to talk.",
        "EVENT": "It was great to talk at the event {when}.",
    },
    Tone.BRIEF: {
        "MEETING": "Thanks for meeting {when}.",
        "CALL": "Thanks for the call {when}.",
        "VIDEO": "Thanks for the video call {when}.",
        "MEAL": "Thanks for the meal {when}.",
        "EVENT": "Good to talk at the event {when}.",
    },
    Tone.FORMAL: {
        "MEETING": "Thank you for taking the time to meet {when}.",
        "CALL": "Thank you for taking the time to speak by phone {when}.",
        "VIDEO": "Thank you for taking the time to speak by video {when}.",
        "MEAL": "Thank you for joining me for a meal {when}.",
        "EVENT": "Thank you for taking the time to speak with me at the event {when}.",
    },
}
_GREETING = {Tone.WARM: "Hi {names},", Tone.BRIEF: "Hi {names},", Tone.FORMAL: "Dear {names},"}
_ANYONE = {Tone.WARM: "Hi all,", Tone.BRIEF: "Hi all,", Tone.FORMAL: "Dear all,"}
_PROMISE = {Tone.WARM: "As promised, {p}.", Tone.BRIEF: "{P}.", Tone.FORMAL: "As agreed, {p}."}
_LETS = {Tone.WARM: "As we said, {p}.", Tone.BRIEF: "{P}.", Tone.FORMAL: "As discussed, {p}."}
_TOPICS = {
    Tone.WARM: "I really enjoyed talking about {topics}.",
    Tone.BRIEF: "Good to discuss {topics}.",
    Tone.FORMAL: "I appreciated our discussion of {topics}.",
}
_INTEREST = {
    Tone.WARM: "I'm glad we got to talk about {interest}.",
    Tone.FORMAL: "I was pleased to hear more about your interest in {interest}.",
}
_NEXT = {
    Tone.WARM: "Let's catch up again {when}!",
    Tone.BRIEF: "Let's talk again {when}.",
    Tone.FORMAL: "I would welcome the opportunity to speak again {when}.",
}
_SIGN_OFF = {Tone.WARM: "Warm wishes,", Tone.BRIEF: "Best,", Tone.FORMAL: "Kind regards,"}


def clean_text(value: str, limit: int = MAX_QUOTE) -> str:
    """Return ``value`` on one line, without control characters, cut at a word if too long."""
    text = _SPACES.sub(" ", _CONTROL.sub(" ", value)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip(",;:") + "…"


def _join(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _day(value: date, *, full: bool) -> str:
    month = (calendar.month_name if full else calendar.month_abbr)[value.month]
    return f"{value.day} {month} {value.year}"


def _when(occurred: date, today: date, tone: Tone) -> str:
    days = (today - occurred).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 7:
        return f"on {calendar.day_name[occurred.weekday()]}"
    month = (calendar.month_name if tone is Tone.FORMAL else calendar.month_abbr)[occurred.month]
    year = "" if occurred.year == today.year else f" {occurred.year}"
    return f"on {occurred.day} {month}{year}"


def _soon(days: int) -> str:
    if days <= 10:
        return "next week"
    if days <= 21:
        return "in a couple of weeks"
    if days <= 45:
        return "in a month or so"
    if days <= 100:
        return "in a couple of months"
    return "in a few months"


def _name(r: Recipient, tone: Tone) -> str:
    full = clean_text(f"{r.first_name} {r.last_name}", 80)
    if tone is Tone.FORMAL:
        return full
    return clean_text(r.first_name, 80) or full


def _greeting(facts: DraftFacts, tone: Tone) -> Sentence:
    people = facts.recipients
    names = [n for n in (_name(r, tone) for r in people) if n]
    if len(people) > MAX_NAMED or len(names) < len(people):
        count = f"{len(people)} people" if len(people) != 1 else "1 person"
        return Sentence(_ANYONE[tone], SourceKind.RECIPIENT, f"the {count} of this interaction")
    full = [clean_text(f"{r.first_name} {r.last_name}", 80) for r in people]
    return Sentence(
        _GREETING[tone].format(names=_join(names)),
        SourceKind.RECIPIENT,
        f"{'their names' if len(full) > 1 else 'their name'} {_join([f'“{n}”' for n in full])}",
    )


def _note_fact(facts: DraftFacts) -> str:
    kind = _NOUN.get(facts.kind, facts.kind.lower())
    return f"your {kind} of {_day(facts.occurred_on, full=False)}: “{clean_text(facts.summary)}”"


def _speak_to_them(phrase: str) -> str:
    return _OBJECT.sub(lambda m: f"{m.group(1)} you", phrase)


def _lower_first(phrase: str) -> str:
    if re.match(r"I\b", phrase):
        return phrase
    return phrase[:1].lower() + phrase[1:]


def _promises(facts: DraftFacts, tone: Tone) -> list[Sentence]:
    # Something given since (an intro, a file, a gift) is taken as the promises kept.
    if any(note.given for note in facts.later):
        return []
    limit = MAX_PROMISES if tone is not Tone.BRIEF else 2
    found: list[Sentence] = []
    for phrase in starter.find_promises(f"{facts.summary}\n{facts.body or ''}")[:limit]:
        said = _lower_first(_speak_to_them(clean_text(phrase)))
        template = (_LETS if said.startswith(("let's", "let\u2019s", "lets")) else _PROMISE)[tone]
        text = template.format(p=said, P=said[:1].upper() + said[1:])
        found.append(Sentence(text, SourceKind.OPEN_PROMISE, _note_fact(facts)))
    return found


def _mentioned(facts: DraftFacts) -> list[tuple[Recipient, str]]:
    text = f"{facts.summary} {facts.body or ''}".casefold()
    found: list[tuple[Recipient, str]] = []
    seen: set[str] = set()
    for person in facts.recipients:
        for interest in person.interests:
            key = interest.casefold().strip()
            if key and key not in seen and key in text:
                seen.add(key)
                found.append((person, interest))
    return found


def _topics(facts: DraftFacts, tone: Tone, skip: set[str]) -> list[Sentence]:
    text = f"{facts.summary}\n{facts.body or ''}"
    titled = set(starter.extract_keywords([facts.summary], limit=1_000))
    # One note is short: a word is a topic when the summary names it or it recurs.
    chosen = [
        word
        for word, count in starter.count_keywords([text]).items()
        if word not in skip and len(word) <= MAX_TOPIC_WORD and (count > 1 or word in titled)
    ][:MAX_TOPICS]
    if not chosen:
        return []
    # Keywords come case-folded; the draft quotes them as the notes spell them ("COBOL").
    spelled = []
    for word in chosen:
        match = re.search(rf"(?<![A-Za-z]){re.escape(word)}", text, re.IGNORECASE)
        spelled.append(match.group() if match else word)
    return [
        Sentence(
            _TOPICS[tone].format(topics=_join(spelled)),
            SourceKind.TOPICS,
            f"the most frequent words of {_note_fact(facts)}",
        )
    ]


def _interests(mentioned: list[tuple[Recipient, str]], tone: Tone) -> list[Sentence]:
    if tone is Tone.BRIEF:
        return []
    return [
        Sentence(
            _INTEREST[tone].format(interest=clean_text(interest, 60)),
            SourceKind.SHARED_INTEREST,
            f"{_name(person, Tone.FORMAL) or 'their'}'s interests list “{clean_text(interest, 60)}”"
            ", and your notes mention it",
        )
        for person, interest in mentioned[:MAX_INTERESTS]
    ]


def _next_step(facts: DraftFacts, tone: Tone) -> Sentence:
    def cadence(r: Recipient) -> int:
        return r.cadence_days or health.DEFAULT_CADENCE.get(r.importance, 60)

    closest = min(facts.recipients, key=cadence)
    days = cadence(closest)
    who = _name(closest, Tone.FORMAL) or "this contact"
    fact = (
        f"you keep in touch with {who} every {days} days"
        if closest.cadence_days
        else f"{who} is of {closest.importance} importance: every {days} days by default"
    )
    return Sentence(_NEXT[tone].format(when=_soon(days)), SourceKind.CADENCE, fact)


def _sign_off(facts: DraftFacts, tone: Tone) -> Sentence:
    name = clean_text(facts.sender, 80)
    if not name:
        return Sentence(_SIGN_OFF[tone], SourceKind.SIGNATURE, "no display name set")
    return Sentence(
        f"{_SIGN_OFF[tone]}\n{name}", SourceKind.SIGNATURE, f"your display name “{name}”"
    )


def find_problem(kind: str, occurred_on: date, today: date) -> str | None:
    """Return why an interaction cannot be followed up, or None when it can."""
    if kind not in CONVERSATION_KINDS:
        return (
            f"a follow-up follows time together ({', '.join(CONVERSATION_KINDS)}); "
            f"this interaction is a {kind}"
        )
    if occurred_on > today:
        return f"this interaction is on {occurred_on.isoformat()}: a follow-up comes after it"
    return None


def draft_follow_up(facts: DraftFacts, *, tone: Tone, today: date) -> Draft:
    """Return the draft: greeting, thanks, promises, topics, interests, next step, sign-off."""
    problem = find_problem(facts.kind, facts.occurred_on, today)
    if problem is not None:
        raise ValueError(problem)
    if not facts.recipients:
        raise ValueError("a follow-up needs at least one recipient")
    thanks = Sentence(
        _THANKS[tone][facts.kind].format(when=_when(facts.occurred_on, today, tone)),
        SourceKind.INTERACTION,
        _note_fact(facts),
    )
    promises = _promises(facts, tone)
    mentioned = _mentioned(facts)
    # Words already said by a promise, an interest or a name would repeat in the topics.
    said = " ".join(
        [s.text for s in promises]
        + [i for _, i in mentioned]
        + [f"{r.first_name} {r.last_name}" for r in facts.recipients]
    )
    skip = set(starter.extract_keywords([said], limit=1_000))
    return Draft(
        (
            _greeting(facts, tone),
            thanks,
            *promises,
            *_topics(facts, tone, skip),
            *_interests(mentioned, tone),
            _next_step(facts, tone),
            _sign_off(facts, tone),
        )
    )


def explain_owed(kind: str, occurred_on: date, days: int) -> str:
    """Return why a first meeting is owed a follow-up."""
    span = "1 day" if days == 1 else f"{days} days"
    noun = _NOUN.get(kind, kind.lower())
    article = "an" if noun[:1] in "aeiou" else "a"
    return (
        f"first interaction: {article} {noun} on {_day(occurred_on, full=False)}, "
        f"and nothing logged in the {span} since"
    )
