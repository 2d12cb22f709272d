"""``taskforge evaluate`` on the demo dataset: real patches, real containers, real pytest."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
import pytest

from pipeline.consumers.evaluate import EvaluationRequest, run_evaluation
from pipeline.consumers.predictions import EvaluationSummary, ReportLayout
from pipeline.consumers.task_repos import BaseTrees
from pipeline.core.records import ImageRef, Task, TestStatus
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.demo_dataset import Demo, demo_dataset
from tests.taskforge_cli import run
from validators.regrade import Resolution, grade_tree, graded_files
from validators.runner import run_result, run_tests
from validators.sandbox import SandboxLimits
from validators.states import apply_patch, python_path_for, tar_tree

pytestmark = pytest.mark.docker

LIMITS = SandboxLimits(timeout_s=120)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, prefect_api: str) -> Demo:
    return demo_dataset(tmp_path_factory)


def _predictions(path: Path, model: str, patches: dict[str, str]) -> Path:
    lines = [
        json.dumps({"instance_id": i, "model_name_or_path": model, "model_patch": p})
        for i, p in patches.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _evaluate(demo: Demo, tmp_path: Path, model: str, patches: dict[str, str]) -> EvaluationSummary:
    request = EvaluationRequest(
        out=demo.out,
        predictions=_predictions(tmp_path / f"{model}.jsonl", model, patches),
        report_dir=tmp_path / model,
        cache_dir=demo.cache,
        workers=2,
        limits=LIMITS,
    )
    return run_evaluation(request)


def _cheating(test_patch: str) -> str:
    """The test patch with every added assertion replaced by ``pass``: tests that always pass."""
    return re.sub(r"^\+(\s+)assert .*$", r"+\1pass", test_patch, flags=re.MULTILINE)


def test_gold_patches_resolve_all_and_a_rerun_skips_them(demo: Demo, tmp_path: Path) -> None:
    """``--predictions gold``: every verified task's own fix, as SWE-bench's harness takes it."""
    args = ["evaluate", "out", "--predictions", "gold", "--run-id", "gold-run"]
    args += ["--report", str(tmp_path / "r")]
    result = run(*args, "--workers", "2", "--timeout", "120", cwd=demo.folder, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["resolved_instances"], summary["resolved_rate"]) == (4, 1.0)
    assert summary["resolved_ids"] == sorted(t.instance_id for t in demo.tasks)
    assert summary["submitted_ids"] == summary["completed_ids"] == summary["resolved_ids"]
    assert (summary["run_id"], summary["unresolved_ids"], summary["error_ids"]) == (
        "gold-run",
        [],
        [],
    )
    for task in demo.tasks:
        report = json.loads((tmp_path / "r" / f"{task.instance_id}.json").read_text())
        assert (report["resolved"], report["reason"], report["model_name_or_path"]) == (
            True,
            "resolved",
            "gold",
        )
        assert report["FAIL_TO_PASS"] == dict.fromkeys(task.FAIL_TO_PASS, "passed")
        assert report["PASS_TO_PASS"] == dict.fromkeys(task.PASS_TO_PASS, "passed")
        assert "passed" in (tmp_path / "r" / "logs" / f"{task.instance_id}.log").read_text()
    written = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "r").glob("*__*.json")}

    again = run(*args, cwd=demo.folder, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "4 │ already graded (skipped)" in again.stdout
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["graded_now"] == 0
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "r").glob("*__*.json")} == written


def test_empty_patches_resolve_none(demo: Demo, tmp_path: Path) -> None:
    summary = _evaluate(demo, tmp_path, "empty", {t.instance_id: "" for t in demo.tasks})
    assert (summary.resolved_instances, summary.unresolved[Resolution.TESTS_FAIL]) == (0, 4)
    for task in demo.tasks:
        report = ReportLayout(tmp_path / "empty").read(task.instance_id)
        assert report is not None
        assert set(report.FAIL_TO_PASS.values()) <= {TestStatus.FAILED, TestStatus.ERROR}
        assert set(report.PASS_TO_PASS.values()) <= {TestStatus.PASSED}


def test_another_tasks_gold_patch_resolves_none(demo: Demo, tmp_path: Path) -> None:
    shifted = demo.tasks[1:] + demo.tasks[:1]
    patches = {t.instance_id: other.patch for t, other in zip(demo.tasks, shifted, strict=True)}
    summary = _evaluate(demo, tmp_path, "shifted", patches)
    assert summary.resolved_instances == 0
    assert summary.unresolved[Resolution.INFRASTRUCTURE] == 0


def test_a_patch_that_edits_the_tests_to_pass_is_not_resolved(demo: Demo, tmp_path: Path) -> None:
    patches = {t.instance_id: _cheating(t.test_patch) for t in demo.tasks}
    assert all(p != t.test_patch for p, t in zip(patches.values(), demo.tasks, strict=True))
    summary = _evaluate(demo, tmp_path, "cheat", patches)
    assert (summary.resolved_instances, summary.unresolved[Resolution.TESTS_FAIL]) == (0, 4)
    for task in demo.tasks:
        report = ReportLayout(tmp_path / "cheat").read(task.instance_id)
        assert report is not None  # the real tests ran, and failed
        assert set(report.FAIL_TO_PASS.values()) <= {TestStatus.FAILED, TestStatus.ERROR}


def test_without_the_reset_the_cheating_patch_would_pass(
    demo: Demo, engine: docker.DockerClient, tmp_path: Path
) -> None:
    """The check above is not vacuous: the cheat's own tests pass when nothing is reset."""
    task = demo.tasks[1]
    tree = tmp_path / "repo"
    BaseTrees(cache_dir=demo.cache).export(task, tree)
    apply_patch(tree, _cheating(task.test_patch), "cheat")
    assert task.image is not None
    targets = graded_files(task)
    run_ = run_tests(engine, task.image.tag, tar_tree(tree), targets, python_path_for(tree), LIMITS)
    report = run_result(run_, targets).report
    assert report is not None
    assert all(report.statuses[t] is TestStatus.PASSED for t in task.FAIL_TO_PASS)


class EngineFailingOnce:
    """A Docker client whose first container creation fails as an overloaded engine's does."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.failures = 0

    @property
    def containers(self) -> EngineFailingOnce:
        return self

    @property
    def images(self) -> Any:
        return self.client.images

    def create(self, *args: Any, **kwargs: Any) -> Any:
        if not self.failures:
            self.failures += 1
            raise docker.errors.APIError("500 Server Error: Internal Server Error (injected)")
        return self.client.containers.create(*args, **kwargs)


def test_an_infrastructure_failure_is_retried_and_never_the_models(
    demo: Demo, engine: docker.DockerClient
) -> None:
    task = demo.tasks[0]
    trees = BaseTrees(cache_dir=demo.cache)
    flaky = EngineFailingOnce(engine)
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "repo"
        base = trees.export(task, tree)
        apply_patch(tree, task.patch, "gold")
        grade = grade_tree(cast(docker.DockerClient, flaky), task, tree, base, LIMITS, 3, 0.1)
    assert flaky.failures == 1
    assert (grade.resolution, grade.attempts) == (Resolution.RESOLVED, 2)


def test_an_image_that_is_gone_is_infrastructure_and_graded_again(
    demo: Demo, tmp_path: Path
) -> None:
    task: Task = demo.tasks[0]
    gone = task.with_image(ImageRef(tag="taskforge-env/gone:nothing", id=""))
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    write_tasks(layout, [gone])
    request = EvaluationRequest(
        out=layout.root,
        predictions=_predictions(tmp_path / "p.jsonl", "gold", {task.instance_id: task.patch}),
        report_dir=tmp_path / "reports",
        cache_dir=demo.cache,
        attempts=2,
        retry_pause_s=0,
    )
    summary = run_evaluation(request)
    assert (summary.resolved_instances, summary.infrastructure) == (0, 1)
    report = ReportLayout(request.report_folder).read(task.instance_id)
    assert report is not None
    assert report.attempts == 2 and "is not in this Docker engine" in report.detail
    assert run_evaluation(request).graded_now == 1  # not final: the next run grades it again
