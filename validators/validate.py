"""Validate one candidate: run its three states in the sandbox, repeated, and grade them.

The *base* state runs once (the tests that already exist at the base commit), *before* (base +
test patch) and *after* (+ fix) are repeated (``Repeats``) to expose flaky tests. Each run is
a fresh container of the repository's environment image, the next one prepared while one
runs (``validators.test_runs``). A run that times out or is killed for memory ends the
validation at once with that outcome; an engine failure raises ``InfrastructureError`` and is
never a verdict. Grading is ``validators.grading``.
"""

from __future__ import annotations

from dataclasses import dataclass

import docker
import git

from pipeline.core.errors import MissingObjectError, TerminalError
from pipeline.core.records import ImageRef, Outcome, RunState, Task, TestRun
from validators.grading import RunResult, grade
from validators.runner import peak_memory
from validators.sandbox import SandboxLimits, SandboxRun
from validators.states import PatchDoesNotApply, States, prepare_states
from validators.test_runs import PlannedRun, TestRuns


@dataclass(frozen=True)
class Repeats:
    """How often each state runs; defaults: 2 before, 3 after."""

    before: int = 2
    after: int = 3


class RunStopped(TerminalError):
    """A run ended the validation early (timeout, memory)."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome


def validate_candidate(
    task: Task,
    repo: git.Repo,
    client: docker.DockerClient,
    image: ImageRef,
    limits: SandboxLimits,
    repeats: Repeats | None = None,
    test_runner: str = "pytest",
) -> Task:
    """The task with its verdict, test lists, flaky tests and runs filled in; its tests run
    with ``test_runner`` (the environment's, ``install_config.test_runner``)."""
    repeats = repeats or Repeats()
    task = task.with_image(image)
    try:
        states = prepare_states(repo, task)
    except PatchDoesNotApply as error:
        return _rejected(task, Outcome.PATCH_DOES_NOT_APPLY, str(error))
    except MissingObjectError as error:
        return _rejected(task, Outcome.MISSING_OBJECT, str(error))
    runs = TestRuns(client, image.tag, limits, test_runner, states.python_path, states.manifests)
    if not runs.selects_tests(states.targets):
        return _rejected(task, Outcome.TESTS_NOT_COLLECTED, "the test patch leaves no test file")
    results: dict[RunState, list[RunResult]] = {state: [] for state in RunState}

    def record(planned: _Run, run: SandboxRun, result: RunResult) -> None:
        nonlocal task
        task = task.with_run(_test_run(planned.state, planned.repeat, run, result))
        _stop_if_killed(run, planned.state, limits)
        results[planned.state].append(result)

    try:
        runs.run_all(_planned_runs(states, repeats), record)
    except RunStopped as stop:
        return _rejected(task, stop.outcome, str(stop))
    verdict = grade(results[RunState.BEFORE], results[RunState.AFTER], results[RunState.BASE])
    return task.with_verdict(
        verdict.outcome,
        verdict.detail,
        fail_to_pass=verdict.fail_to_pass,
        pass_to_pass=verdict.pass_to_pass,
        pass_to_fail=verdict.pass_to_fail,
        skipped=verdict.skipped,
        flaky=verdict.flaky,
    )


@dataclass(frozen=True)
class _Run(PlannedRun):
    state: RunState
    tree: bytes

    def archive(self) -> bytes:
        return self.tree


def _planned_runs(states: States, repeats: Repeats) -> list[_Run]:
    """Every run of the validation in order: base once (if its tests exist), then the repeats."""
    plan = [
        (RunState.BASE, states.base, states.base_targets, 1 if states.base_targets else 0),
        (RunState.BEFORE, states.before, states.targets, repeats.before),
        (RunState.AFTER, states.after, states.targets, repeats.after),
    ]
    return [
        _Run(targets, repeat, state, tree)
        for state, tree, targets, count in plan
        for repeat in range(count)
    ]


def _stop_if_killed(run: SandboxRun, state: RunState, limits: SandboxLimits) -> None:
    where = "at the base commit" if state is RunState.BASE else f"{state.value} the fix"
    if run.timed_out:
        raise RunStopped(Outcome.TIMEOUT, f"{where}: over {limits.timeout_s} s, killed")
    if run.oom_killed:
        raise RunStopped(Outcome.RESOURCE_LIMIT, f"{where}: out of memory (limit {limits.memory})")


def _test_run(state: RunState, repeat: int, run: SandboxRun, result: RunResult) -> TestRun:
    report = result.report
    return TestRun(
        state=state,
        repeat=repeat,
        exit_code=run.exit_code,
        duration_s=round(run.duration_s, 3),
        tests=len(report.statuses) if report else 0,
        collection_errors=report.collection_errors if report else [],
        peak_memory_bytes=peak_memory(run),
    )


def _rejected(task: Task, outcome: Outcome, detail: str) -> Task:
    return task.rejected(outcome, detail)
