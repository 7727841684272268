"""vCard reading and writing without a database: birthdays, labels, folding, line numbers."""

from __future__ import annotations

import uuid

import pytest

from transfer.entry import Entry, MalformedFile, check_entry
from transfer.lines import text_lines
from transfer.vcard import parse_birthday, parse_vcards
from transfer.vcard_writer import write_vcard


@pytest.mark.parametrize(
    ("text", "omit", "expected"),
    [
        ("1985-04-12", None, {"month": 4, "day": 12, "year": 1985}),
        ("19850412", None, {"month": 4, "day": 12, "year": 1985}),
        ("1985-04-12T00:00:00Z", None, {"month": 4, "day": 12, "year": 1985}),
        ("--0412", None, {"month": 4, "day": 12}),
        ("--04-12", None, {"month": 4, "day": 12}),
        ("1604-04-12", None, {"month": 4, "day": 12}),
        ("1900-04-12", ["1900"], {"month": 4, "day": 12}),
        ("April 12", None, None),
        ("---12", None, None),
    ],
)
def test_birthdays_with_and_without_a_year(
    text: str, omit: list[str] | None, expected: dict[str, int] | None
) -> None:
    assert parse_birthday(text, omit_year=omit) == expected


def test_folded_lines_are_joined_and_faults_name_their_line() -> None:
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada\n  Lovelace\nNOTE:a long\n  note\nEND:VCARD\n"
    [entry] = parse_vcards(text_lines(card))
    assert entry.values["firstName"] == "Ada"
    assert entry.values["lastName"] == "Lovelace"
    assert entry.values["notes"] == "a long note"
    with pytest.raises(MalformedFile) as caught:
        parse_vcards(text_lines(card + card.replace("NOTE:a long", "NOTE a long")))
    assert caught.value.line == 12


def test_a_bad_value_is_left_out_with_a_problem_and_a_nameless_entry_skipped() -> None:
    entry = Entry(
        7,
        {
            "firstName": "Ada",
            "emails": [{"label": "", "value": "ada@example.com"}, {"label": "", "value": "nope"}],
            "birthday": {"month": 2, "day": 30},
        },
    )
    checked = check_entry(entry)
    assert checked is not None
    assert checked["emails"] == [{"label": "", "value": "ada@example.com"}]
    assert "birthday" not in checked
    assert [p.line for p in entry.problems] == [7, 7]
    nameless = Entry(3, {"lastName": "", "emails": [{"label": "", "value": "x@example.com"}]})
    assert check_entry(nameless) is None
    assert nameless.problems[0].message == "has no name; skipped"


def test_what_is_written_reads_back_the_same() -> None:
    row = {
        "id": uuid.uuid4(),
        "first_name": "Zoë",
        "last_name": "O'Neil; Jr",
        "company": "A, B; C",
        "title": "Head\\of things",
        "emails": [{"label": "work", "value": "zoe@example.com"}],
        "phones": [{"label": "cell", "value": "+1 555 0100"}],
        "urls": [{"label": "LinkedIn", "value": "https://www.linkedin.com/in/zoe"}],
        "birthday_month": 2,
        "birthday_day": 29,
        "birthday_year": None,
        "notes": "line one\nline two, with; punctuation",
        "how_we_met": "At a conference",
    }
    [entry] = parse_vcards(text_lines(write_vcard(row)))
    assert entry.values == {
        "firstName": "Zoë",
        "lastName": "O'Neil; Jr",
        "company": "A, B; C",
        "title": "Head\\of things",
        "emails": [{"label": "work", "value": "zoe@example.com"}],
        "phones": [{"label": "cell", "value": "+1 555 0100"}],
        "urls": [{"label": "LinkedIn", "value": "https://www.linkedin.com/in/zoe"}],
        "birthday": {"month": 2, "day": 29},
        "notes": "line one\nline two, with; punctuation",
        "howWeMet": "At a conference",
    }


def test_escapes_are_undone_and_a_lone_backslash_kept() -> None:
    card = (
        "BEGIN:VCARD\nVERSION:3.0\nN:Smith\\; Jones;Ada\nTITLE:Boss\\\n"
        "NOTE:a\\nb\\,c\\;d\\\\e\\x\nEND:VCARD\n"
    )
    [entry] = parse_vcards(text_lines(card))
    assert entry.values["lastName"] == "Smith; Jones"
    # vobject's reader turned a trailing backslash into "\eof".
    assert entry.values["title"] == "Boss\\"
    assert entry.values["notes"] == "a\nb,c;d\\e\\x"
