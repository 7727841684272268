"""A PgBouncer in transaction pooling mode in front of the test server (Debian's pgbouncer).

``RAPPORT_TEST_PGBOUNCER=1`` (``make test-pgbouncer``) sends the API tests through one; the
tests of PgBouncer support itself start their own. Each runs on a free loopback port with
a configuration in a temporary directory, and is stopped with the session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

PGBOUNCER = os.environ.get("RAPPORT_TEST_PGBOUNCER_BIN", "/usr/sbin/pgbouncer")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {log.read_text()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"pgbouncer did not listen on {port}: {log.read_text()}")


def _unprivileged_user(host: str) -> str:
    """Whom PgBouncer runs as when started by root (it refuses to run as root): the owner of
    a socket directory (the embedded server's, which only its owner may enter), or nobody."""
    if host.startswith("/"):
        owner = pwd.getpwuid(Path(host).stat().st_uid).pw_name
        if owner != "root":
            return owner
    return "nobody"


@contextmanager
def run_pgbouncer(server_url: str, *, pool_size: int = 4) -> Iterator[str]:
    """Run PgBouncer before ``server_url``'s server; yield the URL of the same database via it.

    ``pool_size`` server connections per database and user: fewer than the clients', so that
    clients take turns on them, as in production.
    """
    url = make_url(server_url)
    host = url.host or str(url.query.get("host", "127.0.0.1"))
    user = url.username or "postgres"
    directory = Path(tempfile.mkdtemp(prefix="rapport-pgbouncer-"))
    # PgBouncer refuses to run as root; it then runs as nobody, who must read its files.
    directory.chmod(0o755)
    auth = directory / "users.txt"
    auth.write_text(f'"{user}" "{url.password or ""}"\n')
    port = _free_port()
    server = f"host={host} port={url.port or 5432} user={user}"
    if url.password:
        server += f" password={url.password}"
    config = directory / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = {server}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {auth}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 1000\n"
        + (f"user = {_unprivileged_user(host)}\n" if os.geteuid() == 0 else "")
    )
    for path in (auth, config):
        path.chmod(0o644)
    log = directory / "pgbouncer.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own file)
            [PGBOUNCER, str(config)], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_for(port, process, log)
        yield url.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)
