"""Push text in a device's language: gettext catalogs through Babel, dates in the locale's form.

The catalogs are the ``.po`` files under ``message-catalogs/<language>/LC_MESSAGES`` beside this
module, read once per process when a language is first asked for and compiled in memory
(nothing to build at install time). English is the source language (the ``msgid`` texts
themselves) and the fallback: a locale whose language has no catalog, or that is no locale at
all, reads English. A device's locale picks the catalog by its language alone ("fr-CA" reads
French, "pt_BR" English), and dates are formatted for that same language, so one push never
mixes two.

docs/notifications.md says how to add a language; ``tests/unit/test_wording.py`` fails when
a catalog lacks a message the code asks for.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from datetime import date
from gettext import NullTranslations
from pathlib import Path

from babel.core import parse_locale
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from model.agenda import Kind

# Not "locale": a folder whose name is an identifier reads to setuptools as a package, and its
# data files draw a warning that they may one day be left out of the wheel.
CATALOGS = Path(__file__).with_name("message-catalogs")
DOMAIN = "rapport"
ENGLISH = "en"
# The languages with a catalog, and English, which needs none.
LANGUAGES = frozenset(
    {ENGLISH} | {path.parent.parent.name for path in CATALOGS.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
)
# Between a digest's items, and how many it names before "and N more".
DIGEST_SEPARATOR = " · "
DIGEST_NAMED = 5


@functools.lru_cache(maxsize=512)
def language_of(locale: str | None) -> str:
    """The catalog language for a device's ``locale``: its language if we have it, else English.

    Devices send BCP 47 tags ("fr-CA") or POSIX names ("de_AT.UTF-8"); anything unparsable
    reads English. Cached: a batch asks for the same few locales hundreds of times.
    """
    if not locale:
        return ENGLISH
    try:
        language = parse_locale(locale.strip().replace("-", "_"))[0]
    except ValueError:
        return ENGLISH
    return language if language in LANGUAGES else ENGLISH


@functools.cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language`` (a member of ``LANGUAGES``), read once."""
    if language == ENGLISH:
        # The msgids are the English text; NullTranslations applies English plural rules.
        return NullTranslations()
    path = CATALOGS / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    # Fuzzy entries are left out (write_mo's default), so a guess is never pushed: English is.
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Wording:
    """The texts of pushes in one language."""

    language: str
    catalog: NullTranslations

    def describe(
        self, kind: Kind, name: str, years: int | None, lead: int, day: date
    ) -> tuple[str, str]:
        """The title and body of a push about ``name``'s event on ``day``, ``lead`` days ahead.

        ``name`` is the contact's name, or the reminder's own title; ``years`` the age turned
        or the years at work.
        """
        t = self.catalog
        when = phrase_when(self.language, day, lead)
        match kind:
            case Kind.BIRTHDAY:
                if years:
                    # TRANSLATORS: name is a contact's name; when is "today", "tomorrow" or
                    # "in 3 days (Dec 10)"; years the age they turn.
                    title = t.ngettext(
                        "%(name)s's birthday %(when)s (turns %(years)d)",
                        "%(name)s's birthday %(when)s (turns %(years)d)",
                        years,
                    )
                else:
                    title = t.gettext("%(name)s's birthday %(when)s")
                body = t.gettext("Send them a note.")
            case Kind.ANNIVERSARY:
                years = years or 0
                # TRANSLATORS: a work anniversary: years since they started at their company.
                title = t.ngettext(
                    "%(name)s: %(years)d year at work %(when)s",
                    "%(name)s: %(years)d years at work %(when)s",
                    years,
                )
                body = t.gettext("Congratulate them.")
            case Kind.FOLLOW_UP:
                if lead:
                    title = t.gettext("Time to catch up with %(name)s %(when)s")
                else:
                    title = t.gettext("Time to catch up with %(name)s")
                body = t.gettext("It has been a while; say hello.")
            case Kind.REMINDER:
                # TRANSLATORS: the body under a reminder's own title.
                return name, t.gettext("Due %(when)s.") % {"when": when}
        return title % {"name": name, "when": when, "years": years}, body

    def digest_title(self, count: int) -> str:
        """A digest's title: how many things the day holds."""
        # TRANSLATORS: a digest of the day's birthdays, follow-ups and reminders.
        title = self.catalog.ngettext("Today: %(count)d thing", "Today: %(count)d things", count)
        return title % {"count": count}

    def digest_body(self, titles: list[str]) -> str:
        """A digest's body: the first few titles, then how many more."""
        named = titles[:DIGEST_NAMED]
        rest = len(titles) - len(named)
        if rest > 0:
            # TRANSLATORS: ends a digest's list of the day's items.
            more = self.catalog.ngettext("and %(count)d more", "and %(count)d more", rest)
            named = [*named, more % {"count": rest}]
        return DIGEST_SEPARATOR.join(named)


@functools.cache
def wording(language: str) -> Wording:
    """The texts in ``language`` (a member of ``LANGUAGES``), its catalog read once."""
    return Wording(language, translations(language))


def wording_for(locale: str | None) -> Wording:
    """The texts for a device that registered ``locale`` (English when we have no catalog)."""
    return wording(language_of(locale))


# A planning pass asks for the same few (day, lead) phrases a hundred thousand times, and a
# worker's batch for the same few per language.
@functools.lru_cache(maxsize=4096)
def phrase_when(language: str, day: date, lead: int) -> str:
    """When ``day`` is, seen ``lead`` days before it: today, tomorrow, in N days (its date)."""
    t = translations(language)
    if lead == 0:
        return t.gettext("today")
    if lead == 1:
        return t.gettext("tomorrow")
    # The locale's own short month-and-day form: "Dec 10", "10 déc.", "10. Dez.", "10 dic".
    shown = format_skeleton("MMMd", day, locale=language)
    # TRANSLATORS: date is the day's short month and day, in the locale's own form.
    return t.ngettext("in %(count)d day (%(date)s)", "in %(count)d days (%(date)s)", lead) % {
        "count": lead,
        "date": shown,
    }
