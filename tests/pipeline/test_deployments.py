"""prefect.yaml and pipeline/orchestration/schedules.toml agree with the code they name."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from pipeline.core.errors import UserInputError
from pipeline.orchestration.schedules import load_schedules

ROOT = Path(__file__).resolve().parents[2]


def test_prefect_yaml_names_real_flows_and_groups() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    groups = {g.name for g in load_schedules().groups}
    pools = set()
    for deployment in config["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        parameters = set(inspect.signature(flow.fn).parameters)
        assert set(deployment["parameters"]) <= parameters
        assert deployment["parameters"]["group"] in groups
        for schedule in deployment.get("schedules", []):
            assert len(schedule["cron"].split()) == 5
        pools.add(deployment["work_pool"]["name"])
    assert pools == {"taskforge-process", "taskforge-docker"}


def test_committed_schedules_are_valid() -> None:
    schedules = load_schedules()
    assert schedules.groups
    for group in schedules.groups:
        assert group.repos and len(group.cron.split()) == 5
        request = group.request_for(group.repos[0])
        assert request.repo.count("/") == 1


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
