"""The follow-up offer: after a first meeting with someone, a reminder to follow up.

"Follow up promptly": when an interaction that is time together (a meeting, call, video call,
meal or event) is the only one logged with a contact, the user is offered a reminder to follow
up ``after_days`` later. The read decides who is new (nothing else logged with them, no open
reminder about them already); this decides whether and when to offer, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from insights.followup import CONVERSATION_KINDS, DEFAULT_AFTER_DAYS, OWED_WINDOW_DAYS


@dataclass(frozen=True)
class Offer:
    due_on: date
    reason: str


def _names(names: Sequence[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def offer_follow_up(
    kind: str,
    occurred_on: date,
    today: date,
    new_people: Sequence[str],
    *,
    after_days: int = DEFAULT_AFTER_DAYS,
) -> Offer | None:
    """Return the offer for an interaction with ``new_people`` (their names), or None.

    None when nobody in it is new, when it is not time together (a note, an email), or when
    it is a month old or more: by then it is a matter for reconnect suggestions. The reminder
    is due ``after_days`` after the day it happened, or today if that day has passed.
    """
    if not new_people or kind not in CONVERSATION_KINDS:
        return None
    if (today - occurred_on).days >= OWED_WINDOW_DAYS:
        return None
    due_on = max(occurred_on + timedelta(days=after_days), today)
    span = "1 day" if after_days == 1 else f"{after_days} days"
    reason = (
        f"first {kind.lower()} with {_names(new_people)} on {occurred_on.isoformat()}: "
        f"follow up within {span} if nothing else is logged"
    )
    return Offer(due_on=due_on, reason=reason)


def reminder_title(names: str) -> str:
    """The title of the reminder an accepted offer creates, for one person."""
    return f"Follow up with {names}"
