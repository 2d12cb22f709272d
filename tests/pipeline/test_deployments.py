"""Schedules groups and the deployments made of them, read back from a real Prefect server.

``taskforge deploy`` runs as a user runs it (a subprocess) against the session's Prefect server
(``prefect_api``); the deployments are read back with Prefect's own client: their cron
schedule, parameters, entrypoint, pull steps and job variables. The entrypoint is then loaded
the way a worker loads it, from another folder, so the flow comes from the installed package.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.responses import DeploymentResponse
from prefect_docker.worker import DockerWorker

from pipeline.backfill.request import RunnerKind
from pipeline.core.errors import UserInputError
from pipeline.orchestration.deployments import ENTRYPOINT
from pipeline.orchestration.schedules import ROOT_ENV, load_schedules, resolve_on_worker
from tests import taskforge_cli

ROOT = Path(__file__).resolve().parents[2]
GROUP = '[[group]]\nname = "{name}"\ncron = "{cron}"\nout = "{out}"\n{extra}repos = [{repos}]\n'


def schedules_file(path: Path, *groups: dict[str, str]) -> Path:
    defaults = {
        "cron": "0 4 * * *",
        "out": "o",
        "extra": "",
        "repos": '{ source = "s", repo = "o/n" }',
    }
    path.write_text("".join(GROUP.format(**{**defaults, **g}) for g in groups))
    return path


def test_committed_schedules_are_valid() -> None:
    schedules = load_schedules()
    assert schedules.groups
    for group in schedules.groups:
        assert group.repos and len(group.cron.split()) == 5
        request = group.request_for(group.repos[0])
        assert request.repo.count("/") == 1


def test_no_prefect_yaml_writes_schedules_or_worker_paths_twice() -> None:
    assert not (ROOT / "prefect.yaml").exists()  # the schedules file is the one source


def test_a_group_pushes_to_its_registry_or_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "schedules.toml"
    path.write_text(
        '[[group]]\nname = "a"\ncron = "0 4 * * *"\nout = "o"\ninstance_images = true\n'
        'registry = "127.0.0.1:5000/team"\nrepos = [{ source = "s", repo = "o/n" }]\n'
        '[[group]]\nname = "b"\ncron = "0 4 * * *"\nout = "o"\n'
        'repos = [{ source = "s", repo = "o/n" }]\n'
    )
    first, second = load_schedules(path).groups
    request = first.request_for(first.repos[0])
    assert request.registry == "127.0.0.1:5000/team" and request.instance_images
    monkeypatch.delenv("TASKFORGE_PUSH_REGISTRY", raising=False)
    assert second.request_for(second.repos[0]).registry is None
    monkeypatch.setenv("TASKFORGE_PUSH_REGISTRY", "registry.example.org/tf")
    assert second.request_for(second.repos[0]).registry == "registry.example.org/tf"
    monkeypatch.setenv("TASKFORGE_PUSH_REGISTRY", "no registry here")
    with pytest.raises(UserInputError, match="HOST\\[:PORT\\]/NAMESPACE"):
        second.request_for(second.repos[0])


def test_a_group_may_name_its_work_folder(tmp_path: Path) -> None:
    schedules = tmp_path / "schedules.toml"
    entry = '\nrepos = [{ source = "o/n", repo = "o/n" }]\n'
    schedules.write_text(
        f'[[group]]\nname = "a"\ncron = "0 4 * * *"\nout = "{tmp_path / "a"}"{entry}'
        f'[[group]]\nname = "b"\ncron = "0 4 * * *"\nout = "{tmp_path / "b"}"\n'
        f'work_dir = "{tmp_path / "b-work"}"{entry}'
    )
    default, named = (g.request_for(g.repos[0]) for g in load_schedules(schedules).groups)
    assert named.layout().work == tmp_path / "b-work"
    assert default.layout().work.parent == default.cache_dir / "work"


def test_a_group_bounds_its_runs_as_the_cli_options_do(tmp_path: Path) -> None:
    extra = 'workers = 2\ntask_runner = "dask://10.0.0.5:8786"\nmemory = "512m"\ncpus = 0.5\n'
    path = schedules_file(tmp_path / "s.toml", {"name": "a", "extra": extra}, {"name": "b"})
    bounded, default = (g.request_for(g.repos[0]) for g in load_schedules(path).groups)
    assert bounded.workers == 2 and bounded.memory == "512m" and bounded.cpus == 0.5
    assert bounded.task_runner.kind is RunnerKind.DASK_ADDRESS
    assert bounded.task_runner.address == "10.0.0.5:8786"
    assert default.task_runner.kind is RunnerKind.THREADS and default.memory == "2g"


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        ("workers = 0\n", "[[group]] 1, workers: Input should be greater than or equal to 1"),
        ('workers = "two"\n', "[[group]] 1, workers"),
        ('task_runner = "ray"\n', "task_runner takes threads, dask or dask://HOST:PORT"),
        ('memory = "lots"\n', "memory takes a size such as 2g or 512m"),
        ("cpus = 0\n", "[[group]] 1, cpus"),
        ("wokers = 2\n", "[[group]] 1, wokers: Extra inputs are not permitted"),
    ],
)
def test_bad_bounds_are_one_line_naming_the_field(tmp_path: Path, extra: str, text: str) -> None:
    path = schedules_file(tmp_path / "s.toml", {"name": "a", "extra": extra})
    with pytest.raises(UserInputError, match="is not a valid schedules file") as raised:
        load_schedules(path)
    assert text in str(raised.value) and "\n" not in str(raised.value)


def test_relative_paths_resolve_on_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = schedules_file(tmp_path / "s.toml", {"name": "a", "out": "data/out/a"})
    (group,) = load_schedules(path).groups
    monkeypatch.setenv(ROOT_ENV, str(tmp_path / "root"))
    monkeypatch.delenv("TASKFORGE_CACHE", raising=False)
    request = group.request_for(group.repos[0])
    assert request.out == tmp_path / "root" / "data" / "out" / "a"
    assert request.cache_dir == tmp_path / "root" / "data" / "cache"
    assert resolve_on_worker(tmp_path / "abs", "x") == tmp_path / "abs"


def test_a_process_workers_temporary_folder_is_no_place_for_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    monkeypatch.delenv(ROOT_ENV, raising=False)
    with tempfile.TemporaryDirectory(suffix="prefect") as worker_folder:  # as the worker makes it
        monkeypatch.chdir(worker_folder)
        with pytest.raises(UserInputError, match=f"set {ROOT_ENV} in the worker's environment"):
            resolve_on_worker(Path("data/out/a"), "group a: out")
        assert resolve_on_worker(tmp_path / "o", "group a: out") == tmp_path / "o"


@pytest.fixture
def pools(prefect_api: str) -> Iterator[tuple[SyncPrefectClient, str, str]]:
    """A process pool and a Docker pool (prefect-docker's own base job template)."""
    from uuid import uuid4

    suffix = uuid4().hex[:8]
    process, docker = f"tf-process-{suffix}", f"tf-docker-{suffix}"
    with SyncPrefectClient(prefect_api) as client:
        client.create_work_pool(WorkPoolCreate(name=process, type="process"))
        template = DockerWorker.get_default_base_job_template()
        client.create_work_pool(
            WorkPoolCreate(name=docker, type="docker", base_job_template=template)
        )
        yield client, process, docker


def deployment(client: SyncPrefectClient, group: str) -> DeploymentResponse:
    return client.read_deployment_by_name(f"taskforge-scheduled/backfill-{group}")


def test_deploy_registers_one_deployment_per_group_on_a_process_pool(
    pools: tuple[SyncPrefectClient, str, str], tmp_path: Path
) -> None:
    client, process, _docker = pools
    path = schedules_file(
        tmp_path / "s.toml",
        {"name": "proc-a", "cron": "15 2 * * *", "extra": "workers = 2\n"},
        {"name": "proc-b", "cron": "0 5 * * 1"},
    )
    result = taskforge_cli.run("deploy", "--pool", process, "--schedules", str(path))
    assert result.returncode == 0, result.stderr
    assert "backfill-proc-a on pool" in result.stdout and "backfill-proc-b" in result.stdout
    groups = {g.name: g for g in load_schedules(path).groups}
    for name, cron in (("proc-a", "15 2 * * *"), ("proc-b", "0 5 * * 1")):
        found = deployment(client, name)
        assert found.work_pool_name == process
        assert found.entrypoint == ENTRYPOINT  # a module path: imported from the package
        assert not found.pull_steps and found.path is None  # no checkout path, no pull step
        assert found.job_variables == {}  # nothing of the deployer's machine
        (schedule,) = found.schedules
        assert getattr(schedule.schedule, "cron", None) == cron
        assert getattr(schedule.schedule, "timezone", None) == "UTC"
        assert found.parameters["group"] == name
        assert found.parameters["definition"] == groups[name].model_dump(mode="json")
    assert deployment(client, "proc-a").parameters["definition"]["workers"] == 2


def test_a_worker_loads_the_entrypoint_from_the_installed_package(tmp_path: Path) -> None:
    load = (
        "from prefect.flows import load_flow_from_entrypoint; "
        f"flow = load_flow_from_entrypoint({ENTRYPOINT!r}, use_placeholder_flow=False); "
        "print(flow.name, flow.fn.__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", load], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["taskforge-scheduled", "pipeline.orchestration.flows"]


def test_deploy_on_a_docker_pool_mounts_the_engine_the_cache_and_the_output(
    pools: tuple[SyncPrefectClient, str, str], tmp_path: Path
) -> None:
    client, _process, docker = pools
    path = schedules_file(tmp_path / "s.toml", {"name": "dock-a", "out": "data/out/a"})
    result = taskforge_cli.run(
        "deploy", "--pool", docker, "--image", "taskforge:1", "--schedules", str(path),
        "--out-volume", "/srv/taskforge/out",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = deployment(client, "dock-a")
    assert found.work_pool_name == docker and found.entrypoint == ENTRYPOINT
    assert found.job_variables == {
        "image": "taskforge:1",
        "volumes": [
            "/var/run/docker.sock:/var/run/docker.sock",
            "taskforge-cache:/taskforge/cache",
            "/srv/taskforge/out:/taskforge/out",
        ],
        "env": {"TASKFORGE_CACHE": "/taskforge/cache", ROOT_ENV: "/taskforge/out"},
    }
    # the relative out of the group, as the container's run resolves it: in the output volume
    (group,) = load_schedules(path).groups
    env = found.job_variables["env"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        request = group.request_for(group.repos[0])
    assert request.out == Path("/taskforge/out/data/out/a")
    assert request.layout().work.is_relative_to("/taskforge/cache")


@pytest.mark.parametrize(
    ("args", "group", "text"),
    [
        (["--image", "tf:1"], {"out": "/data/out"}, "/data/out is inside the flow's container"),
        ([], {}, "is a Docker pool: give --image"),
    ],
)
def test_deploy_refuses_what_a_docker_pool_would_lose(
    pools: tuple[SyncPrefectClient, str, str],
    tmp_path: Path,
    args: list[str],
    group: dict[str, str],
    text: str,
) -> None:
    _client, _process, docker = pools
    path = schedules_file(tmp_path / "s.toml", {"name": "lost", **group})
    result = taskforge_cli.run("deploy", "--pool", docker, "--schedules", str(path), *args)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and text in line


def test_deploy_needs_a_pool_that_exists_and_a_server(prefect_api: str, tmp_path: Path) -> None:
    path = schedules_file(tmp_path / "s.toml", {"name": "nopool"})
    result = taskforge_cli.run("deploy", "--pool", "no-such-pool", "--schedules", str(path))
    assert result.returncode == 2
    assert "prefect work-pool create no-such-pool --type process" in result.stderr
    result = taskforge_cli.run(
        "deploy", "--pool", "p", "--schedules", str(path), env={"PREFECT_API_URL": ""}
    )
    assert result.returncode == 2 and "prefect server start" in result.stderr
