"""A scheduled deployment on a process work pool: bounded by ``workers``, replayed after a kill.

The group has two repositories (two sample repositories under their own names) and
``workers = 2``; its ``out`` and ``work_dir`` are relative, so they land under the worker's
``TASKFORGE_ROOT``. ``taskforge deploy`` registers it on a process pool of the session's
Prefect server (``prefect_api``) and ``prefect worker start`` runs it, importing the flow from
the installed package. The engine's container events are watched throughout: the test
containers (label ``taskforge=test-run``) of the worker's processes, each from its start to its
death, and running its tests from the moment its gate opens (the SIGUSR1 ``kill`` event) to its
death; a validation keeps its next run's container started and waiting at the gate, idle, so
the bound ``workers`` is a bound on tests running at once (``validators.sandbox``).

The first run is killed (SIGKILL of the worker and every process under it) once some
validations have finished (their results in ``WORK/results``) while others are running; the
rerun, by a new worker, must replay exactly those from the cache (task runs in state
``Cached``) and the dataset must end with every PR of both repositories once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import docker
import polars as pl
import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterParentFlowRunId,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
)

from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, write_sample_repo
from tests import taskforge_cli
from tests.pipeline.test_serve_docker import finished, wait_for

pytestmark = pytest.mark.docker

REPOS = ("taskforge/alpha", "taskforge/beta")
WORKERS = 2
GATE_SIGNAL = str(int(signal.SIGUSR1))


def parent_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = parent_of(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


@dataclass
class ContainerWatch:
    """Test containers of the processes under ``roots``, counted from the engine's events."""

    engine: docker.DockerClient
    roots: set[int] = field(default_factory=set)
    alive: set[str] = field(default_factory=set)
    running: set[str] = field(default_factory=set)
    peak_alive: int = 0
    peak_running: int = 0
    started: int = 0
    ours: dict[str, bool] = field(default_factory=dict)  # pid label -> under a root

    def is_ours(self, pid: str) -> bool:
        if pid not in self.ours:
            chain, current = set(), int(pid) if pid.isdigit() else None
            while current and current not in chain:
                chain.add(current)
                current = parent_of(current)
            self.ours[pid] = bool(chain & self.roots)
        return self.ours[pid]

    def handle(self, event: dict[str, Any]) -> None:
        attributes = event.get("Actor", {}).get("Attributes", {})
        if not self.is_ours(attributes.get("taskforge.pid", "")):
            return
        container, action = event["Actor"]["ID"], event.get("Action", "")
        if action == "start":
            self.alive.add(container)
            self.started += 1
        elif action == "kill" and attributes.get("signal") == GATE_SIGNAL:
            self.running.add(container)  # the gate opened: its tests run from now
        elif action == "die":
            self.alive.discard(container)
            self.running.discard(container)
        self.peak_alive = max(self.peak_alive, len(self.alive))
        self.peak_running = max(self.peak_running, len(self.running))


@pytest.fixture
def watch(engine: docker.DockerClient) -> Iterator[ContainerWatch]:
    watched = ContainerWatch(engine)
    events = engine.events(
        decode=True, filters={"type": "container", "label": "taskforge=test-run"}
    )

    def follow() -> None:
        for event in events:
            watched.handle(event)

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    yield watched
    events.close()


def start_worker(pool: str, root: Path, log: Path) -> subprocess.Popen[bytes]:
    prefect = Path(sys.executable).with_name("prefect")
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(prefect), "worker", "start", "--pool", pool, "--limit", "1"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "TASKFORGE_ROOT": str(root), "TASKFORGE_CACHE": ""},
        )


def kill_tree(worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker and every process under it (the flow run's own session too)."""
    for pid in reversed(descendants(worker.pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=30)


def task_runs_of(client: SyncPrefectClient, parent: UUID) -> list[Any]:
    subflows = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent])
        )
    )
    ids = [run.id for run in subflows]
    return client.read_task_runs(
        task_run_filter=TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=ids)), limit=200
    )


def test_a_deployment_run_is_bounded_by_workers_and_replays_after_a_kill(
    engine: docker.DockerClient, tmp_path: Path, prefect_api: str, watch: ContainerWatch
) -> None:
    sources = [write_sample_repo(tmp_path / name.split("/")[1]) for name in REPOS]
    repos = ", ".join(
        f'{{ source = "{source}", repo = "{name}" }}'
        for source, name in zip(sources, REPOS, strict=True)
    )
    schedules = tmp_path / "schedules.toml"
    schedules.write_text(
        '[[group]]\nname = "pair"\ncron = "0 4 * * *"\nout = "out"\nwork_dir = "work"\n'
        f"workers = {WORKERS}\nrepos = [{repos}]\n"
    )
    root = tmp_path / "root"
    out, results = root / "out", root / "work" / "results"
    pool = f"tf-run-{uuid4().hex[:8]}"
    with SyncPrefectClient(prefect_api) as client:
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        deployed = taskforge_cli.run("deploy", "--pool", pool, "--schedules", str(schedules))
        assert deployed.returncode == 0, deployed.stderr
        deployment = client.read_deployment_by_name("taskforge-scheduled/backfill-pair")

        worker = start_worker(pool, root, tmp_path / "worker-1.log")
        watch.roots.add(worker.pid)
        first = client.create_flow_run_from_deployment(deployment.id)

        def validations_done() -> list[Path]:
            return list(results.glob("validation-*")) if results.is_dir() else []

        def kill_point() -> bool:
            assert worker.poll() is None, (tmp_path / "worker-1.log").read_text()[-3000:]
            return len(validations_done()) >= 2 and len(watch.running) >= 1

        wait_for(lambda: kill_point() or None, "validations finished and running", timeout=900)
        kill_tree(worker)
        replayable = {path.name for path in validations_done()}
        killed_peak = watch.peak_running

        worker = start_worker(pool, root, tmp_path / "worker-2.log")
        watch.roots.add(worker.pid)
        second = client.create_flow_run_from_deployment(deployment.id)
        try:
            final = wait_for(lambda: finished(client, second.id), "the rerun", timeout=900)
        finally:
            kill_tree(worker)
        assert final.state is not None
        assert final.state.is_completed(), (tmp_path / "worker-2.log").read_text()[-3000:]
        reran = task_runs_of(client, second.id)
        first_state = client.read_flow_run(first.id).state

    print(
        f"\npeak concurrent test containers running their tests: {watch.peak_running} "
        f"(workers = {WORKERS}); started and not yet dead (a validation's next run waits "
        f"at its gate): {watch.peak_alive}; test containers started: {watch.started}; "
        f"validations replayed after the kill: {len(replayable)} "
        f"(peak before the kill: {killed_peak}); first run left {first_state and first_state.name}"
    )
    assert 1 <= watch.peak_running <= WORKERS
    cached = [r for r in reran if r.name.startswith("validate") and r.state_name == "Cached"]
    assert len(replayable) >= 2 and len(cached) == len(replayable)

    frames = [
        pl.read_parquet(p) for p in [*out.glob("data/*.parquet"), *out.glob("rejected/*.parquet")]
    ]
    ids = [i for frame in frames for i in frame["instance_id"]]
    expected = {f"{name.replace('/', '__')}-{n}" for name in REPOS for n in DESIGNED_OUTCOMES}
    assert len(ids) == len(set(ids))  # no duplicate
    assert set(ids) == expected  # no gap
    assert not list(out.rglob("*.tmp"))
