"""The decisions a backfill makes besides the stages', as plain functions, without Prefect."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dockerfiles.environment import EnvironmentFailed
from dockerfiles.plan import EnvPlan
from pipeline.backfill.buffer import ShardBuffer
from pipeline.backfill.grouping import group_by_dependency_state
from pipeline.backfill.request import BackfillRequest, RunnerKind, TaskRunnerSpec
from pipeline.backfill.verdicts import environment_failures, settled
from pipeline.core.errors import MissingObjectError, UserInputError
from pipeline.core.records import EnvAttempt, InstallConfig, Outcome, Task
from tests.pipeline.factories import make_task


def _candidate(number: int, days: int = 0) -> Task:
    task = make_task(number, outcome=None, env_attempts=[])
    return task.revised(created_at=task.created_at + timedelta(days=days))


def _plan(key: str, setup: str) -> EnvPlan:
    return EnvPlan("o/n", setup, {}, [InstallConfig(python="3.11", base_image="b")], key)


def test_groups_share_a_dependency_state_and_the_newest_base_sets_it_up() -> None:
    keys = {1: "k1", 2: "k2", 3: "k1", 4: "missing"}

    def plan_for(task: Task) -> EnvPlan:
        if keys[task.pull_number] == "missing":
            raise MissingObjectError("o/n", task.base_commit, "setup.py", "f" * 40, "gone")
        return _plan(keys[task.pull_number], f"setup-{task.pull_number}")

    planned = group_by_dependency_state(
        [_candidate(3, days=2), _candidate(1), _candidate(2, days=1), _candidate(4)], plan_for
    )
    assert [[c.pull_number for c in g.candidates] for g in planned.groups] == [[1, 3], [2]]
    assert planned.groups[0].plan.setup_commit == "setup-3"
    assert [(t.pull_number, t.outcome) for t in planned.unplannable] == [
        (4, Outcome.MISSING_OBJECT)
    ]


def test_environment_failures_reject_the_whole_group_with_the_attempts() -> None:
    attempts = [EnvAttempt(python="3.11", succeeded=False, reason="no wheel")]
    failed = environment_failures(
        [_candidate(1), _candidate(2)], EnvironmentFailed("o/n", attempts, "no wheel")
    )
    assert {t.outcome for t in failed} == {Outcome.ENVIRONMENT_FAILED}
    assert all(t.env_attempts == attempts and "no wheel" in t.outcome_detail for t in failed)
    missing = MissingObjectError("o/n", "a" * 40, "setup.py", "f" * 40, "gone")
    (only,) = environment_failures([_candidate(1)], missing)
    assert (only.outcome, only.env_attempts) == (Outcome.MISSING_OBJECT, [])


def test_settled_merges_only_retried_candidates() -> None:
    first = _candidate(1).rejected(Outcome.NO_FAIL_TO_PASS, "skipped")
    second = _candidate(1).with_verdict(Outcome.VERIFIED, "")
    other = _candidate(2).with_verdict(Outcome.VERIFIED, "")
    assert settled(other, {first.instance_id: first}) is other
    assert settled(second, None) is second
    merged = settled(second, {first.instance_id: first})
    assert merged.outcome is Outcome.VERIFIED and "every extra" in merged.outcome_detail


def test_shard_buffer_writes_every_n_and_the_rest_on_exit() -> None:
    writes: list[list[int]] = []
    with (
        pytest.raises(RuntimeError),
        ShardBuffer(lambda tasks: writes.append([t.pull_number for t in tasks]), every=2) as buffer,
    ):
        for number in range(1, 6):
            buffer.add(_candidate(number))
        raise RuntimeError("the flow stops")
    assert writes == [[1, 2], [3, 4], [5]]


@pytest.mark.parametrize(
    ("text", "kind", "address"),
    [
        ("threads", RunnerKind.THREADS, ""),
        ("dask", RunnerKind.DASK, ""),
        ("dask://10.0.0.1:8786", RunnerKind.DASK_ADDRESS, "10.0.0.1:8786"),
    ],
)
def test_task_runner_parsed_once(text: str, kind: RunnerKind, address: str) -> None:
    spec = TaskRunnerSpec.parse(text)
    assert (spec.kind, spec.address, str(spec)) == (kind, address, text)
    request = BackfillRequest(source="s", repo="o/n", out="o", task_runner=spec)
    assert BackfillRequest.model_validate_json(request.model_dump_json()).task_runner == spec


@pytest.mark.parametrize("text", ["thread", "dask://nohost", "ray", ""])
def test_bad_task_runner_is_input_error(text: str) -> None:
    with pytest.raises(UserInputError, match="--task-runner takes threads, dask or"):
        TaskRunnerSpec.parse(text)
