"""Introduction paths and the follow-up offer: the pure rules (issue 18)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from insights import offer
from insights.target import Person, ReasonKind, rank_paths

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def test_paths_compare_company_and_interests_without_case_or_spacing() -> None:
    target = Person("t", "Grace", company=" Acme  Energy", interests=("Deep Sea", "x"))
    people = [
        Person("a", "Al", company="acme energy"),
        Person("b", "Bo", interests=("deep sea",)),
        Person("c", "Cy", company="Acme"),
        Person("t", "Grace", company="Acme Energy"),
    ]
    paths = rank_paths(target, people, now=NOW, limit=10)
    assert [p.key for p in paths] == ["a", "b"]
    assert paths[0].reasons[0].kind is ReasonKind.COMPANY
    assert paths[1].reasons[0].fact == "both interested in Deep Sea"


def test_closeness_and_a_recent_talk_multiply_ties_break_by_key() -> None:
    target = Person("t", "Grace", interests=("chess",))
    people = [
        Person("z", "Zed", interests=("chess",), stage="CLOSE"),
        Person("y", "Yan", interests=("chess",), stage="ARCHIVED"),
        Person("x", "Xi", interests=("chess",), stage="ARCHIVED"),
        Person("w", "Wu", interests=("chess",), last_interaction_at=NOW - timedelta(days=1)),
        Person("v", "Vi", interests=("chess",), last_interaction_at=NOW - timedelta(days=91)),
    ]
    paths = rank_paths(target, people, now=NOW, limit=10)
    assert [(p.key, p.score) for p in paths] == [
        ("z", 2.0),
        ("w", 1.3),
        ("v", 1.1),
        ("x", 1.0),
        ("y", 1.0),
    ]
    assert paths[1].reasons[-1].fact == "you last talked 1 day ago"


def test_an_offer_needs_new_people_time_together_and_a_recent_day() -> None:
    day = date(2026, 12, 7)
    made = offer.offer_follow_up("CALL", day, day, ["Ann", "Bo", "Cy"], after_days=1)
    assert made == offer.Offer(
        date(2026, 12, 8),
        "first call with Ann, Bo and Cy on 2026-12-07: follow up within 1 day if nothing "
        "else is logged",
    )
    assert offer.offer_follow_up("CALL", day, day, []) is None
    assert offer.offer_follow_up("EMAIL", day, day, ["Ann"]) is None
    assert offer.offer_follow_up("MEAL", day - timedelta(days=30), day, ["Ann"]) is None
    late = offer.offer_follow_up("MEAL", day - timedelta(days=29), day, ["Ann"])
    assert late is not None
    assert late.due_on == day
