"""Validate one candidate: run its three states in the sandbox, repeated, and grade them.

The *base* state runs once (the tests that already exist at the base commit), *before* (base +
test patch) and *after* (+ fix) are repeated (``Repeats``) to expose flaky tests. Each run is
a fresh container of the repository's environment image. While one run executes, the next one's
container is created, given its tree and started up to its gate, and the finished one is removed,
in a background thread: only opening the gate, waiting and reading the report are on the path.
A run that times out or is killed for memory ends the validation at once with that outcome; an
engine failure raises ``InfrastructureError`` and is never a verdict. Grading is
``validators.grading``.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import docker
import git
from docker.models.containers import Container

from pipeline.core.errors import MissingObjectError, TerminalError
from pipeline.core.records import ImageRef, Outcome, RunState, Task, TestRun
from validators.grading import RunResult, grade
from validators.infra import InfrastructureError
from validators.language_runs import COLLECT as LANGUAGE_COLLECT
from validators.language_runs import language_result, prepare_language_tests, runner_spec
from validators.runner import COLLECT, peak_memory, prepare_tests, run_result
from validators.sandbox import SandboxLimits, SandboxRun, discard, run_prepared
from validators.states import PatchDoesNotApply, States, prepare_states


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
    spec = runner_spec(test_runner)
    task = task.with_image(image)
    try:
        states = prepare_states(repo, task)
    except PatchDoesNotApply as error:
        return _rejected(task, Outcome.PATCH_DOES_NOT_APPLY, str(error))
    except MissingObjectError as error:
        return _rejected(task, Outcome.MISSING_OBJECT, str(error))
    # the runner's selection of each list of test files the runs take, worked out once
    selected = {
        tuple(files): spec.targets(files, states.manifests)
        for files in (states.base_targets, states.targets)
        if spec is not None
    }
    if not states.targets or (spec is not None and not selected[tuple(states.targets)].selection):
        return _rejected(task, Outcome.TESTS_NOT_COLLECTED, "the test patch leaves no test file")
    results: dict[RunState, list[RunResult]] = {state: [] for state in RunState}
    runs = _planned_runs(states, repeats)
    collect = LANGUAGE_COLLECT if spec is not None else COLLECT

    def prepare(run: _Run) -> Container:
        if spec is not None:
            targets = selected[tuple(run.targets)]
            return prepare_language_tests(
                client, image.tag, run.tree, spec, targets, limits, run.repeat
            )
        return prepare_tests(
            client, image.tag, run.tree, run.targets, states.python_path, limits, repeat=run.repeat
        )

    def read(run: SandboxRun, planned: _Run) -> RunResult:
        if spec is not None:
            return language_result(run, spec, selected[tuple(planned.targets)])
        return run_result(run, planned.targets)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskforge-prepare") as pool:
        upcoming: Future[Container] | None = pool.submit(prepare, runs[0]) if runs else None
        try:
            for index, planned in enumerate(runs):
                assert upcoming is not None
                container = upcoming.result()
                following = runs[index + 1] if index + 1 < len(runs) else None
                upcoming = pool.submit(prepare, following) if following else None
                run = run_prepared(container, collect, limits, lambda c: pool.submit(discard, c))
                result = read(run, planned)
                task = task.with_run(_test_run(planned.state, planned.repeat, run, result))
                _stop_if_killed(run, planned.state, limits)
                results[planned.state].append(result)
        except RunStopped as stop:
            return _rejected(task, stop.outcome, str(stop))
        finally:
            _discard_pending(upcoming)
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
class _Run:
    state: RunState
    repeat: int
    tree: bytes
    targets: list[str]


def _planned_runs(states: States, repeats: Repeats) -> list[_Run]:
    """Every run of the validation in order: base once (if its tests exist), then the repeats."""
    plan = [
        (RunState.BASE, states.base, states.base_targets, 1 if states.base_targets else 0),
        (RunState.BEFORE, states.before, states.targets, repeats.before),
        (RunState.AFTER, states.after, states.targets, repeats.after),
    ]
    return [
        _Run(state, repeat, tree, targets)
        for state, tree, targets, count in plan
        for repeat in range(count)
    ]


def _discard_pending(upcoming: Future[Container] | None) -> None:
    """Remove a prepared container the validation will not run (it stopped early)."""
    if upcoming is None:
        return
    try:
        container = upcoming.result()
    except InfrastructureError:
        return
    discard(container)


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
