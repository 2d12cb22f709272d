"""``--retry OUTCOMES``: the written tasks with those outcomes are run again, without Docker
(the run itself: ``tests/pipeline/test_demo_docker.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.backfill.request import retry_outcomes
from pipeline.core.errors import UserInputError
from pipeline.core.records import Outcome
from pipeline.dataset.shards import DatasetLayout, finished_instance_ids, write_tasks
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error, taskforge


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    prepared = DatasetLayout(tmp_path / "out", tmp_path / "work")
    prepared.prepare()
    return prepared


def test_the_newest_row_decides_what_is_run_again(layout: DatasetLayout[Path]) -> None:
    write_tasks(
        layout,
        [
            make_task(1),
            make_task(2, Outcome.ENVIRONMENT_FAILED),
            make_task(3, Outcome.TESTS_NOT_COLLECTED),
        ],
    )
    every = {"o__n-1", "o__n-2", "o__n-3"}
    assert finished_instance_ids(layout) == every
    assert finished_instance_ids(layout, frozenset({Outcome.ENVIRONMENT_FAILED})) == {
        "o__n-1",
        "o__n-3",
    }
    retried = frozenset({Outcome.ENVIRONMENT_FAILED, Outcome.TESTS_NOT_COLLECTED})
    assert finished_instance_ids(layout, retried) == {"o__n-1"}
    write_tasks(layout, [make_task(2)])  # run again, and verified: its new row is the newest
    assert finished_instance_ids(layout, retried) == {"o__n-1", "o__n-2"}
    assert finished_instance_ids(layout, frozenset({Outcome.VERIFIED})) == {"o__n-3"}


def test_outcomes_are_read_by_name() -> None:
    assert retry_outcomes(None) == frozenset()
    assert retry_outcomes("environment_failed, flaky") == {
        Outcome.ENVIRONMENT_FAILED,
        Outcome.FLAKY,
    }
    with pytest.raises(UserInputError, match="not env_failed"):
        retry_outcomes("environment_failed,env_failed")


def test_an_unknown_outcome_is_one_line(tmp_path: Path) -> None:
    out = ["--repo", "o/n", "--out", str(tmp_path / "out")]
    result = taskforge("backfill", str(tmp_path), *out, "--retry", "broken")
    assert_one_line_error(result, "--retry takes outcomes", 2)
    assert "no_fail_to_pass" in result.stderr and "not broken" in result.stderr
    assert not (tmp_path / "out").exists()
