"""Scale-out figures on one machine standing in for three; figures, never timed asserts.

- throughput with one worker engine and with two: the sample backfilled on a Dask cluster of
  one worker (its own engine), then of two (each its own engine), in the same session, images
  already pulled, so the ratio is of validation alone;
- registry pull cost per task: a cold pull of the environment image by digest into an empty
  engine, divided by the validations that share it in the run.

The flow machine builds and pushes (a warm-up backfill with ``--registry``); workers pull by
digest; the repository is served by ``git daemon`` (``tests.cluster``).
"""

from __future__ import annotations

import time
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import docker
import pytest

from pipeline.core.images import ensure_image
from pipeline.demo.sample_repo import write_sample_repo
from tests.benchmarks.bench_pipeline import tasks_of, validated
from tests.cluster import dask_cluster, git_daemon, sample_backfill
from tests.services import second_engine
from tests.taskforge_cli import run

pytestmark = pytest.mark.docker


def backfill(url: str, out: Path, registry: str, *args: str) -> float:
    started = time.monotonic()
    work = ["--work-dir", str(out.with_name(out.name + "-work"))]
    done = run(*sample_backfill(url, out, registry, *work, *args), timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.monotonic() - started


def test_scale_out(
    figures: dict[str, Any], tmp_path: Path, registry: str, prefect_api: str
) -> None:
    base = tmp_path / "served"
    write_sample_repo(base / "tinytext")
    with ExitStack() as stack:
        url = stack.enter_context(git_daemon(base, tmp_path / "git-daemon.log")) + "/tinytext"
        backfill(url, tmp_path / "warm", registry)  # built and pushed by the flow machine
        tasks = validated(tasks_of(tmp_path / "warm"))
        images = {t.image.pull_ref: t.image for t in tasks if t.image}
        hosts = [
            stack.enter_context(second_engine(tmp_path / f"engine{n}", 210 + n)) for n in (1, 2)
        ]
        pulls = []
        for host in hosts:  # cold: these engines have never pulled anything
            with closing(docker.DockerClient(base_url=host, timeout=600)) as client:
                for image in images.values():
                    started = time.monotonic()
                    ensure_image(client, image)
                    pulls.append(time.monotonic() - started)
        walls = {}
        for count in (1, 2):
            workers = [
                {"DOCKER_HOST": h, "TASKFORGE_CACHE": str(tmp_path / f"c{count}-{n}")}
                for n, h in enumerate(hosts[:count])
            ]
            with dask_cluster(tmp_path / f"dask{count}", workers) as cluster:
                out = tmp_path / f"out{count}"
                runner = f"dask://{cluster.address}"
                walls[count] = backfill(url, out, registry, "--task-runner", runner)
    per_environment = len(tasks) / max(1, len(images))
    pull_s = sum(pulls) / len(pulls)
    measured = {
        "one_engine_s": round(walls[1], 1),
        "two_engines_s": round(walls[2], 1),
        "validations": len(tasks),
        "pull_s_per_image": round(pull_s, 2),
    }
    print(f"\nscale-out: {measured}")
    figures["throughput_two_engines_ratio"] = round(walls[1] / walls[2], 2)
    figures["registry_pull_s_per_task"] = round(pull_s / per_environment, 2)
    figures["registry_pull_s_per_image"] = round(pull_s, 2)
