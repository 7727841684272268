"""The tests run on the settings they choose, whatever RAPPORT_ variables the shell has set."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, TEST_VARIABLES

# Run under tests/conftest.py (as a plugin: the file is outside tests/), it sees the settings
# a test sees.
PROBE = """
import os

from api.settings import Settings


def test_the_shell_does_not_reach_the_settings():
    leaked = sorted(name for name in os.environ if name.startswith("RAPPORT_"))
    assert leaked == ["RAPPORT_SOAK_SECONDS", "RAPPORT_TEST_DATABASE_URL", "RAPPORT_TEST_PGBOUNCER"]
    settings = Settings()
    assert settings.server.env == "development"
    assert settings.limits.max_tokens == 2000
    assert settings.worker.in_process is None
"""


def test_rapport_variables_from_the_shell_are_dropped(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    shell = {name: value for name, value in os.environ.items() if not name.startswith("RAPPORT_")}
    shell |= {
        "RAPPORT_ENV": "production",
        "RAPPORT_MAX_TOKENS": "100",
        "rapport_worker_in_process": "true",  # the settings read names in any case
        "RAPPORT_TEST_DATABASE_URL": "postgresql://kept@127.0.0.1:1/kept",
        "RAPPORT_SOAK_SECONDS": "0",
        "RAPPORT_TEST_PGBOUNCER": "0",  # make test-pgbouncer's switch, read by a fixture
    }
    run = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "-c",
            str(ROOT / "pyproject.toml"),
            str(probe),
        ],
        cwd=ROOT,
        env=shell,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_every_variable_the_tests_read_is_kept() -> None:
    # A variable the tests read but conftest drops would be read as unset: make test-pgbouncer
    # once ran the API tests without PgBouncer that way.
    read = set()
    for path in [*(ROOT / "tests").rglob("*.py"), ROOT / "Makefile"]:
        read |= set(
            re.findall(r"\bRAPPORT_(?:TEST_\w+|\w+_EXAMPLES|SOAK_SECONDS)\b", path.read_text())
        )
    assert read, "the pattern should find the variables"
    assert read <= TEST_VARIABLES, sorted(read - TEST_VARIABLES)
