"""The packages' arrows (docs/architecture.md): which of ours each package may import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"api", "schema", "reads", "sync", "store", "insights", "model", "notifications", "transfer"}
# What each package may import of ours besides itself (docs/architecture.md).
ALLOWED = {
    "model": set(),
    "store": {"model"},
    "insights": {"model"},
    "sync": {"model", "store", "insights"},
    "reads": {"model", "store", "insights", "sync"},
}


def _imports(package: str) -> set[str]:
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return (found & OURS) - {package}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    assert _imports(package) <= ALLOWED[package]


def test_schema_does_not_reach_into_the_workers_package() -> None:
    assert "notifications" not in _imports("schema")
