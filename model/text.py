"""Text the API accepts: the length limits of each kind, and what PostgreSQL text cannot hold."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

MAX_NAME = 200
MAX_SHORT = 500
MAX_TEXT = 100_000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME), AfterValidator(_not_blank)
]
OptionalName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_SHORT)]
LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)]


# What PostgreSQL text cannot hold: NUL, and UTF-16 surrogates that JSON's \\uD800 escapes can
# smuggle in unpaired (they have no UTF-8 encoding).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_text(value: str) -> str | None:
    """Return why ``value`` cannot be stored as text, or None when it can."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    char = found.group()
    where = f"U+{ord(char):04X} at character {found.start() + 1}"
    if char == "\x00":
        return f"remove the NUL character ({where}); text cannot hold it"
    return f"remove the unpaired surrogate ({where}); send text as valid Unicode"


def remove_unstorable(value: str) -> tuple[str, str | None]:
    """Return ``value`` without what text cannot hold, and what was removed (None: nothing)."""
    found = UNSTORABLE.findall(value)
    if not found:
        return value, None
    nul = found.count("\x00")
    parts = [f"{nul} NUL character{'s' if nul > 1 else ''} (U+0000)"] if nul else []
    if len(found) > nul:
        parts.append(f"{len(found) - nul} unpaired surrogate{'s' if len(found) - nul > 1 else ''}")
    return UNSTORABLE.sub("", value), " and ".join(parts)


def find_hidden_character(value: str) -> str | None:
    """Describe the first control or invisible character in ``value``, if there is one."""
    if value.isprintable():
        # Python's "printable" is exactly "no Other, no Separator but the ASCII space".
        return None
    for position, char in enumerate(value, start=1):
        if not char.isprintable():
            return f"U+{ord(char):04X} at character {position}"
    return None


def check_string(value: str, *, is_id: bool) -> str | None:
    """Return what is wrong with one string argument, or None.

    The floor under every argument (``schema.arguments.CheckArguments``); the compiled read
    path (``reads/``) asks too, so both refuse the same strings.
    """
    if len(value) > MAX_TEXT:
        return f"use at most {MAX_TEXT:,} characters, not {len(value):,}"
    if is_id and (hidden := find_hidden_character(value)) is not None:
        return f"remove the control or invisible character ({hidden}); ids never hold one"
    return check_text(value)
