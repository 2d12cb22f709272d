"""Shared fixtures: the sample repository, a Docker client, its environment image, and an S3
server (moto's, ``s3_server``; ``s3`` gives a test a fresh bucket and points the environment at
it, as a user points taskforge at MinIO with ``AWS_ENDPOINT_URL``).

Docker tests are marked ``docker``. Where no engine answers they are skipped on a
developer's machine but fail in CI (``CI`` set), so a CI run never passes without them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import git
import pytest

from dockerfiles.environment import Environment, prepare_environment
from pipeline.core.engine import docker_client
from pipeline.core.errors import DockerUnavailable
from pipeline.dataset.filesystems import filesystem_of
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, write_sample_repo
from tests.services import S3Service


@pytest.fixture(scope="session")
def sample_repo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_repo(tmp_path_factory.mktemp("sample") / "tinytext")


@pytest.fixture(scope="session")
def sample_repo(sample_repo_path: Path) -> git.Repo:
    return git.Repo(sample_repo_path)


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    try:
        client = docker_client()
    except DockerUnavailable as error:
        if os.environ.get("CI"):
            pytest.fail(f"Docker tests must run in CI: {error}")
        pytest.skip(f"no Docker engine: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def sample_env(
    engine: docker.DockerClient, sample_repo: git.Repo, tmp_path_factory: pytest.TempPathFactory
) -> Environment:
    """The sample repository's environment image, built once per session (or reused)."""
    head = sample_repo.head.commit.hexsha
    logs = tmp_path_factory.mktemp("logs")
    return prepare_environment(engine, sample_repo, SAMPLE_REPO_NAME, head, logs)


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for the session; CLI runs in tests connect to it.

    Every ``taskforge`` process would otherwise start its own server (``local_api``, a few
    seconds each); with ``PREFECT_API_URL`` set they share this one, so the suite pays the
    start-up once. It runs Prefect's services, as the server of a deployment does.
    """
    from pipeline.orchestration.prefect_server import local_api

    home = tmp_path_factory.mktemp("prefect-home")
    previous = os.environ.pop("PREFECT_API_URL", None)  # the suite's own server, not another
    try:
        with local_api(home / "server.log", home=home, services=True) as wait_ready:
            wait_ready()
            yield os.environ["PREFECT_API_URL"]
    finally:
        if previous is not None:
            os.environ["PREFECT_API_URL"] = previous


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real registry (Debian's docker-registry) on a free loopback port: ``HOST:PORT``."""
    from tests.services import registry as start_registry

    with start_registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


@pytest.fixture(scope="session")
def swebench_python() -> Path:
    """A Python with SWE-bench's harness from PyPI, in a virtualenv of its own."""
    from tests.services import swebench_python as make

    return make()


@pytest.fixture
def second_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another Docker engine with its own data root, which has never built an image."""
    from tests.services import second_engine as start_engine

    with start_engine(tmp_path_factory.mktemp("engine2")) as host:
        yield host


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    """moto's S3 server on a free loopback port, for the session."""
    from tests.services import moto_s3

    with moto_s3(tmp_path_factory.mktemp("moto")) as service:
        yield service


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the session's S3 server; the test's environment points at it."""

    service: S3Service
    name: str

    def url(self, prefix: str = "dataset") -> str:
        return f"s3://{self.name}/{prefix}"


@pytest.fixture
def s3(s3_server: S3Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    filesystem_of.cache_clear()  # opened from this environment, not an earlier test's
    yield S3Bucket(s3_server, s3_server.create_bucket(f"tf-{uuid.uuid4().hex[:12]}"))
    filesystem_of.cache_clear()
