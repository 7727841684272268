"""A PostgreSQL primary and its streaming replica, made for a test (Debian's PostgreSQL 15).

``initdb`` makes the primary, ``pg_basebackup -R`` copies it into a standby that streams from
it; both listen on free loopback ports under a temporary directory, and are stopped and
deleted afterwards. PostgreSQL refuses to run as root: started by root, they run as nobody.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.pgbouncer import _free_port

BIN = Path(os.environ.get("RAPPORT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _run(*command: str) -> None:
    prefix = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True)  # noqa: S603


@dataclass
class Pair:
    primary_url: str
    replica_url: str
    replica_dir: Path

    def delay_replay(self, delay: str) -> None:
        """Hold the replica's replay of each commit back by ``delay`` (e.g. "1h", "0")."""
        settings = self.replica_dir / "postgresql.auto.conf"
        lines = [
            line
            for line in settings.read_text().splitlines()
            if not line.startswith("recovery_min_apply_delay")
        ]
        settings.write_text("\n".join([*lines, f"recovery_min_apply_delay = '{delay}'", ""]))
        _run(str(BIN / "pg_ctl"), "-D", str(self.replica_dir), "reload")


@contextmanager
def streaming_pair() -> Iterator[Pair]:
    root = Path(tempfile.mkdtemp(prefix="rapport-replica-"))
    root.chmod(0o777)
    primary, replica = root / "primary", root / "replica"
    ports = _free_port(), _free_port()
    started: list[Path] = []
    try:
        _run(
            str(BIN / "initdb"),
            *("-D", str(primary), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            # Both servers are thrown away after the tests: nothing need reach the disk.
            "--no-sync",
        )
        for data, port in ((primary, ports[0]), (replica, ports[1])):
            if data == replica:
                _run(
                    str(BIN / "pg_basebackup"),
                    *("-h", "127.0.0.1", "-p", str(ports[0]), "-U", "postgres"),
                    *("-D", str(replica), "-R", "-X", "stream", "--no-sync"),
                )
            options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
            log = str(root / f"{data.name}.log")
            _run(str(BIN / "pg_ctl"), "-D", str(data), "-l", log, "-w", "-o", options, "start")
            started.append(data)
        url = "postgresql://postgres@127.0.0.1:{}/postgres"
        yield Pair(url.format(ports[0]), url.format(ports[1]), replica)
    finally:
        for data in reversed(started):
            _run(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)
