"""Grade a model's predictions against a dataset's verified tasks (``taskforge evaluate``).

For each prediction: the task's base tree is rebuilt on the host from git objects
(``pipeline.consumers.task_repos``), the model's patch is applied (``git apply``, as
validation applies patches), and ``validators.regrade.grade_tree`` does the rest — reset the
test patch's files, apply the test patch, run FAIL_TO_PASS and PASS_TO_PASS in a fresh sandbox
container of the task's image, judge. Resolved iff every one of those tests passes.

Which predictions: those of the file (``pipeline.consumers.predictions`` reads every form
SWE-bench's harness reads) or ``gold``, the dataset's own fixes; with ``instance_ids``
(``--instance``) only those. An id of the filter without a prediction is a warning, as in
SWE-bench (it is listed in the summary's ``incomplete_ids``); an id of the filter that is not a
verified task of the dataset is bad input. With ``gold`` the filter picks the tasks.

Invariants:

- all input is checked before any container starts: the run id and report folder, the
  dataset, every prediction of the file (parsed, chosen or not), every chosen instance id (a
  verified task of the dataset), every chosen task's base commit objects;
- predictions run on a thread pool of ``workers``, each with its own Docker client and scratch
  folder; a report is written as soon as its instance is graded, atomically;
- resumable: an instance whose report is final (``ReportLayout.is_final``) is skipped unless
  ``redo``; infrastructure failures are retried within the run (``attempts``) and, if they
  persist, reported as ``infrastructure`` and graded again by the next run — never counted as
  a model failure once a retry succeeds;
- the summary covers every chosen prediction, graded now or before.
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
    GOLD,
    EvaluationSummary,
    InstanceReport,
    Prediction,
    Predictions,
    PredictionsSource,
    ReportLayout,
    gold_predictions,
    read_predictions,
    report_folder,
    summarise,
)
from pipeline.consumers.task_repos import BaseTrees
from pipeline.core.engine import docker_client
from pipeline.core.errors import TransientError, UserInputError
from pipeline.core.records import Task
from pipeline.dataset.location import DatasetUrl
from pipeline.dataset.shards import DatasetLayout, read_tasks
from validators.regrade import BaseCommit, Grade, Resolution, grade_tree, unresolved
from validators.sandbox import SandboxLimits, remove_leftovers
from validators.states import PatchDoesNotApply, apply_patch


@dataclass(frozen=True)
class EvaluationRequest:
    """What one ``taskforge evaluate`` run is asked to do."""

    out: Path | DatasetUrl  # the dataset, a folder or a URL
    predictions: PredictionsSource  # a .jsonl or .json file, or "gold"
    report_dir: Path | None = None  # None: logs/run_evaluation/<run_id>/
    run_id: str | None = None  # names the run (SWE-bench's --run_id); in summary.json
    instance_ids: tuple[str, ...] = ()  # only these (--instance); () for every prediction
    sources: list[str] = field(default_factory=list)  # clones, mirrors or URLs (--source)
    cache_dir: Path | None = None  # None: default_cache_dir()
    workers: int = 1
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    redo: bool = False
    attempts: int = 3  # test runs per instance when the engine fails
    retry_pause_s: float = 5.0

    @property
    def report_folder(self) -> Path:
        """Where the reports go; ``UserInputError`` without a report folder or a run id."""
        return report_folder(self.report_dir, self.run_id)


@dataclass(frozen=True)
class Planned:
    """What a request will grade, once its input is checked."""

    predictions: list[Prediction]  # the chosen ones
    tasks: dict[str, Task]
    pending: list[Prediction]  # the predictions without a final report
    trees: BaseTrees
    reports: ReportLayout
    incomplete: list[str]  # verified tasks in scope without a prediction
    warnings: list[str]  # one line each


def plan_evaluation(request: EvaluationRequest) -> Planned:
    """Check every input, before Docker: one ``UserInputError`` line for the first problem."""
    reports = ReportLayout(request.report_folder)
    layout = DatasetLayout.of(request.out)
    layout.require()
    tasks = {t.instance_id: t for t in read_tasks(layout)}
    for instance_id in request.instance_ids:
        _require_verified(request, f"--instance {instance_id}", instance_id, tasks)
    predictions, warnings = _chosen(request, tasks)
    for prediction in predictions.items:
        where = predictions.where(prediction.instance_id)
        _require_verified(request, where, prediction.instance_id, tasks)
    chosen = {p.instance_id: tasks[p.instance_id] for p in predictions.items}
    trees = BaseTrees(request.sources, request.cache_dir)
    trees.check(chosen.values())
    reports.prepare()
    pending = [p for p in predictions.items if request.redo or not reports.is_final(p)]
    scope = request.instance_ids or [i for i, t in tasks.items() if t.verified]
    incomplete = [i for i in scope if i not in chosen]
    return Planned(predictions.items, chosen, pending, trees, reports, incomplete, warnings)


def _chosen(request: EvaluationRequest, tasks: dict[str, Task]) -> tuple[Predictions, list[str]]:
    """The predictions to grade, and a warning naming the filter's ids without one."""
    wanted = request.instance_ids
    if request.predictions == GOLD:  # a file is a Path, or a str with a suffix
        verified = [t for i, t in tasks.items() if t.verified and (not wanted or i in wanted)]
        if not verified:
            raise UserInputError(f"{request.out} has no verified task to take gold patches from")
        return gold_predictions(verified), []
    predictions = read_predictions(Path(request.predictions))
    if not wanted:
        return predictions, []
    missing = predictions.missing(wanted)
    kept = predictions.only(wanted)
    if not kept.items:
        raise UserInputError(
            f"{predictions.source} has no prediction for --instance {', '.join(missing)}"
        )
    warnings = []
    if missing:
        warnings.append(
            f"{predictions.source} has no prediction for {', '.join(missing)}: not graded "
            "(incomplete_ids in summary.json)"
        )
    return kept, warnings


def _require_verified(
    request: EvaluationRequest, where: str, instance_id: str, tasks: dict[str, Task]
) -> None:
    """``UserInputError`` unless ``instance_id`` is a verified task of the dataset."""
    task = tasks.get(instance_id)
    if task is not None and task.verified:
        return
    if task is not None:
        outcome = task.outcome.value if task.outcome else "undecided"
        raise UserInputError(
            f"{where}: {instance_id} is not a verified task of {request.out} ({outcome})"
        )
    verified = [i for i, t in tasks.items() if t.verified]
    close = difflib.get_close_matches(instance_id, verified, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserInputError(f"{where}: no task {instance_id} in {request.out}{hint}")


def run_evaluation(
    request: EvaluationRequest,
    on_graded: Callable[[InstanceReport], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> EvaluationSummary:
    """Grade every pending prediction, write the reports and the summary, and return it.

    ``on_warning`` gets each warning of the plan (one line) before any instance is graded;
    ``on_graded`` each report as it is written.
    """
    started = time.monotonic()
    planned = plan_evaluation(request)
    if on_warning is not None:
        for line in planned.warnings:
            on_warning(line)
    reports = planned.reports
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
    final = {p.instance_id: reports.read(p.instance_id) for p in planned.predictions}
    summary = summarise(
        planned.predictions,
        {i: r for i, r in final.items() if r is not None},
        run_id=request.run_id,
        incomplete_ids=planned.incomplete,
        graded_now=len(planned.pending),
        wall_time_s=time.monotonic() - started,
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
