"""Grade a model's predictions against a dataset's verified tasks (``taskforge evaluate``).

For each prediction: the task's base tree is rebuilt on the host from git objects
(``pipeline.consumers.task_repos``), the model's patch is applied (``git apply``, as
validation applies patches), and ``validators.regrade.grade_tree`` does the rest — reset the
test patch's files, apply the test patch, run FAIL_TO_PASS and PASS_TO_PASS in a fresh sandbox
container of the task's image, judge. Resolved iff every one of those tests passes.

Invariants:

- all input is checked before any container starts: the dataset, every line of the predictions
  file, every instance id (a verified task of the dataset), every base commit's objects;
- predictions run on a thread pool of ``workers``, each with its own Docker client and scratch
  folder; a report is written as soon as its instance is graded, atomically;
- resumable: an instance whose report is final (``ReportLayout.is_final``) is skipped unless
  ``redo``; infrastructure failures are retried within the run (``attempts``) and, if they
  persist, reported as ``infrastructure`` and graded again by the next run — never counted as
  a model failure once a retry succeeds;
- the summary covers every prediction of the file, graded now or before.
"""

from __future__ import annotations

import difflib
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipeline.consumers.predictions import (
    EvaluationSummary,
    InstanceReport,
    Prediction,
    ReportLayout,
    read_predictions,
    summarise,
)
from pipeline.consumers.task_repos import BaseTrees
from pipeline.core.engine import docker_client
from pipeline.core.errors import TransientError, UserInputError
from pipeline.core.records import Task
from pipeline.dataset.shards import DatasetLayout, read_tasks
from validators.regrade import BaseCommit, Grade, Resolution, grade_tree, unresolved
from validators.sandbox import SandboxLimits, remove_leftovers
from validators.states import PatchDoesNotApply, apply_patch


@dataclass(frozen=True)
class EvaluationRequest:
    """What one ``taskforge evaluate`` run is asked to do."""

    out: Path  # the dataset
    predictions: Path
    report_dir: Path
    sources: list[str] = field(default_factory=list)  # clones, mirrors or URLs (--source)
    cache_dir: Path | None = None  # None: default_cache_dir()
    workers: int = 1
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    redo: bool = False
    attempts: int = 3  # test runs per instance when the engine fails
    retry_pause_s: float = 5.0


@dataclass(frozen=True)
class Planned:
    """What a request will grade, once its input is checked."""

    predictions: list[Prediction]
    tasks: dict[str, Task]
    pending: list[Prediction]  # the predictions without a final report
    trees: BaseTrees


def plan_evaluation(request: EvaluationRequest) -> Planned:
    """Check every input, before Docker: one ``UserInputError`` line for the first problem."""
    layout = DatasetLayout(request.out)
    layout.require()
    predictions = read_predictions(request.predictions)
    tasks = {t.instance_id: t for t in read_tasks(layout)}
    for number, prediction in enumerate(predictions, start=1):
        task = tasks.get(prediction.instance_id)
        if task is None or not task.verified:
            raise UserInputError(_not_a_task(request, number, prediction.instance_id, tasks))
    chosen = {p.instance_id: tasks[p.instance_id] for p in predictions}
    trees = BaseTrees(request.sources, request.cache_dir)
    trees.check(chosen.values())
    reports = ReportLayout(request.report_dir)
    reports.prepare()
    pending = [p for p in predictions if request.redo or not reports.is_final(p)]
    return Planned(predictions, chosen, pending, trees)


def _not_a_task(
    request: EvaluationRequest, number: int, instance_id: str, tasks: dict[str, Task]
) -> str:
    where = f"{request.predictions} prediction {number}"
    task = tasks.get(instance_id)
    if task is not None:
        outcome = task.outcome.value if task.outcome else "undecided"
        return f"{where}: {instance_id} is not a verified task of {request.out} ({outcome})"
    verified = [i for i, t in tasks.items() if t.verified]
    close = difflib.get_close_matches(instance_id, verified, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"{where}: no task {instance_id} in {request.out}{hint}"


def run_evaluation(
    request: EvaluationRequest, on_graded: Callable[[InstanceReport], None] | None = None
) -> EvaluationSummary:
    """Grade every pending prediction, write the reports and the summary, and return it."""
    started = time.monotonic()
    planned = plan_evaluation(request)
    reports = ReportLayout(request.report_dir)
    if planned.pending:
        client = docker_client()
        try:
            remove_leftovers(client)  # containers of a crashed run on this host
        finally:
            client.close()

        def grade_one(prediction: Prediction) -> None:
            task = planned.tasks[prediction.instance_id]
            report, output = evaluate_prediction(prediction, task, planned.trees, request)
            reports.write(report, output)
            if on_graded is not None:
                on_graded(report)

        with ThreadPoolExecutor(max_workers=request.workers) as pool:
            for future in [pool.submit(grade_one, p) for p in planned.pending]:
                future.result()
    final = [reports.read(p.instance_id) for p in planned.predictions]
    summary = summarise(
        [r for r in final if r is not None], len(planned.pending), time.monotonic() - started
    )
    reports.write_summary(summary)
    return summary


def evaluate_prediction(
    prediction: Prediction, task: Task, trees: BaseTrees, request: EvaluationRequest
) -> tuple[InstanceReport, str]:
    """Grade one prediction: its report and the test run's output."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="taskforge-eval-") as scratch:
        tree = Path(scratch) / "repo"
        base = trees.export(task, tree)
        grade = _grade_patched(prediction, task, tree, base, request)
    report = InstanceReport.of(prediction, grade, time.monotonic() - started, datetime.now(UTC))
    return report, grade.output


def _grade_patched(
    prediction: Prediction, task: Task, tree: Path, base: BaseCommit, request: EvaluationRequest
) -> Grade:
    try:
        apply_patch(tree, with_final_newline(prediction.model_patch), "model patch")
    except PatchDoesNotApply as error:
        return unresolved(task, Resolution.PATCH_DOES_NOT_APPLY, str(error))
    except UnicodeEncodeError:  # JSON can carry lone surrogates; no file holds them
        detail = "model patch: not valid Unicode (a lone surrogate)"
        return unresolved(task, Resolution.PATCH_DOES_NOT_APPLY, detail)
    try:
        client = docker_client()
    except TransientError as error:  # the engine does not answer
        return unresolved(task, Resolution.INFRASTRUCTURE, str(error))
    try:
        return grade_tree(
            client, task, tree, base, request.limits, request.attempts, request.retry_pause_s
        )
    except TransientError as error:  # the engine kept failing
        return unresolved(task, Resolution.INFRASTRUCTURE, str(error), request.attempts)
    finally:
        client.close()


def with_final_newline(patch: str) -> str:
    """A patch whose last line ends: ``git apply`` rejects a truncated last line as corrupt."""
    return patch if not patch or patch.endswith("\n") else patch + "\n"
