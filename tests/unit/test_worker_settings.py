"""The worker's lease setting: its default, what it accepts, and that the worker gets it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from api.settings import Settings
from api.worker import build_worker
from notifications.worker import Worker


def test_the_lease_is_30_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAPPORT_WORKER_LEASE_SECONDS", raising=False)
    assert Settings().worker.lease_seconds == 30
    assert Worker.lease == timedelta(seconds=30)  # a Worker built without settings too


@pytest.mark.parametrize("value", ["1", "2.5", "300", "3600"])
def test_a_lease_of_a_second_to_an_hour_is_accepted(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAPPORT_WORKER_LEASE_SECONDS", value)
    assert Settings().worker.lease_seconds == float(value)


@pytest.mark.parametrize(
    "value", ["0", "-30", "0.5", "3601", "1e300", "inf", "-inf", "nan", "thirty", ""]
)
def test_a_lease_that_is_not_a_second_to_an_hour_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RAPPORT_WORKER_LEASE_SECONDS", value)
    with pytest.raises(ValidationError, match="RAPPORT_WORKER_LEASE_SECONDS"):
        Settings()


async def test_the_worker_is_built_with_the_configured_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAPPORT_WORKER_LEASE_SECONDS", "7.5")
    monkeypatch.delenv("RAPPORT_FCM_CREDENTIALS_FILE", raising=False)
    # Building connects to nothing: the engine opens connections when first used.
    worker = build_worker(Settings(), "postgresql://nobody@127.0.0.1:1/none")
    try:
        assert worker.lease == timedelta(seconds=7.5)
    finally:
        await worker.engine.dispose()
