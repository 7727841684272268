"""docs/architecture.md draws the packages and their imports; the drawing must be the code's."""

from __future__ import annotations

import ast
import re

from tests.conftest import ROOT

# Not part of the product's package graph: tests, benchmarks and the migrations' scripts.
NOT_DRAWN = {"tests", "bench", "migrations"}


def drawn_arrows() -> dict[str, set[str]]:
    """The packages of the drawing in 'Packages and their direction', each with its arrows."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Packages and their direction", 1)[1]
    drawing = section.split("```", 2)[1]
    arrows: dict[str, set[str]] = {}
    package = None
    for line in drawing.splitlines():
        if match := re.match(r"([a-z]+)/\s", line):
            package = match[1]
            arrows[package] = set()
        elif "──▶" in line:
            assert package is not None, line
            arrows[package] = set(re.findall(r"([a-z]+)/", line)) - {"model"}
    return arrows


def imported_packages(package: str, ours: set[str]) -> set[str]:
    """Our other packages that ``package`` imports anywhere (functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return (found & ours) - {package, "model"}


def test_every_package_is_drawn() -> None:
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_DRAWN
    assert set(drawn_arrows()) == packages


def test_the_drawn_arrows_are_the_imports() -> None:
    drawn = drawn_arrows()
    ours = set(drawn) | NOT_DRAWN
    actual = {package: imported_packages(package, ours) for package in drawn}
    assert actual == drawn
