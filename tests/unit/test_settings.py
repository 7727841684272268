"""The settings: one variable per field, all in README.md's table, read once and kept."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel, ValidationError

from api.settings import Settings
from tests.conftest import ROOT


def variables_of(settings: type[BaseModel]) -> set[str]:
    names: set[str] = set()
    for group in settings.model_fields.values():
        assert isinstance(group.annotation, type)
        assert issubclass(group.annotation, BaseModel)
        for field in group.annotation.model_fields.values():
            assert isinstance(field.validation_alias, str)
            names.add(field.validation_alias)
    return names


def test_every_variable_is_in_the_readme_and_every_one_there_is_read() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n\n", table.index("| variable"))]
    documented = set(re.findall(r"`(RAPPORT_[A-Z_]+)`", table)) - {"RAPPORT_TEST_DATABASE_URL"}
    assert variables_of(Settings) == documented


def test_a_value_read_is_the_value_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DB_POOL_SIZE", "3")
    settings = Settings()
    monkeypatch.setenv("RAPPORT_DB_POOL_SIZE", "7")
    assert settings.database.pool_size == 3
    with pytest.raises(ValidationError, match="frozen"):
        settings.database.pool_size = 7  # type: ignore[misc]
    assert Settings().database.pool_size == 7
