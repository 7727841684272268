"""Follow-up drafts as a pure function: every sentence cites a fact, tones, odd input."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from insights import followup, starter
from insights.followup import DraftFacts, Recipient, SourceKind, Tone

TODAY = date(2026, 12, 7)
GRACE = Recipient("Grace", "Hopper", interests=("Mycology", "sailing"), importance="HIGH")
LUNCH = DraftFacts(
    kind="MEAL",
    occurred_on=date(2026, 12, 3),
    summary="Lunch about compilers",
    body="Talked COBOL and compilers, and mycology. I'll send her the COBOL paper. "
    "Let's meet at the conference. Tooling came up; tooling matters.",
    recipients=(GRACE,),
    sender="Alice Liddell",
)


def kinds(draft: followup.Draft) -> list[SourceKind]:
    return [s.kind for s in draft.sentences]


def test_a_warm_draft_thanks_quotes_the_promises_topics_and_interests_and_names_each_fact() -> None:
    draft = followup.draft_follow_up(LUNCH, tone=Tone.WARM, today=TODAY)
    assert kinds(draft) == [
        SourceKind.RECIPIENT,
        SourceKind.INTERACTION,
        SourceKind.OPEN_PROMISE,
        SourceKind.OPEN_PROMISE,
        SourceKind.TOPICS,
        SourceKind.SHARED_INTEREST,
        SourceKind.CADENCE,
        SourceKind.SIGNATURE,
    ]
    texts = [s.text for s in draft.sentences]
    assert texts[0] == "Hi Grace,"
    assert texts[1] == "Thank you so much for sharing a meal on Thursday — it was great to talk."
    # The note speaks of her; the draft speaks to her.
    assert texts[2] == "As promised, I'll send you the COBOL paper."
    assert texts[3] == "As we said, let's meet at the conference."
    # Words of the summary or said twice, spelled as the notes spell them; none repeated from
    # a promise ("COBOL") or an interest ("mycology").
    assert texts[4] == "I really enjoyed talking about compilers and Tooling."
    assert texts[5] == "I'm glad we got to talk about Mycology."
    assert texts[6] == "Let's catch up again in a month or so!"
    assert texts[7] == "Warm wishes,\nAlice Liddell"
    facts = [s.fact for s in draft.sentences]
    assert facts[0] == "their name “Grace Hopper”"
    assert facts[1] == "your meal of 3 Dec 2026: “Lunch about compilers”"
    assert facts[2] == facts[1]
    assert facts[5] == "Grace Hopper's interests list “Mycology”, and your notes mention it"
    assert facts[6] == "Grace Hopper is of HIGH importance: every 30 days by default"
    assert facts[7] == "your display name “Alice Liddell”"
    assert draft.text.startswith("Hi Grace,\n\nThank you so much")
    assert draft.text.endswith("in a month or so!\n\nWarm wishes,\nAlice Liddell")


def test_tones_change_the_words_not_the_facts() -> None:
    brief = followup.draft_follow_up(LUNCH, tone=Tone.BRIEF, today=TODAY)
    formal = followup.draft_follow_up(LUNCH, tone=Tone.FORMAL, today=TODAY)
    assert brief.sentences[0].text == "Hi Grace,"
    assert brief.sentences[2].text == "I'll send you the COBOL paper."
    assert brief.sentences[3].text == "Let's meet at the conference."
    # Brief leaves the interests out.
    assert SourceKind.SHARED_INTEREST not in kinds(brief)
    assert brief.sentences[-1].text == "Best,\nAlice Liddell"
    assert formal.sentences[0].text == "Dear Grace Hopper,"
    assert formal.sentences[1].text == "Thank you for joining me for a meal on Thursday."
    assert formal.sentences[2].text == "As agreed, I'll send you the COBOL paper."
    assert formal.sentences[-2].text == (
        "I would welcome the opportunity to speak again in a month or so."
    )
    assert formal.sentences[-1].text == "Kind regards,\nAlice Liddell"
    assert len(brief.text) < len(followup.draft_follow_up(LUNCH, tone=Tone.WARM, today=TODAY).text)


def test_the_same_facts_give_the_same_draft() -> None:
    for tone in Tone:
        first = followup.draft_follow_up(LUNCH, tone=tone, today=TODAY)
        assert followup.draft_follow_up(LUNCH, tone=tone, today=TODAY) == first


@pytest.mark.parametrize(
    ("kind", "opening", "noun"),
    [
        ("MEETING", "Thank you so much for meeting with me", "meeting"),
        ("CALL", "Thank you so much for the call", "call"),
        ("VIDEO", "Thank you so much for the video call", "video call"),
        ("EVENT", "It was great to talk at the event", "event"),
    ],
)
def test_every_kind_of_time_together_is_thanked_for_in_its_own_words(
    kind: str, opening: str, noun: str
) -> None:
    draft = followup.draft_follow_up(replace(LUNCH, kind=kind), tone=Tone.WARM, today=TODAY)
    assert draft.sentences[1].text.startswith(opening)
    assert draft.sentences[1].fact.startswith(f"your {noun} of 3 Dec 2026")


def test_notes_emails_and_meetings_still_to_come_are_not_followed_up() -> None:
    for kind in ("NOTE", "EMAIL", "MESSAGE", "GIFT", "INTRODUCTION"):
        with pytest.raises(ValueError, match="MEETING, CALL, VIDEO, MEAL, EVENT"):
            followup.draft_follow_up(replace(LUNCH, kind=kind), tone=Tone.WARM, today=TODAY)
    assert followup.find_problem("NOTE", TODAY, TODAY) == (
        "a follow-up follows time together (MEETING, CALL, VIDEO, MEAL, EVENT); "
        "this interaction is a NOTE"
    )
    assert followup.find_problem("CALL", date(2026, 12, 8), TODAY) == (
        "this interaction is on 2026-12-08: a follow-up comes after it"
    )
    assert followup.find_problem("CALL", TODAY, TODAY) is None
    with pytest.raises(ValueError, match="recipient"):
        followup.draft_follow_up(replace(LUNCH, recipients=()), tone=Tone.WARM, today=TODAY)


@pytest.mark.parametrize(
    ("occurred", "when"),
    [
        (TODAY, "today"),
        (date(2026, 12, 6), "yesterday"),
        (date(2026, 12, 1), "on Tuesday"),
        (date(2026, 11, 30), "on 30 Nov"),
        (date(2025, 12, 30), "on 30 Dec 2025"),
    ],
)
def test_the_day_is_said_as_a_person_would(occurred: date, when: str) -> None:
    draft = followup.draft_follow_up(
        replace(LUNCH, kind="CALL", occurred_on=occurred), tone=Tone.BRIEF, today=TODAY
    )
    assert draft.sentences[1].text == f"Thanks for the call {when}."


def test_formal_dates_spell_the_month() -> None:
    draft = followup.draft_follow_up(
        replace(LUNCH, kind="MEETING", occurred_on=date(2026, 11, 2)), tone=Tone.FORMAL, today=TODAY
    )
    assert draft.sentences[1].text == "Thank you for taking the time to meet on 2 November."


def test_a_gift_logged_since_is_taken_as_the_promises_kept() -> None:
    later = starter.Note(datetime(2026, 12, 5, tzinfo=UTC), "EMAIL", "Paper", given="the paper")
    kept = followup.draft_follow_up(replace(LUNCH, later=(later,)), tone=Tone.WARM, today=TODAY)
    assert SourceKind.OPEN_PROMISE not in kinds(kept)
    nothing_given = replace(later, given=None)
    still = followup.draft_follow_up(
        replace(LUNCH, later=(nothing_given,)), tone=Tone.WARM, today=TODAY
    )
    assert kinds(still).count(SourceKind.OPEN_PROMISE) == 2


def test_promises_about_them_are_addressed_to_them() -> None:
    facts = replace(
        LUNCH,
        summary="Call",
        body="I'll call them back. We will introduce him to Sam. I'll forward her the slides.",
    )
    texts = [
        s.text
        for s in followup.draft_follow_up(facts, tone=Tone.FORMAL, today=TODAY).sentences
        if s.kind is SourceKind.OPEN_PROMISE
    ]
    curly = replace(LUNCH, summary="Call", body="Let\u2019s meet in Lisbon.")
    lets = followup.draft_follow_up(curly, tone=Tone.WARM, today=TODAY).sentences[2]
    assert lets.text == "As we said, let\u2019s meet in Lisbon."
    assert texts == [
        "As agreed, I'll call you back.",
        "As agreed, we will introduce you to Sam.",
        "As agreed, I'll forward you the slides.",
    ]


def test_the_next_step_follows_the_closest_cadence_of_several_recipients() -> None:
    ada = Recipient("Ada", "Lovelace", cadence_days=7)
    lin = Recipient("Lin", "", importance="LOW")
    draft = followup.draft_follow_up(
        replace(LUNCH, recipients=(GRACE, ada, lin)), tone=Tone.WARM, today=TODAY
    )
    assert draft.sentences[0].text == "Hi Grace, Ada and Lin,"
    assert draft.sentences[0].fact == "their names “Grace Hopper”, “Ada Lovelace” and “Lin”"
    step = draft.sentences[-2]
    assert step.text == "Let's catch up again next week!"
    assert step.fact == "you keep in touch with Ada Lovelace every 7 days"
    nameless = (GRACE, Recipient("", ""))
    unnamed = followup.draft_follow_up(
        replace(LUNCH, recipients=nameless), tone=Tone.WARM, today=TODAY
    )
    assert unnamed.sentences[0].text == "Hi all,"
    crowd = tuple(Recipient(f"P{n}") for n in range(5))
    many = followup.draft_follow_up(replace(LUNCH, recipients=crowd), tone=Tone.FORMAL, today=TODAY)
    assert many.sentences[0].text == "Dear all,"
    assert many.sentences[0].fact == "the 5 people of this interaction"
    low = followup.draft_follow_up(replace(LUNCH, recipients=(lin,)), tone=Tone.BRIEF, today=TODAY)
    assert low.sentences[-2].text == "Let's talk again in a few months."


def test_empty_notes_and_names_still_give_thanks_a_next_step_and_a_sign_off() -> None:
    bare = DraftFacts(
        kind="CALL",
        occurred_on=TODAY,
        summary="",
        body=None,
        recipients=(Recipient("", ""),),
    )
    draft = followup.draft_follow_up(bare, tone=Tone.WARM, today=TODAY)
    assert kinds(draft) == [
        SourceKind.RECIPIENT,
        SourceKind.INTERACTION,
        SourceKind.CADENCE,
        SourceKind.SIGNATURE,
    ]
    assert draft.sentences[0].text == "Hi all,"
    assert draft.sentences[-1] == followup.Sentence(
        "Warm wishes,", SourceKind.SIGNATURE, "no display name set"
    )
    assert (
        draft.sentences[-2].fact == "this contact is of NORMAL importance: every 60 days by default"
    )


def test_control_characters_and_nul_never_reach_the_draft() -> None:
    dirty = replace(
        LUNCH,
        summary="Lunch\x00 about\ncompilers",
        body="I'll send you the\x00 deck\x07 and more.\u2028Compilers again.",
        recipients=(Recipient("Gr\x00ace", "Hop\tper", interests=("comp\x00ilers",)),),
        sender="Al\x00ice\r\n",
    )
    for tone in Tone:
        draft = followup.draft_follow_up(dirty, tone=tone, today=TODAY)
        for sentence in draft.sentences:
            for value in (sentence.text.replace("\n", ""), sentence.fact):
                assert not any(ord(ch) < 32 or 0x7F <= ord(ch) <= 0x9F for ch in value), value
        assert "\x00" not in draft.text
    warm = followup.draft_follow_up(dirty, tone=Tone.WARM, today=TODAY)
    assert warm.sentences[2].text == "As promised, I'll send you the deck and more."
    assert warm.sentences[-1].text == "Warm wishes,\nAl ice"


def test_very_long_notes_give_a_short_draft_quickly() -> None:
    words = " ".join(f"word{n:05d}x" for n in range(9_000))
    promise = "I'll send you " + "the very long list " * 100 + "."
    body = (promise + " " + words + " ") * 1 + "Compilers. " * 10
    assert len(body) > 90_000
    facts = replace(LUNCH, summary="S" * 5_000, body=body)
    draft = followup.draft_follow_up(facts, tone=Tone.WARM, today=TODAY)
    assert len(draft.text) < 1_500
    assert all(len(s.text) <= followup.MAX_QUOTE + 60 for s in draft.sentences)
    assert draft.sentences[2].text.endswith("….")
    assert "Compilers" in draft.sentences[3].text


def test_text_in_other_languages_is_quoted_and_matched_as_written() -> None:
    facts = replace(
        LUNCH,
        kind="MEETING",
        summary="会議: コンパイラ",
        body="Wir sprachen über Käse und Café-Kultur. Café-Kultur überall.",
        recipients=(Recipient("Jürgen", "Groß", interests=("café-kultur", "コンパイラ")),),
    )
    draft = followup.draft_follow_up(facts, tone=Tone.FORMAL, today=TODAY)
    assert draft.sentences[0].text == "Dear Jürgen Groß,"
    assert draft.sentences[1].fact == "your meeting of 3 Dec 2026: “会議: コンパイラ”"
    interests = [s.text for s in draft.sentences if s.kind is SourceKind.SHARED_INTEREST]
    assert interests == [
        "I was pleased to hear more about your interest in café-kultur.",
        "I was pleased to hear more about your interest in コンパイラ.",
    ]
    # English phrases make the promises: none here, and nothing invented.
    assert SourceKind.OPEN_PROMISE not in kinds(draft)


def test_clean_text_cuts_at_a_word() -> None:
    assert followup.clean_text("a b\x00c\n\nd") == "a b c d"
    assert followup.clean_text("one two three", 9) == "one two…"
    assert followup.clean_text("x" * 20, 5) == "xxxxx…"


def test_an_owed_follow_up_says_what_happened_and_how_long_ago() -> None:
    assert followup.explain_owed("EVENT", date(2026, 12, 1), 6) == (
        "first interaction: an event on 1 Dec 2026, and nothing logged in the 6 days since"
    )
    assert followup.explain_owed("VIDEO", date(2026, 12, 6), 1) == (
        "first interaction: a video call on 6 Dec 2026, and nothing logged in the 1 day since"
    )
