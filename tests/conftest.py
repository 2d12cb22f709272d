"""Shared fixtures: the sample repository, a Docker client, and its environment image.

Docker tests are marked ``docker``. Where no engine answers they are skipped on a
developer's machine but fail in CI (``CI`` set), so a CI run never passes without them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import docker
import git
import pytest

from dockerfiles.environment import Environment, prepare_environment
from pipeline.errors import DockerUnavailable
from pipeline.sample_repo import SAMPLE_REPO_NAME, write_sample_repo
from validators.sandbox import docker_client


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
