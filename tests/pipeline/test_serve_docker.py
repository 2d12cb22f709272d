"""`taskforge serve` against a real Prefect server: a scheduled deployment, run, with artifacts.

The session's Prefect server (``prefect_api``) stands in for the one a deployment needs. The
test serves a schedules file with one group (the sample repository), checks the deployment
and its cron schedule through Prefect's own client, triggers a run, waits for it to complete,
and reads the run's yield table and markdown summary back as artifacts.

The client is Prefect's, not bare HTTP: a SQLite-backed server answers 503 while its database
is locked by the worker's writes, and Prefect's client retries those answers as a deployment's
clients do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import docker
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import ObjectNotFound

from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, write_sample_repo

pytestmark = pytest.mark.docker

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = 600) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except ObjectNotFound:
            found = None
        if found:
            return found
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def finished(client: SyncPrefectClient, run_id: UUID) -> FlowRun | None:
    run = client.read_flow_run(run_id)
    return run if run.state is not None and run.state.is_final() else None


def test_serve_a_scheduled_deployment(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    schedules = tmp_path / "schedules.toml"
    schedules.write_text(
        '[[group]]\nname = "sample"\ncron = "0 4 * * *"\n'
        f'out = "{tmp_path / "out"}"\n'
        f'work_dir = "{tmp_path / "work"}"\n'
        f'repos = [{{ source = "{source}", repo = "{SAMPLE_REPO_NAME}" }}]\n'
    )
    started = datetime.now(UTC)
    with (tmp_path / "serve.log").open("w") as log:
        serving = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from pipeline.cli.main import main; main()",
                "serve",
                "--schedules",
                str(schedules),
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            env={**os.environ},
        )
    client = SyncPrefectClient(prefect_api)
    try:
        with client:
            deployment = wait_for(
                lambda: client.read_deployment_by_name("taskforge-scheduled/backfill-sample"),
                "the deployment",
                timeout=120,
            )
            crons = [getattr(s.schedule, "cron", None) for s in deployment.schedules]
            assert crons == ["0 4 * * *"]
            run = client.create_flow_run_from_deployment(deployment.id)
            final = wait_for(lambda: finished(client, run.id), "the flow run")
            assert final.state is not None
            assert final.state.is_completed(), (tmp_path / "serve.log").read_text()[-3000:]
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(
                        any_=["yield-taskforge-tinytext", "summary-taskforge-tinytext"]
                    )
                ),
            )
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        serving.wait(timeout=60)
    fresh = [a for a in artifacts if a.created is not None and a.created >= started]
    assert {a.type for a in fresh} == {"table", "markdown"}
    table = next(a for a in fresh if a.type == "table")
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert isinstance(rows, list)
    assert {"stage": "verified", "count": 4} in rows
    assert list((tmp_path / "out" / "data").glob("train-*.parquet"))
    assert (tmp_path / "work" / "manifest.json").is_file()  # the group's work folder
