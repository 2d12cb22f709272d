"""``taskforge evaluate`` on bad input: one line, exit code 2, before any container starts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipeline.core.records import Outcome
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error
from tests.taskforge_cli import run


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    write_tasks(layout, [make_task(1), make_task(2, Outcome.DOCS_ONLY)])
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
        result, "prediction 2: no task o__n-11 in " + str(dataset) + "; did you mean o__n-1?", 2
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
        "o__n-1: base commit aaaaaaaaaaaa of o/n is not in the repositories in data/cache/; "
        "pass --source with a clone, mirror or URL of o/n",
        2,
    )
    result = _evaluate(tmp_path, dataset, predictions, "--source", str(sample_repo_path))
    assert_one_line_error(result, f"is not in {sample_repo_path}; pass --source", 2)
    result = _evaluate(tmp_path, dataset, predictions, "--source", str(tmp_path / "gone"))
    assert_one_line_error(result, "gone does not exist", 2)
    assert not (tmp_path / "reports").exists()
