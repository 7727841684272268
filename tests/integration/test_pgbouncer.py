"""PgBouncer in transaction pooling mode (Debian's pgbouncer, started by the test).

Two processes share one server connection through it, as API processes do in production.
Each runs statements through SQLAlchemy and straight through asyncpg (as the compiled reads
do). asyncpg's own statement names are counted per process, so without the PgBouncer
settings the second process's first statement collides with the first's.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.pgbouncer import PGBOUNCER, run_pgbouncer
from tests.statements import run_statements

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not Path(PGBOUNCER).exists(), reason=f"no PgBouncer at {PGBOUNCER} (apt-get install pgbouncer)"
)


def run_in_a_new_process(url: str, *, pgbouncer: bool) -> subprocess.CompletedProcess[str]:
    # A new process: its asyncpg statement counter starts again, as every API process's does.
    script = (
        "import asyncio, sys\n"
        "from tests.statements import run_statements\n"
        f"asyncio.run(run_statements(sys.argv[1], pgbouncer={pgbouncer}))\n"
    )
    return subprocess.run(  # noqa: S603 (this interpreter, our own script)
        [sys.executable, "-c", script, url], cwd=ROOT, capture_output=True, text=True, check=False
    )


async def test_processes_sharing_a_server_connection_each_run_their_statements(
    db_url: str,
) -> None:
    with run_pgbouncer(db_url, pool_size=1) as url:
        for _ in range(2):
            done = run_in_a_new_process(url, pgbouncer=True)
            assert done.returncode == 0, done.stderr
        await run_statements(url, pgbouncer=True)


async def test_without_the_pgbouncer_setting_their_statement_names_collide(db_url: str) -> None:
    with run_pgbouncer(db_url, pool_size=1) as url:
        assert run_in_a_new_process(url, pgbouncer=False).returncode == 0
        second = run_in_a_new_process(url, pgbouncer=False)
    assert second.returncode != 0
    assert "DuplicatePreparedStatementError" in second.stderr


def test_pgbouncer_without_a_direct_url_is_refused_with_what_to_set(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, database={"pgbouncer": True})
    with pytest.raises(RuntimeError, match="RAPPORT_DATABASE_DIRECT_URL"):
        settings.direct_url("postgresql://pgbouncer:6432/rapport")
    direct = make_settings(
        tmp_path, database={"pgbouncer": True, "direct_url": "postgresql://db/rapport"}
    )
    assert direct.direct_url("postgresql://pgbouncer:6432/rapport") == "postgresql://db/rapport"
