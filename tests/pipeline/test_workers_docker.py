"""Workers that share nothing but the network, on one machine standing in for three.

The flow machine is this process's engine; two Dask workers each have their own Docker engine
(``dockerd`` with its own socket, data root and bridge) and their own cache folder. The
repository is served by ``git daemon``, images travel through a local registry by digest, and
the dataset is written to an S3-compatible server (moto's). The
test runs' containers carry the pid of the process that started them (``taskforge.pid``), so
each engine's events tell which worker ran what.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, closing
from datetime import UTC, datetime
from pathlib import Path

import docker
import polars as pl
import pytest

from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, write_sample_repo
from tests.cluster import DaskCluster, containers_created, dask_cluster, git_daemon, sample_backfill
from tests.conftest import S3Bucket
from tests.pipeline.test_demo_docker import EXPECTED_FAIL_TO_PASS, EXPECTED_PASS_TO_PASS
from tests.services import second_engine
from tests.taskforge_cli import outcomes, parquet_frame, start, verified_lists

pytestmark = pytest.mark.docker

DESIGNED = {n: o.value for n, o in DESIGNED_OUTCOMES.items()}


@pytest.fixture(scope="module")
def worker_engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """Two more engines, one per worker machine: their DOCKER_HOSTs."""
    with ExitStack() as stack:
        hosts = [
            stack.enter_context(second_engine(tmp_path_factory.mktemp(f"engine{n}"), 200 + n))
            for n in (1, 2)
        ]
        yield hosts


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample repository's git URL."""
    base = tmp_path_factory.mktemp("served")
    write_sample_repo(base / "tinytext")
    with git_daemon(base, base.parent / "git-daemon.log") as url:
        yield f"{url}/tinytext"


def cluster_for(root: Path, engines: list[str]) -> list[dict[str, str]]:
    """Each worker's environment: its own engine and its own cache folder."""
    return [
        {"DOCKER_HOST": host, "TASKFORGE_CACHE": str(root / f"worker-{n}-cache")}
        for n, host in enumerate(engines)
    ]


def backfill_on(
    cluster: DaskCluster, url: str, out: Path | str, registry: str, cache: Path
) -> list[str]:
    runner = f"dask://{cluster.address}"
    options = ["--task-runner", runner, "--cache-dir", str(cache), "--workers", "2"]
    return sample_backfill(url, out, registry, *options)


def instance_counts(out: Path | str) -> Counter[str]:
    """How many rows each instance id has over both tables, a folder's or a bucket's."""
    frames = [parquet_frame(out, table) for table in ("data", "rejected")]
    present = [frame for frame in frames if frame is not None]
    return Counter(pl.concat(present, how="diagonal_relaxed")["instance_id"].to_list())


def test_two_workers_with_their_own_engines_give_the_same_dataset(
    engine: docker.DockerClient,
    tmp_path: Path,
    prefect_api: str,
    registry: str,
    worker_engines: list[str],
    served: str,
    s3: S3Bucket,
) -> None:
    """The output is on the S3 server: the third machine every one of them reaches."""
    out = s3.url("workers")
    since = datetime.now(UTC)
    with dask_cluster(tmp_path / "dask", cluster_for(tmp_path, worker_engines)) as cluster:
        args = backfill_on(cluster, served, out, registry, tmp_path / "flow-cache")
        backfill = start(*args)
        _, stderr = backfill.communicate(timeout=900)
        worker_pids = [str(w.pid) for w in cluster.workers]
    assert backfill.returncode == 0, stderr[-3000:]
    assert verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert verified_lists(out, "PASS_TO_PASS") == EXPECTED_PASS_TO_PASS
    assert outcomes(out) == DESIGNED
    assert max(instance_counts(out).values()) == 1
    for number, host in enumerate(worker_engines):  # each worker ran tests on its own engine
        runners = containers_created(host, since)
        assert set(runners) == {worker_pids[number]}, (number, runners)
    on_flow_engine = containers_created(None, since)
    assert not set(on_flow_engine) & set(worker_pids), on_flow_engine  # no validation here
    # the workers cloned the URL into their own cache folders; the flow's path was never used
    for number in range(2):
        assert list((tmp_path / f"worker-{number}-cache" / "repos").glob("*tinytext.git"))


def test_a_killed_worker_loses_nothing(
    engine: docker.DockerClient,
    tmp_path: Path,
    prefect_api: str,
    registry: str,
    worker_engines: list[str],
    served: str,
) -> None:
    out = tmp_path / "out"
    since = datetime.now(UTC)
    with dask_cluster(tmp_path / "dask", cluster_for(tmp_path, worker_engines)) as cluster:
        args = backfill_on(cluster, served, out, registry, tmp_path / "flow-cache")
        backfill = start(*args)
        victim = str(cluster.workers[0].pid)
        with closing(docker.DockerClient(base_url=worker_engines[0])) as first:
            deadline = time.monotonic() + 600
            while not first.containers.list(
                filters={"label": ["taskforge=test-run", f"taskforge.pid={victim}"]}
            ):  # the first worker is running a validation's tests
                assert backfill.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
            cluster.kill(0)
        _, stderr = backfill.communicate(timeout=900)
        survivor = str(cluster.workers[1].pid)
    assert backfill.returncode == 0, stderr[-3000:]
    assert outcomes(out) == DESIGNED  # no gap
    assert max(instance_counts(out).values()) == 1  # no duplicate
    assert verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert set(containers_created(worker_engines[1], since)) == {survivor}


def test_environments_built_on_a_worker_need_no_engine_on_the_flow_machine(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str, registry: str, served: str
) -> None:
    """With --build-on-workers the worker builds (here on the main engine, whose bridge reaches
    the package indexes) and pushes; the flow's DOCKER_HOST names no engine at all."""
    out = tmp_path / "out"
    main_engine = {"DOCKER_HOST": "unix:///var/run/docker.sock"}
    workers = [{**main_engine, "TASKFORGE_CACHE": str(tmp_path / "worker-cache")}]
    with dask_cluster(tmp_path / "dask", workers) as cluster:
        args = backfill_on(cluster, served, out, registry, tmp_path / "flow-cache")
        no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
        backfill = start(*args, "--build-on-workers", env=no_engine)
        _, stderr = backfill.communicate(timeout=900)
    assert backfill.returncode == 0, stderr[-3000:]
    assert outcomes(out) == DESIGNED
    assert verified_lists(out, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert list((tmp_path / "worker-cache" / "repos").glob("*tinytext.git"))
    verified = pl.read_parquet(out / "data" / "*.parquet")
    pull_refs = {image["pull_ref"] for image in verified["image"].to_list()}
    assert all(ref and ref.startswith(f"{registry}/taskforge/") for ref in pull_refs), pull_refs
