"""Validation on a local Dask cluster with two workers gives the same dataset as the threads.

The test runs' containers carry the pid of the process that started them, so the test can tell
that Dask's worker processes ran the validations.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import docker
import pytest

from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, write_sample_repo
from tests.cluster import containers_created
from tests.pipeline.test_demo_docker import EXPECTED_FAIL_TO_PASS, EXPECTED_PASS_TO_PASS
from tests.taskforge_cli import outcomes, start, verified_lists

pytestmark = pytest.mark.docker


def test_dask_cluster_gives_the_same_dataset(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    out = tmp_path / "out"
    since = datetime.now(UTC)
    backfill = start(
        "backfill",
        str(source),
        "--repo",
        SAMPLE_REPO_NAME,
        "--out",
        str(out),
        "--task-runner",
        "dask",
        "--workers",
        "2",
    )
    _, stderr = backfill.communicate(timeout=900)
    assert backfill.returncode == 0, stderr[-3000:]
    creators = set(containers_created(None, since))
    # test runs were started by Dask's worker processes, not only by the backfill's own
    assert creators - {str(backfill.pid)}, creators
    assert verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert verified_lists(out, "PASS_TO_PASS") == EXPECTED_PASS_TO_PASS
    assert outcomes(out) == {n: o.value for n, o in DESIGNED_OUTCOMES.items()}
