"""Push text in a device's language: English exactly as before languages, the locale each
device registers mapped to a catalog, and every catalog complete (the extract check)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from model.agenda import Kind
from notifications import wording
from notifications.digest import word_row
from notifications.wording import CATALOGS, DOMAIN, ENGLISH, LANGUAGES, language_of, wording_for

PACKAGE = Path(wording.__file__).parent


def main_when(day: date, lead: int) -> str:
    """notifications/plan.py's ``_when`` before languages, word for word."""
    if lead == 0:
        return "today"
    if lead == 1:
        return "tomorrow"
    return f"in {lead} days ({day.strftime('%b')} {day.day})"


def main_describe(
    kind: Kind, name: str, years: int | None, lead: int, day: date
) -> tuple[str, str]:
    """notifications/plan.py's ``describe`` before languages, word for word."""
    when = main_when(day, lead)
    match kind:
        case Kind.BIRTHDAY:
            turning = f" (turns {years})" if years else ""
            return f"{name}'s birthday {when}{turning}", "Send them a note."
        case Kind.ANNIVERSARY:
            count = f"{years} year{'s' if years != 1 else ''}"
            return f"{name}: {count} at work {when}", "Congratulate them."
        case Kind.FOLLOW_UP:
            soon = f" {when}" if lead else ""
            return f"Time to catch up with {name}{soon}", "It has been a while; say hello."
        case Kind.REMINDER:
            return name, f"Due {when}."


def test_english_is_word_for_word_what_was_pushed_before_languages() -> None:
    english = wording_for("en")
    days = [date(2026, month, day) for month in range(1, 13) for day in (1, 9, 28)]
    for kind in Kind:
        for years in (None, 1, 2, 36) if kind is not Kind.ANNIVERSARY else (0, 1, 2, 36):
            for lead in (0, 1, 2, 7, 14):
                for day in days:
                    name = "Zoë O'Hara 100%"
                    assert english.describe(kind, name, years, lead, day) == main_describe(
                        kind, name, years, lead, day
                    ), (kind, years, lead, day)


def test_english_digests_are_word_for_word_what_was_pushed_before() -> None:
    english = wording_for(None)
    for count in range(2, 9):
        titles = [f"Item {n}" for n in range(count)]
        main_body = " · ".join(titles[:5]) + (
            f" · and {len(titles) - 5} more" if len(titles) > 5 else ""
        )
        assert english.digest_title(count) == f"Today: {count} things"
        assert english.digest_body(titles) == main_body


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("fr", "fr"),
        ("fr-CA", "fr"),
        ("FR_ca", "fr"),
        ("de-DE", "de"),
        ("de_AT.UTF-8", "de"),
        ("es-419", "es"),
        ("es_MX", "es"),
        ("en-GB", "en"),
        ("EN", "en"),
        # No catalog for the language: English.
        ("pt_BR", "en"),
        ("xx", "en"),
        ("zh-Hant-TW", "en"),
        # Not a locale at all: English.
        ("###", "en"),
        ("", "en"),
        ("  ", "en"),
        ("fr\u200d", "en"),
        (None, "en"),
    ],
)
def test_a_devices_locale_picks_its_languages_catalog_else_english(
    locale: str | None, language: str
) -> None:
    assert language_of(locale) == language


def test_dates_are_in_each_languages_own_short_form() -> None:
    day = date(2026, 12, 10)
    shown = {
        language: wording_for(language).describe(Kind.REMINDER, "R", None, 3, day)[1]
        for language in ("en", "fr", "de", "es")
    }
    assert shown == {
        "en": "Due in 3 days (Dec 10).",
        "fr": "À faire dans 3 jours (10 déc.).",
        "de": "Fällig in 3 Tagen (10. Dez.).",
        "es": "Vence en 3 días (10 dic).",
    }


def test_plurals_follow_each_languages_rules() -> None:
    day = date(2026, 12, 10)

    def anniversary(language: str, years: int) -> str:
        return wording_for(language).describe(Kind.ANNIVERSARY, "Kim", years, 0, day)[0]

    nbsp = "\u00a0"
    assert [anniversary("fr", n) for n in (0, 1, 2)] == [
        f"Kim{nbsp}: 0 an dans l'entreprise aujourd'hui",  # French counts 0 as one
        f"Kim{nbsp}: 1 an dans l'entreprise aujourd'hui",
        f"Kim{nbsp}: 2 ans dans l'entreprise aujourd'hui",
    ]
    assert [anniversary("de", n) for n in (0, 1, 2)] == [
        "Kim: heute 0 Jahre im Unternehmen",
        "Kim: heute 1 Jahr im Unternehmen",
        "Kim: heute 2 Jahre im Unternehmen",
    ]
    assert [anniversary("es", n) for n in (1, 2)] == [
        "Kim cumple 1 año en la empresa hoy",
        "Kim cumple 2 años en la empresa hoy",
    ]
    six = [f"T{n}" for n in range(6)]
    assert wording_for("es").digest_body(six).endswith(" · y 1 más")
    assert wording_for("fr").digest_body([*six, "T6"]).endswith(" · et 2 autres")
    assert wording_for("de").digest_title(2) == "Heute: 2 Erinnerungen"


def extracted_ids() -> set[str]:
    """The message ids the code asks for, as ``pybabel extract`` finds them."""
    ids = set()
    for _, _, message, _, _ in extract_from_dir(
        PACKAGE, method_map=[("**.py", "python")], keywords=DEFAULT_KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def catalog_problems(catalog: Catalog, ids: set[str]) -> list[str]:
    """What keeps ``catalog`` from wording every push: ids missing or untranslated, and more."""
    problems = []
    for msgid in sorted(ids):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms for {catalog.num_plurals}: {msgid!r}")
    stale = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id} - ids
    problems += [f"no longer asked for: {msgid!r}" for msgid in sorted(stale)]
    # Babel's own checks: placeholders (python-format) the same in msgid and msgstr.
    for message, errors in catalog.check():
        problems += [f"{message.id!r}: {error}" for error in errors]
    return problems


def read_catalog(language: str) -> Catalog:
    with (CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        return read_po(source, locale=language, domain=DOMAIN)


def test_every_catalog_has_every_message_english_has() -> None:
    ids = extracted_ids()
    assert "Send them a note." in ids
    assert {"en", "fr", "de", "es"} <= LANGUAGES
    for language in sorted(LANGUAGES - {ENGLISH}):
        assert catalog_problems(read_catalog(language), ids) == [], language
    # The template (`make messages` writes it) is what the code asks for, too.
    with (CATALOGS / f"{DOMAIN}.pot").open("rb") as source:
        template = read_po(source)
    assert {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id} == ids


def test_the_check_finds_a_message_a_catalog_lacks() -> None:
    catalog = read_catalog("fr")
    catalog.delete("Send them a note.")
    today = catalog.get("today")
    assert today is not None
    today.string = ""
    assert catalog_problems(catalog, extracted_ids()) == [
        "missing: 'Send them a note.'",
        "untranslated or fuzzy: 'today'",
    ]


def test_every_language_words_every_kind_of_push() -> None:
    # A smoke test of the compiled catalogs: each language words each case without error and
    # not in English (a catalog read but not applied would pass the extract check).
    day = date(2026, 11, 23) + timedelta(days=3)
    for language in sorted(LANGUAGES - {ENGLISH}):
        texts = wording_for(language)
        for kind in Kind:
            for lead in (0, 1, 3):
                title, body = texts.describe(kind, "Ada", 30, lead, day)
                assert (title, body) != main_describe(kind, "Ada", 30, lead, day), (
                    language,
                    kind,
                    lead,
                )


def test_a_row_that_cannot_be_worded_goes_out_in_english(caplog: pytest.LogCaptureFixture) -> None:
    # A kind a newer release planned, met by an older worker during a rolling deploy.
    row = SimpleNamespace(
        id="n-1",
        kind="NAME_DAY",
        subject_name="Ada",
        years=None,
        lead_days=0,
        local_date=date(2026, 11, 23),
        title="Ada's name day today",
        body="Send them a note.",
    )
    assert word_row(row, "fr") == ("Ada's name day today", "Send them a note.")
    assert "could not word notification n-1 in fr" in caplog.text
    known = SimpleNamespace(**{**vars(row), "kind": "BIRTHDAY"})
    assert word_row(known, "fr") == (
        "Ada fête son anniversaire aujourd'hui",
        "Envoyez-lui un petit mot.",
    )
