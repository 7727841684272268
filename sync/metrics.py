"""Sync's Prometheus metrics: how big pushes and pulled pages are (served by api.metrics)."""

from __future__ import annotations

from prometheus_client import Histogram

_SIZES = (0, 1, 5, 10, 50, 100, 500, 1000, 5000)

PUSH_MUTATIONS = Histogram(
    "rapport_sync_push_mutations", "Mutations sent in one syncPush.", buckets=_SIZES
)
PULL_CHANGES = Histogram(
    "rapport_sync_pull_changes", "Changes returned in one syncPull page.", buckets=_SIZES
)
