"""Stopping the Docker engine in the middle of a backfill: retried, never a rejected task.

The engine is stopped the way a service manager stops it (SIGTERM to dockerd, which takes its
containers down) while the sample repository's candidates are being validated, and started
again. The run must treat the failures as infrastructure: retried, and if still failing, left
unwritten for a rerun — the final dataset is exactly the designed one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import docker
import polars as pl
import pytest

from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, write_sample_repo
from tests import taskforge_cli

pytestmark = pytest.mark.docker
ROOT = Path(__file__).resolve().parents[2]


def engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def backfill(source: Path, out: Path) -> subprocess.Popen[str]:
    return taskforge_cli.start(
        "backfill", str(source), "--repo", SAMPLE_REPO_NAME, "--out", str(out)
    )


def wait_for_test_run(client: docker.DockerClient, pid: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.containers.list(filters={"label": f"taskforge.pid={pid}"}):
            return
        time.sleep(0.1)
    pytest.fail("the backfill never started a test run")


def test_engine_stopped_mid_run(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    if not (os.environ.get("CI") or os.environ.get("TASKFORGE_ENGINE_STOP_TEST")):
        pytest.skip(
            "stops the machine's Docker engine: runs in CI, or with TASKFORGE_ENGINE_STOP_TEST=1"
        )
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.fail("stopping and starting dockerd needs root and a local dockerd")
    source = write_sample_repo(tmp_path / "tinytext")
    out = tmp_path / "out"
    run = backfill(source, out)
    try:
        wait_for_test_run(engine, run.pid)
        subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=True)
        for _ in range(600):  # until the engine has really gone, not only its API
            if subprocess.run(["pgrep", "-x", "dockerd"], check=False).returncode != 0:
                break
            time.sleep(0.1)
        assert not engine_answers()
    finally:
        subprocess.run(["bash", str(ROOT / ".ci" / "docker-engine.sh")], check=True)
    stdout, stderr = run.communicate(timeout=900)
    assert run.returncode in (0, 3), stderr[-3000:]
    assert "infrastructure" in stdout + stderr  # retried, or left for the rerun
    if run.returncode == 3:
        assert "rerun" in stderr
        rerun = backfill(source, out)
        _, stderr = rerun.communicate(timeout=900)
        assert rerun.returncode == 0, stderr[-3000:]
    assert taskforge_cli.outcomes(out) == {n: o.value for n, o in DESIGNED_OUTCOMES.items()}
    rows = sum(len(pl.read_parquet(p)) for p in out.glob("*/*.parquet"))
    assert rows == len(DESIGNED_OUTCOMES)  # nothing written twice
