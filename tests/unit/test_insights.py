"""Insights as pure functions: sentiment, health, reconnects, introductions, starters, goals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from insights import goal, health, introduction, reconnect, sentiment, starter
from model.enums import Period

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# Sentiment


def test_sentiment_labels_follow_vaders_convention() -> None:
    assert sentiment.label_for(0.05) is sentiment.Label.POSITIVE
    assert sentiment.label_for(0.0499) is sentiment.Label.NEUTRAL
    assert sentiment.label_for(-0.05) is sentiment.Label.NEGATIVE


def test_no_text_has_no_score() -> None:
    assert sentiment.score_text("", None, "  ") is None


def test_one_passage_scores_as_plain_vader() -> None:
    text = "The talk was great, but the venue was awful."
    scored = sentiment.score_text(text)
    assert scored is not None
    assert scored.compound == sentiment.score_plain(text).compound


def test_a_but_in_one_paragraph_does_not_halve_a_later_one() -> None:
    # Plain VADER halves every word before a "but", even paragraphs earlier.
    happy = "She was thrilled about the offer and loved the team. " * 6
    text = happy + "\n" + "It rained, but we still met."
    ours = sentiment.score_text(text)
    assert ours is not None
    assert ours.label is sentiment.Label.POSITIVE
    assert ours.compound > sentiment.score_plain(text).compound


def test_summary_and_body_are_scored_together() -> None:
    scored = sentiment.score_text("Terrible meeting.", "He was rude and dismissive.")
    assert scored is not None
    assert scored.label is sentiment.Label.NEGATIVE


# Health

CONTACT = health.ContactFacts(importance="NORMAL", cadence_days=30, created_at=ago(800))


def factor(h: health.Health, name: str) -> health.Factor:
    return next(f for f in h.factors if f.name == name)


def test_a_contact_with_no_interactions_is_dormant_and_says_why() -> None:
    h = health.score_health(CONTACT, [], NOW)
    assert h.bucket is health.Bucket.DORMANT
    assert factor(h, "RECENCY").reason == "no interactions yet"
    assert "neutral" in factor(h, "SENTIMENT").reason


def test_recent_frequent_positive_balanced_contact_thrives() -> None:
    interactions = [
        health.InteractionFacts(ago(d), sentiment=0.8, given=d == 5, received=d == 25)
        for d in (5, 25, 55, 85)
    ]
    h = health.score_health(CONTACT, interactions, NOW)
    assert h.bucket is health.Bucket.THRIVING
    assert h.score > 90
    assert "within the 30-day cadence" in factor(h, "RECENCY").reason


def test_each_factor_moves_the_score_the_right_way() -> None:
    base = [health.InteractionFacts(ago(d), sentiment=0.3) for d in (10, 40)]
    baseline = health.score_health(CONTACT, base, NOW).score
    older = [health.InteractionFacts(ago(d + 60), sentiment=0.3) for d in (10, 40)]
    assert health.score_health(CONTACT, older, NOW).score < baseline
    more = [*base, health.InteractionFacts(ago(70), sentiment=0.3)]
    assert health.score_health(CONTACT, more, NOW).score > baseline
    sour = [health.InteractionFacts(ago(d), sentiment=-0.6) for d in (10, 40)]
    assert health.score_health(CONTACT, sour, NOW).score < baseline
    taking = [health.InteractionFacts(ago(d), sentiment=0.3, received=True) for d in (10, 40)]
    assert health.score_health(CONTACT, taking, NOW).score < baseline


def test_only_negative_interactions_read_negative() -> None:
    interactions = [health.InteractionFacts(ago(d), sentiment=-0.7) for d in (3, 20)]
    h = health.score_health(CONTACT, interactions, NOW)
    sentiment_factor = factor(h, "SENTIMENT")
    assert sentiment_factor.score < 0.2
    assert "negative" in sentiment_factor.reason


def test_a_year_overdue_contact_is_at_risk_or_worse() -> None:
    h = health.score_health(CONTACT, [health.InteractionFacts(ago(395), sentiment=0.5)], NOW)
    assert h.bucket in (health.Bucket.AT_RISK, health.Bucket.DORMANT)
    assert factor(h, "RECENCY").score == 0
    assert "365 days past the 30-day cadence" in factor(h, "RECENCY").reason


def test_recent_interactions_weigh_more_in_the_sentiment_trend() -> None:
    improving = [
        health.InteractionFacts(ago(5), sentiment=0.8),
        health.InteractionFacts(ago(50), sentiment=-0.8),
    ]
    worsening = [
        health.InteractionFacts(ago(5), sentiment=-0.8),
        health.InteractionFacts(ago(50), sentiment=0.8),
    ]
    assert factor(health.score_health(CONTACT, improving, NOW), "SENTIMENT").score > 0.5
    assert factor(health.score_health(CONTACT, worsening, NOW), "SENTIMENT").score < 0.5


def test_no_cadence_defaults_by_importance() -> None:
    vip = health.ContactFacts(importance="VIP", cadence_days=None, created_at=ago(100))
    low = health.ContactFacts(importance="LOW", cadence_days=None, created_at=ago(100))
    assert health.cadence_of(vip) < health.cadence_of(low)
    seen = [health.InteractionFacts(ago(40))]
    assert health.score_health(vip, seen, NOW).score < health.score_health(low, seen, NOW).score


def test_history_is_weekly_and_ignores_later_interactions() -> None:
    interactions = [health.InteractionFacts(ago(3), sentiment=0.5)]
    points = health.score_history(CONTACT, interactions, NOW, weeks=4)
    assert [p.at for p in points] == [NOW - timedelta(weeks=w) for w in (4, 3, 2, 1, 0)]
    assert points[0].score < points[-1].score


# Reconnect


def test_reconnects_rank_importance_overdue_and_decline() -> None:
    steady = health.score_health(CONTACT, [health.InteractionFacts(ago(40))], NOW)
    fallen = health.Health(score=steady.score + 30, bucket=health.Bucket.STEADY, factors=())

    def candidate(key: str, importance: str, overdue: float, before: health.Health) -> Any:
        return reconnect.Candidate(key, importance, 30, overdue, steady, before)

    ranked = reconnect.rank_reconnects(
        [
            candidate("low", "LOW", 30, steady),
            candidate("vip", "VIP", 30, steady),
            candidate("vip-later", "VIP", 10, steady),
            candidate("falling", "LOW", 30, fallen),
        ],
        first=10,
    )
    order = [s.key for s in ranked]
    assert order.index("vip") < order.index("vip-later") < order.index("low")
    assert order.index("falling") < order.index("low")
    falling = next(s for s in ranked if s.key == "falling")
    assert any("health fell" in r for r in falling.reasons)
    assert any("30 days overdue" in r for r in falling.reasons)


# Introductions


def person(key: str, **kw: Any) -> introduction.Person[str]:
    return introduction.Person(key=key, name=key.title(), **kw)


def test_introductions_pair_shared_rare_interests_and_complementary_roles() -> None:
    people = [
        person("ann", interests=("mycology", "travel"), title="Founder"),
        person("bob", interests=("mycology", "travel")),
        person("cyd", interests=("travel",), title="Angel investor"),
        person("dee", interests=("travel",)),
    ]
    pairs = {(p.a, p.b): p for p in introduction.suggest_introductions(people, 10)}
    assert "both interested in mycology" in pairs["ann", "bob"].reasons
    assert "complementary roles: a founder and an investor" in pairs["ann", "cyd"].reasons
    # Everyone likes travel: a pair sharing only that ranks below both.
    assert pairs["bob", "dee"].score < pairs["ann", "bob"].score
    assert pairs["bob", "dee"].score < pairs["ann", "cyd"].score


def test_introductions_skip_excluded_pairs_and_colleagues() -> None:
    people = [
        person("ann", interests=("chess",), company="Acme"),
        person("bob", interests=("chess",), company="ACME "),
        person("cyd", interests=("chess",)),
    ]
    pairs = introduction.suggest_introductions(
        people, 10, exclude=lambda a, b: {a, b} == {"ann", "cyd"}
    )
    assert [{p.a, p.b} for p in pairs] == [{"bob", "cyd"}]


def test_goal_tags_boost_and_are_named() -> None:
    people = [
        person("ann", tags=("climate tech",), interests=("chess",)),
        person("bob", tags=("climate tech",)),
        person("cyd", interests=("chess",)),
    ]
    pairs = introduction.suggest_introductions(
        people, 10, goal_tags={"Climate Tech": "Meet 5 people in climate tech"}
    )
    assert {pairs[0].a, pairs[0].b} == {"ann", "bob"}
    assert "goal" in pairs[0].reasons[0]


def test_roles_come_from_titles() -> None:
    assert introduction.roles_of("Co-founder & CEO") == {"founder"}
    assert introduction.roles_of(None) == set()


# Starters

NOTES = (
    starter.Note(
        ago(20),
        "MEAL",
        "Lunch about compilers",
        "Talked about compilers and teaching. I'll send you the COBOL paper next week.",
    ),
    starter.Note(ago(60), "CALL", "Call about teaching", "Teaching plans for spring."),
)


def test_starters_cite_their_facts() -> None:
    facts = starter.StarterFacts(
        name="Grace",
        birthday=(11, 30),
        work_started_on=date(2020, 12, 1),
        company="Navy",
        interests=("compilers", "sailing"),
        preferred_channel="EMAIL",
        notes=NOTES,
    )
    starters = starter.build_starters(facts, now=NOW, today=NOW.date(), first=20)
    by_source = {s.source: s for s in starters}
    promise = by_source[starter.Source.OPEN_PROMISE]
    assert "I'll send you the COBOL paper next week" in promise.text
    assert "Lunch about compilers" in promise.fact
    assert "in 7 days" in by_source[starter.Source.BIRTHDAY].text
    assert "6 years at Navy" in by_source[starter.Source.WORK_ANNIVERSARY].text
    topics = by_source[starter.Source.LAST_TOPICS]
    assert topics.text.startswith("Pick up where you left off: teaching, compilers")
    assert "2 weeks" in by_source[starter.Source.TIME_SINCE].text
    assert "email" in by_source[starter.Source.PREFERENCE].text
    interests = [s for s in starters if s.source is starter.Source.INTEREST]
    assert "talked about it before" in interests[0].text
    assert "sailing" in interests[1].fact


def test_starters_are_deterministic_and_limited() -> None:
    facts = starter.StarterFacts(name="Grace", interests=("a", "b", "c"), notes=NOTES)
    first = starter.build_starters(facts, now=NOW, today=NOW.date(), first=3)
    assert first == starter.build_starters(facts, now=NOW, today=NOW.date(), first=3)
    assert len(first) == 3


def test_a_promise_is_kept_once_something_was_given_after_it() -> None:
    kept = (*NOTES, starter.Note(ago(2), "EMAIL", "Sent the paper", given="COBOL paper"))
    facts = starter.StarterFacts(name="Grace", notes=kept)
    sources = {s.source for s in starter.build_starters(facts, now=NOW, today=NOW.date(), first=9)}
    assert starter.Source.OPEN_PROMISE not in sources


def test_promises_are_found_in_several_phrasings() -> None:
    text = "Let's follow up on the grant. We will introduce her to Sam! Nothing else."
    assert starter.find_promises(text) == [
        "Let's follow up on the grant",
        "We will introduce her to Sam",
    ]


def test_a_contact_without_history_gets_a_hello() -> None:
    facts = starter.StarterFacts(name="Ada")
    starters = starter.build_starters(facts, now=NOW, today=NOW.date(), first=5)
    assert [s.source for s in starters] == [starter.Source.TIME_SINCE]


# Goals


def test_recurring_windows_follow_the_start_date() -> None:
    window = goal.current_window(Period.MONTH, date(2026, 1, 31), None, date(2026, 3, 5))
    assert window == goal.Window(date(2026, 2, 28), date(2026, 3, 30))
    week = goal.current_window(Period.WEEK, date(2020, 1, 1), None, date(2026, 11, 23))
    assert week is not None
    assert week.start <= date(2026, 11, 23) <= week.end
    assert (week.end - week.start).days == 6


def test_custom_and_ended_windows() -> None:
    custom = goal.current_window(Period.CUSTOM, date(2026, 1, 1), date(2026, 3, 31), NOW.date())
    assert custom == goal.Window(date(2026, 1, 1), date(2026, 3, 31))
    ended = goal.current_window(Period.MONTH, date(2026, 1, 1), date(2026, 2, 10), NOW.date())
    assert ended == goal.Window(date(2026, 2, 1), date(2026, 2, 10))


@pytest.mark.parametrize("period", [Period.WEEK, Period.MONTH, Period.QUARTER, Period.YEAR])
def test_a_window_past_the_last_date_is_none_not_a_crash(period: Period) -> None:
    # A goal stored before dates were bounded: its window's end cannot be computed.
    assert goal.current_window(period, date(9999, 12, 31), None, date(2026, 12, 4)) is None
    assert goal.current_window(period, date(9999, 12, 1), None, date(9999, 12, 31)) is None


def test_progress_counts_items_inside_the_window() -> None:
    window = goal.Window(date(2026, 11, 1), date(2026, 11, 30))
    items = [goal.Item(n, datetime(2026, 11, d, tzinfo=UTC), "x") for n, d in enumerate((1, 30))]
    items.append(goal.Item(9, datetime(2026, 10, 31, tzinfo=UTC), "before"))
    progress = goal.measure_goal(2, window, items)
    assert (progress.current, progress.done) == (2, True)
    assert [i.key for i in progress.items] == [0, 1]


def test_reconnections_need_a_dormant_gap() -> None:
    window = goal.Window(date(2026, 11, 1), date(2026, 11, 30))
    history = {
        "dormant": [datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)],
        "regular": [datetime(2026, 10, 20, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)],
    }
    found = goal.find_reconnections(history, {"dormant": "Dee"}, window)
    assert [(i.key, i.label) for i in found] == [("dormant", "Dee")]
