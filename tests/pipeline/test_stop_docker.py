"""A backfill stopped with SIGTERM removes its containers and exits; the rerun finishes it.

Service managers and schedulers stop long runs with SIGTERM. The stopped run must not leave
its test containers running (a later image removal would meet ``409 Conflict``), nor a partial
shard; the same command run again ends with the designed dataset.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import docker
import pytest

from dockerfiles.environment import Environment
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, write_sample_repo
from tests import taskforge_cli

pytestmark = pytest.mark.docker


def test_sigterm_removes_the_runs_containers(
    engine: docker.DockerClient, sample_env: Environment, tmp_path: Path, prefect_api: str
) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    out = tmp_path / "out"
    args = ("backfill", str(source), "--repo", SAMPLE_REPO_NAME, "--out", str(out))
    run = taskforge_cli.start(*args, "--workers", "1", "--repeat-after", "6")
    mine = {"label": [f"taskforge.pid={run.pid}", "taskforge=test-run"]}
    deadline = time.monotonic() + 300
    while not engine.containers.list(all=True, filters=mine):
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "no test container was started"
        time.sleep(0.05)
    os.kill(run.pid, signal.SIGTERM)
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signal.SIGTERM, (stdout, stderr)
    assert "stopped:" in stderr and "Traceback" not in stdout + stderr
    assert not engine.containers.list(all=True, filters=mine)
    assert not list(out.rglob("*.tmp"))  # no partial shard
    rerun = taskforge_cli.run(*args)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert taskforge_cli.outcomes(out) == {n: o.value for n, o in DESIGNED_OUTCOMES.items()}
