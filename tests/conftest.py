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


@pytest.fixture(scope="session")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Prefect server for the session; CLI runs in tests connect to it.

    Every ``taskforge`` process would otherwise start its own temporary server (10-20 s each);
    with ``PREFECT_API_URL`` set they share this one, so the suite pays the start-up once.
    """
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = tmp_path_factory.mktemp("prefect-home")
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            pytest.fail(f"the Prefect server did not start; see {home / 'server.log'}")
        time.sleep(0.5)
    previous = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = url
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = previous
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
