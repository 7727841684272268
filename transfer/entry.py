"""One person read from an import file, before it is matched against the owner's contacts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model.errors import ValidationFailed
from model.patches import ContactPatch, validate_patch
from model.text import UNSTORABLE, remove_unstorable

# The fields an import fills; everything else about a contact is the owner's to set.
LIST_FIELDS = ("emails", "phones", "urls")


class MalformedFile(Exception):
    """The file cannot be read as the format it claims; nothing of it is imported."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Problem:
    """Something in the file that was left out, and why; the rest of the entry is imported."""

    line: int
    message: str


@dataclass
class Entry:
    """One person as the file describes them: a contact patch (API field names) and its line."""

    line: int
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    # The values as the write path takes them (check_entry), or None: nothing usable.
    checked: dict[str, Any] | None = None


def check_entry(entry: Entry) -> dict[str, Any] | None:
    """Return the entry's values as the write path takes them, leaving out what is invalid.

    A bad value (an email that is not one, a birthday on February 30) is dropped with a
    problem on the entry instead of costing the whole person; an entry left without a first
    name is skipped (None).
    """
    values = _storable(entry)
    # Each round drops at least one field or item, so this ends.
    for _ in range(len(values) + sum(len(values.get(n) or []) for n in LIST_FIELDS) + 1):
        if not values.get("firstName"):
            entry.problems.append(Problem(entry.line, "has no name; skipped"))
            return None
        try:
            return validate_patch(ContactPatch, values, creating=True)
        except ValidationFailed as exc:
            dropped: dict[str, set[int]] = {}
            for error in exc.errors:
                name, _, rest = error.field.partition(".")
                index = rest.partition(".")[0]
                shown = values.get(name)
                if name in LIST_FIELDS and index.isdigit() and isinstance(shown, list):
                    dropped.setdefault(name, set()).add(int(index))
                    shown = shown[int(index)].get("value")
                else:
                    dropped[name] = set()
                entry.problems.append(
                    Problem(
                        entry.line, f"{error.field}: {error.message} ({_short(shown)}); left out"
                    )
                )
            for name, indexes in dropped.items():
                if indexes and name in values:
                    values[name] = [v for i, v in enumerate(values[name]) if i not in indexes]
                else:
                    values.pop(name, None)
    entry.problems.append(Problem(entry.line, "could not be read; skipped"))
    return None


def _storable(entry: Entry) -> dict[str, Any]:
    """The entry's values without what text cannot hold (NUL), each removal a problem.

    The value is kept: a stray NUL in a long note costs the NUL, not the note.
    """
    values = dict(entry.values)
    for name, value in entry.values.items():
        if isinstance(value, str) and UNSTORABLE.search(value):
            values[name] = _remove(entry, name, value)
        # List items are rebuilt only when one needs it (the usual file has no NUL at all).
        elif (
            name in LIST_FIELDS
            and isinstance(value, list)
            and any(UNSTORABLE.search(text) for item in value for text in item.values())
        ):
            values[name] = [
                {key: _remove(entry, f"{name}.{index}.{key}", text) for key, text in item.items()}
                for index, item in enumerate(value)
            ]
    return values


def _remove(entry: Entry, field: str, value: str) -> str:
    kept, removed = remove_unstorable(value)
    if removed is not None:
        entry.problems.append(
            Problem(entry.line, f"{field}: {removed} removed (text cannot hold it); check it")
        )
    return kept


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 80 else f"{shown[:77]}..."
