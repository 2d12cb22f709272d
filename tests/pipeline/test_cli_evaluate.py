"""``taskforge evaluate`` without Docker: bad input is one line, exit code 2, before any
container starts; a run whose reports are all final writes its summary and table."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest

from pipeline.consumers.predictions import (
    InstanceReport,
    Prediction,
    ReportLayout,
    gold_predictions,
)
from pipeline.core.records import Outcome, TestStatus
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error
from tests.taskforge_cli import run
from validators.regrade import Grade, Resolution


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    # no instance images: the base commits can come from a repository only
    tasks = [make_task(1), make_task(2, Outcome.DOCS_ONLY), make_task(3)]
    write_tasks(layout, [t.revised(instance_image=None) for t in tasks])
    return layout.root


def _predict(tmp_path: Path, *instance_ids: str) -> Path:
    path = tmp_path / "predictions.jsonl"
    lines = [
        json.dumps({"instance_id": i, "model_name_or_path": "m", "model_patch": ""})
        for i in instance_ids
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _evaluate(
    cwd: Path, out: Path, predictions: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return run(
        "evaluate",
        str(out),
        "--predictions",
        str(predictions),
        "--report",
        "reports",
        *extra,
        cwd=cwd,
        timeout=120,
    )


def test_a_missing_dataset(tmp_path: Path) -> None:
    result = _evaluate(tmp_path, tmp_path / "nope", _predict(tmp_path, "o__n-1"))
    assert_one_line_error(result, "nope is not a folder", 2)


def test_a_malformed_predictions_line(tmp_path: Path, dataset: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text('{"instance_id": "o__n-1", "model_name_or_path": "m"}\n{oops\n')
    result = _evaluate(tmp_path, dataset, predictions)
    assert_one_line_error(result, "p.jsonl line 2: not valid JSON", 2)


def test_unknown_and_unverified_instance_ids(tmp_path: Path, dataset: Path) -> None:
    result = _evaluate(tmp_path, dataset, _predict(tmp_path, "o__n-1", "o__n-11"))
    assert_one_line_error(
        result,
        f"predictions.jsonl line 2: no task o__n-11 in {dataset}; did you mean o__n-1, o__n-3?",
        2,
    )
    result = _evaluate(tmp_path, dataset, _predict(tmp_path, "o__n-2"))
    assert_one_line_error(result, "o__n-2 is not a verified task of", 2)
    assert "(docs_only)" in result.stderr


def test_base_commit_objects_that_no_source_holds(
    tmp_path: Path, dataset: Path, sample_repo_path: Path
) -> None:
    predictions = _predict(tmp_path, "o__n-1")
    result = _evaluate(tmp_path, dataset, predictions)
    assert_one_line_error(
        result,
        "o__n-1: base commit aaaaaaaaaaaa of o/n is not in the repositories in data/cache/ and "
        "the task has no instance image; pass --source with a clone, mirror or URL of o/n",
        2,
    )
    result = _evaluate(tmp_path, dataset, predictions, "--source", str(sample_repo_path))
    assert_one_line_error(result, f"is not in {sample_repo_path} and the task has no instance", 2)
    result = _evaluate(tmp_path, dataset, predictions, "--source", str(tmp_path / "gone"))
    assert_one_line_error(result, "gone does not exist", 2)
    assert not (tmp_path / "reports").exists()


def test_a_json_object_keyed_by_id_names_the_key(tmp_path: Path, dataset: Path) -> None:
    predictions = tmp_path / "preds.json"
    predictions.write_text(json.dumps({"o__n-1": {"instance_id": "o__n-3"}}))
    result = _evaluate(tmp_path, dataset, predictions)
    assert_one_line_error(result, 'preds.json key "o__n-1": instance_id "o__n-3" differs', 2)


def test_neither_report_nor_run_id(tmp_path: Path, dataset: Path) -> None:
    predictions = _predict(tmp_path, "o__n-1")
    result = run("evaluate", str(dataset), "--predictions", str(predictions), cwd=tmp_path)
    assert_one_line_error(result, "give --run-id NAME (reports to logs/run_evaluation/NAME/)", 2)
    result = run(
        "evaluate", str(dataset), "--predictions", "gold", "--run-id", "../x", cwd=tmp_path
    )
    assert_one_line_error(result, "--run-id '../x': a run id is letters, digits", 2)


def test_instance_filter_ids_must_be_verified_tasks(tmp_path: Path, dataset: Path) -> None:
    predictions = _predict(tmp_path, "o__n-1")
    result = _evaluate(tmp_path, dataset, predictions, "-i", "o__n-1", "--instance", "o__n-12")
    assert_one_line_error(result, f"--instance o__n-12: no task o__n-12 in {dataset}", 2)
    result = _evaluate(tmp_path, dataset, Path("gold"), "-i", "o__n-2")
    assert_one_line_error(result, "--instance o__n-2: o__n-2 is not a verified task of", 2)


def test_an_instance_filter_with_no_prediction_at_all(tmp_path: Path, dataset: Path) -> None:
    predictions = _predict(tmp_path, "o__n-1")
    result = _evaluate(tmp_path, dataset, predictions, "-i", "o__n-3")
    assert_one_line_error(result, "predictions.jsonl has no prediction for --instance o__n-3", 2)


def test_gold_checks_the_base_commits_of_the_chosen_tasks(tmp_path: Path, dataset: Path) -> None:
    result = run("evaluate", str(dataset), "--predictions", "gold", "--run-id", "g", cwd=tmp_path)
    assert_one_line_error(result, "error: o__n-1: base commit aaaaaaaaaaaa", 2)
    result = _evaluate(tmp_path, dataset, Path("gold"), "-i", "o__n-3")
    assert_one_line_error(result, "error: o__n-3: base commit aaaaaaaaaaaa", 2)
    assert not (tmp_path / "logs").exists()


def _final_report(prediction: Prediction, resolution: Resolution) -> InstanceReport:
    grade = Grade(resolution, "why", {"t::a": TestStatus.PASSED}, {}, 1.0, 1, "output")
    return InstanceReport.of(prediction, grade, 2.0, datetime(2024, 1, 2, tzinfo=UTC))


def test_a_run_whose_reports_are_final_writes_the_summary_without_docker(
    tmp_path: Path, sample_repo_path: Path
) -> None:
    """Every report final: nothing to grade, so no engine is asked; the summary and table."""
    head = git.Repo(sample_repo_path).head.commit.hexsha
    tasks = [make_task(n, base_commit=head) for n in (1, 3)]
    layout = DatasetLayout(tmp_path / "out")
    layout.prepare()
    write_tasks(layout, [*tasks, make_task(2, Outcome.DOCS_ONLY, base_commit=head)])
    reports = ReportLayout(tmp_path / "logs" / "run_evaluation" / "gold-1")
    reports.prepare()
    for prediction, resolution in zip(
        gold_predictions(tasks).items, [Resolution.RESOLVED, Resolution.TESTS_FAIL], strict=True
    ):
        reports.write(_final_report(prediction, resolution), "")
    args = ["evaluate", "out", "--predictions", "gold", "--run-id", "gold-1"]
    result = run(*args, "--source", str(sample_repo_path), cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "evaluation gold-1" in result.stdout
    assert "2 │ already graded (skipped)" in result.stdout
    assert "unresolved: tests_fail" in result.stdout
    summary = json.loads(reports.summary_path.read_text())
    assert summary["run_id"] == "gold-1"
    assert (summary["resolved_ids"], summary["unresolved_ids"]) == (["o__n-1"], ["o__n-3"])
    assert summary["submitted_ids"] == summary["completed_ids"] == ["o__n-1", "o__n-3"]
    assert summary["unresolved_by_reason"]["tests_fail"] == ["o__n-3"]
    assert (summary["error_ids"], summary["incomplete_ids"], summary["graded_now"]) == ([], [], 0)

    keyed = tmp_path / "preds.json"  # the same gold patch, keyed by id, one id filtered out
    keyed.write_text(json.dumps({"o__n-1": gold_predictions(tasks).items[0].model_dump()}))
    result = run(
        *["evaluate", "out", "--predictions", str(keyed), "--report", str(reports.root)],
        *["-i", "o__n-1", "-i", "o__n-3", "--source", str(sample_repo_path)],
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "no prediction for o__n-3" in result.stderr
    assert "1 │ verified tasks not predicted" in result.stdout
    summary = json.loads(reports.summary_path.read_text())
    assert (summary["run_id"], summary["submitted_ids"]) == (None, ["o__n-1"])
    assert summary["incomplete_ids"] == ["o__n-3"]
