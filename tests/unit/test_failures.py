"""schema.errors' one mapping from expected failures to GraphQL types, and run_call (pure)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from model import errors
from schema.errors import (
    CONFLICT,
    NOT_FOUND,
    RATE_LIMITED,
    VALIDATION,
    Conflict,
    NotFound,
    RateLimited,
    ValidationError,
    expect,
)
from schema.write import run_call
from sync.merge import ContactMerged


def test_each_failure_shows_as_its_type() -> None:
    failures = VALIDATION | NOT_FOUND | RATE_LIMITED
    invalid = errors.ValidationFailed([errors.FieldError("name", "must not be empty")])
    shown = [
        show(exc)
        for exc in (invalid, errors.NotFound("contact", "x"), errors.RateLimited(30))
        if (show := failures.find(exc)) is not None
    ]
    assert [type(s) for s in shown] == [ValidationError, NotFound, RateLimited]
    assert shown[2] == RateLimited(
        message="Too many attempts; try again in 30 seconds.", retry_after=30
    )


def test_the_most_specific_kind_wins_whatever_the_order() -> None:
    # ContactMerged is a Conflict too: named on its own, it shows as itself either way round.
    merged = expect(ContactMerged, lambda exc: str(exc.survivor_id))
    exc = ContactMerged(uuid4(), uuid4())
    for failures in (CONFLICT | merged, merged | CONFLICT):
        show = failures.find(exc)
        assert show is not None
        assert show(exc) == str(exc.survivor_id)
    plain = CONFLICT.find(exc)
    assert plain is not None
    assert plain(exc) == Conflict(message=str(exc))


async def test_run_call_maps_the_result_or_the_failure_it_names() -> None:
    async def ok() -> int:
        return 2

    async def missing() -> int:
        raise errors.NotFound("tag", "t")

    assert await run_call(ok, lambda n: n * 10, NOT_FOUND) == 20
    answer = await run_call(missing, lambda n: n * 10, NOT_FOUND)
    assert answer == NotFound(
        message="No tag with id t exists for this account.", entity="tag", id="t"
    )


async def test_run_call_lets_a_failure_it_does_not_name_through() -> None:
    async def conflict() -> int:
        raise errors.Conflict("taken")

    with pytest.raises(errors.Conflict, match="taken"):
        await run_call(conflict, str, VALIDATION | NOT_FOUND)
