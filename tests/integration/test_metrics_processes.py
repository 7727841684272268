"""`rapport serve --workers 2`: any process answering /metrics counts every process's work."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import free_port

RAPPORT = str(Path(sys.executable).parent / "rapport")


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "rapport serve exited"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("rapport serve did not start")


def _pings(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "rapport_graphql_requests_total" and sample.labels == {
                "operation": "Ping",
                "outcome": "ok",
            }:
                return sample.value
    return 0.0


def test_two_api_processes_share_their_counts(db_url: str, tmp_path: Path) -> None:
    port = free_port()
    shared = tmp_path / "metrics"
    shared.mkdir()
    (shared / "counter_1.db").write_bytes(b"stale, from an earlier run")
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": db_url,
        "RAPPORT_SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256",
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_WORKER_IN_PROCESS": "false",
        "RAPPORT_PLAYGROUND": "false",
        "RAPPORT_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    process = subprocess.Popen(  # noqa: S603 (this interpreter, our own CLI)
        [RAPPORT, "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        for _ in range(40):
            # A new connection each time, so that both processes take some.
            with httpx.Client(base_url=base, timeout=10) as client:
                answer = client.post(
                    "/graphql",
                    json={"query": "query Ping { __typename }", "operationName": "Ping"},
                )
                assert answer.status_code == 200
        counts = {_pings(httpx.get(f"{base}/metrics", timeout=10).text) for _ in range(6)}
        writers = {path.name.rsplit("_", 1)[-1] for path in shared.glob("counter_*.db")}
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert counts == {40.0}
    assert "1.db" not in writers  # the stale file was removed at start
    assert len(writers) >= 2, writers  # both processes wrote their counts there
