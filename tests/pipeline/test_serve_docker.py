"""`taskforge serve` against a real Prefect server: a scheduled deployment, run, with artifacts.

The session's Prefect server (``prefect_api``) stands in for the one a deployment needs. The
test serves a schedules file with one group (the sample repository), checks the deployment
and its cron schedule through the server's REST API, triggers a run, waits for it to complete,
and reads the run's yield table and markdown summary back as artifacts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import pytest

from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, write_sample_repo

pytestmark = pytest.mark.docker


def api(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read() or b"null")


def wait_for(probe: Any, what: str, timeout: float = 600) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}")


def test_serve_a_scheduled_deployment(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str
) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    schedules = tmp_path / "schedules.toml"
    schedules.write_text(
        '[[group]]\nname = "sample"\ncron = "0 4 * * *"\n'
        f'out = "{tmp_path / "out"}"\n'
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
    try:
        deployment = wait_for(
            lambda: api(prefect_api, "/deployments/name/taskforge-scheduled/backfill-sample"),
            "the deployment",
            timeout=120,
        )
        assert [s["schedule"]["cron"] for s in deployment["schedules"]] == ["0 4 * * *"]
        run = api(prefect_api, f"/deployments/{deployment['id']}/create_flow_run", {})
        final = wait_for(
            lambda: (
                lambda r: (
                    r
                    if r["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")
                    else None
                )
            )(api(prefect_api, f"/flow_runs/{run['id']}")),
            "the flow run",
        )
        assert final["state_type"] == "COMPLETED", (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        os.killpg(serving.pid, signal.SIGTERM)
        serving.wait(timeout=60)
    artifacts = api(
        prefect_api,
        "/artifacts/filter",
        {
            "artifacts": {
                "key": {"any_": ["yield-taskforge-tinytext", "summary-taskforge-tinytext"]}
            },
            "sort": "CREATED_DESC",
        },
    )
    fresh = [a for a in artifacts if a["created"] >= started.isoformat()]
    kinds = {a["type"] for a in fresh}
    assert kinds == {"table", "markdown"}
    table = next(a for a in fresh if a["type"] == "table")
    rows = json.loads(table["data"]) if isinstance(table["data"], str) else table["data"]
    assert {"stage": "verified", "count": 4} in rows
    assert list((tmp_path / "out" / "data").glob("train-*.parquet"))
