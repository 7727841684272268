"""Bench scripts run as ``python bench/<name>.py`` put bench/ first on sys.path, where a script
named like one of the project's packages would shadow it (bench/sync.py once hid ``sync``)."""

from __future__ import annotations

from tests.conftest import ROOT


def test_no_bench_module_is_named_like_a_package() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    assert {"sync", "insights", "notifications"} <= packages
    modules = {path.stem for path in (ROOT / "bench").glob("*.py")}
    assert not modules & packages, sorted(modules & packages)
