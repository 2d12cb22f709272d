"""Machines of a cluster, stood in for on one machine: a git server and a Dask cluster.

- ``git_daemon``: git's own server (``git daemon``, in Debian's git) exporting a folder on a
  free loopback port, so workers clone a URL instead of opening the flow machine's path;
- ``sample_backfill``: the arguments of a backfill of the sample repository from its URL on a
  cluster, images through a registry; ``containers_created``: which process started the test
  runs an engine ran;
- ``dask_cluster``: a Dask scheduler and one worker process per given environment (each its
  own ``DOCKER_HOST`` and ``TASKFORGE_CACHE``: its own engine and disk), without nannies, so a
  worker killed with SIGKILL stays dead, as a machine that goes away does.

Each starter waits until its service answers and stops it when the ``with`` block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import docker

from pipeline.demo.sample_repo import SAMPLE_REPO_NAME
from tests.services import free_port, wait_until


@contextmanager
def git_daemon(base: Path, log: Path) -> Iterator[str]:
    """Serve every repository under ``base``; yields the URL prefix ``git://127.0.0.1:PORT``."""
    port = free_port()
    command = ["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={base}"]
    command += ["--listen=127.0.0.1", f"--port={port}", "--informative-errors", str(base)]
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=output)
    url = f"git://127.0.0.1:{port}"
    first = next(p for p in sorted(base.iterdir()) if p.is_dir())
    try:

        def answers() -> bool:
            probe = ["git", "ls-remote", f"{url}/{first.name}"]
            return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0

        wait_until(answers, "git daemon", log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@dataclass
class DaskCluster:
    """A running scheduler's address and its worker processes, in the order given."""

    address: str  # HOST:PORT, as ``--task-runner dask://HOST:PORT`` takes it
    workers: list[subprocess.Popen[bytes]]

    def kill(self, index: int) -> None:
        """Kill worker ``index`` with SIGKILL, as a machine that dies."""
        os.kill(self.workers[index].pid, signal.SIGKILL)
        self.workers[index].wait(timeout=30)


@contextmanager
def dask_cluster(root: Path, environments: list[dict[str, str]]) -> Iterator[DaskCluster]:
    """A scheduler and one single-threaded worker per entry of ``environments``."""
    from distributed import Client

    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    processes = []
    log = root / "scheduler.log"
    with log.open("w") as output:
        processes.append(
            subprocess.Popen(
                [*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                stdout=output,
                stderr=output,
                cwd=root,
            )
        )
    workers = []
    for number, extra in enumerate(environments):
        worker_log = root / f"worker-{number}.log"
        command = [sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://{address}"]
        command += ["--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", f"w{number}"]
        with worker_log.open("w") as output:
            workers.append(
                subprocess.Popen(
                    command,
                    stdout=output,
                    stderr=output,
                    cwd=root,
                    env={**os.environ, **extra},
                )
            )
    try:
        with Client(f"tcp://{address}", timeout=60) as client:  # type: ignore[no-untyped-call]
            client.wait_for_workers(len(environments), timeout=120)
        yield DaskCluster(address=address, workers=workers)
    finally:
        for process in [*workers, *processes]:
            with suppress(ProcessLookupError):
                process.terminate()
        for process in [*workers, *processes]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def sample_backfill(url: str, out: Path | str, registry: str, *options: str) -> list[str]:
    """``taskforge backfill`` of the sample repository at ``url``, pushing to ``registry``."""
    common = ["--repo", SAMPLE_REPO_NAME, "--out", str(out), "--registry", f"{registry}/taskforge"]
    return ["backfill", url, *common, *options]


def containers_created(host: str | None, since: datetime) -> Counter[str]:
    """How many test-run containers each process (its ``taskforge.pid``) created on the engine
    ``host`` (None: this process's) since then."""
    client = docker.DockerClient(base_url=host) if host else docker.from_env()
    with closing(client):
        events = client.events(
            since=since,
            until=datetime.now(UTC),
            decode=True,
            filters={"type": "container", "event": "create", "label": "taskforge=test-run"},
        )
        try:
            return Counter(e["Actor"]["Attributes"]["taskforge.pid"] for e in events)
        finally:
            events.close()
