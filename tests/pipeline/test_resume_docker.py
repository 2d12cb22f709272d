"""A backfill killed (SIGKILL) at several points and rerun ends as an uninterrupted one.

Kill points: while mining (nothing written yet), right after the first shard appears, and
while test runs are in flight. The final dataset must have the designed instance ids and
FAIL_TO_PASS lists, no duplicate row and no partial shard; a rerun of the finished backfill
must build no image and start no test run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import docker
import polars as pl
import pyarrow.parquet as pq
import pytest

from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, write_sample_repo
from tests import taskforge_cli
from tests.pipeline.test_demo_docker import EXPECTED_FAIL_TO_PASS

pytestmark = pytest.mark.docker


def start(source: Path, out: Path) -> subprocess.Popen[str]:
    return taskforge_cli.start(
        "backfill", str(source), "--repo", SAMPLE_REPO_NAME, "--out", str(out)
    )


def kill_when(run: subprocess.Popen[str], ready: Callable[[], bool], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert run.poll() is None, "the backfill ended before the kill point"
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.communicate()  # reaps it and closes its pipes


def test_killed_and_rerun(engine: docker.DockerClient, tmp_path: Path, prefect_api: str) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    out = tmp_path / "out"

    def shards() -> list[Path]:
        return [*out.glob("data/*.parquet"), *out.glob("rejected/*.parquet")]

    first = start(source, out)
    kill_when(first, lambda: (out / "data").is_dir())  # the output exists, nothing written
    second = start(source, out)
    kill_when(second, lambda: bool(shards()))  # the extractor's rejections are written
    third = start(source, out)
    kill_when(
        third, lambda: bool(engine.containers.list(filters={"label": f"taskforge.pid={third.pid}"}))
    )  # test runs in flight
    final = start(source, out)
    _, stderr = final.communicate(timeout=900)
    assert final.returncode == 0, stderr[-3000:]

    for shard in shards():
        pq.read_table(shard)  # no partial shard
    assert not [p for p in out.rglob("*.tmp")]
    verified = pl.read_parquet(out / "data" / "*.parquet")
    rejected = pl.read_parquet(out / "rejected" / "*.parquet")
    ids = [*verified["instance_id"], *rejected["instance_id"]]
    assert len(ids) == len(set(ids)) == len(DESIGNED_OUTCOMES)  # no duplicate, none missing
    assert taskforge_cli.verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS

    before_rerun = sorted(shards())
    images = {i.id for i in engine.images.list(name="taskforge-env/taskforge__tinytext")}
    since = datetime.now(UTC)
    again = start(source, out)
    stdout, stderr = again.communicate(timeout=600)
    assert again.returncode == 0, stderr[-3000:]
    assert "already in the output" in stdout
    assert "0 │ environment images built" in stdout
    events = engine.events(
        since=since,
        until=datetime.now(UTC),
        decode=True,
        filters={"type": "container", "event": "create", "label": f"taskforge.pid={again.pid}"},
    )
    try:
        created = list(events)
    finally:
        events.close()
    assert created == []  # no test run (other processes may use the engine meanwhile)
    assert {i.id for i in engine.images.list(name="taskforge-env/taskforge__tinytext")} == images
    assert sorted(shards()) == before_rerun  # nothing rewritten, nothing added
