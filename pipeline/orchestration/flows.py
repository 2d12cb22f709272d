"""Prefect flows: they compose the tasks of ``pipeline.orchestration.tasks`` and nothing else.

``backfill_flow`` mines one repository, builds an environment per dependency state, validates
the candidates on the chosen task runner (a thread pool by default, or a Dask cluster) and
writes them; each run publishes the yield funnel as artifacts (``artifacts``). What the flow
decides is decided by plain functions: screening (``pipeline.backfill.screening``: leaks,
patch ids, benchmark instances; once mined and again before each write, where duplicates are
resolved under the dataset's lock), grouping (``pipeline.backfill.grouping``), verdicts of
failed environments and retries (``pipeline.backfill.verdicts``), shard buffering
(``pipeline.backfill.buffer``). ``run_backfill`` is the one way in, for the CLI and for
``scheduled_backfill`` (``taskforge serve``, ``taskforge deploy``): it runs the flow on the
request's task runner, bounded by its ``workers``, and with its results stored in the
dataset's work folder (``tasks.results_in``). The storage is set on the flow itself, not only
through Prefect's settings: a subflow takes its parent's result storage when it has none of its
own, so a scheduled run's validations would otherwise land in the parent's default
(``~/.prefect/storage``, lost with a Docker work pool's container) and a crashed scheduled run
would replay nothing. ``scheduled_backfill`` starts no subflow for a repository with nothing
new (``pipeline.backfill.up_to_date``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from dockerfiles.discard import remove_discarded
from dockerfiles.environment import Environment, EnvironmentFailed
from dockerfiles.extras_retry import wants_every_extra, with_every_extra
from pipeline.backfill.buffer import ShardBuffer
from pipeline.backfill.grouping import Group
from pipeline.backfill.request import BackfillRequest, BackfillSummary, RunnerKind, TaskRunnerSpec
from pipeline.backfill.screening import screen_for
from pipeline.backfill.steps import advance_cursor
from pipeline.backfill.up_to_date import mark_final, nothing_new
from pipeline.backfill.verdicts import environment_failures, retry_not_built, settled
from pipeline.core.engine import docker_client
from pipeline.core.errors import MissingObjectError, TransientError, UserInputError
from pipeline.core.extras import Extra, require
from pipeline.core.records import Task
from pipeline.dataset.card import finalize
from pipeline.dataset.shards import reject_known_copies, write_batch
from pipeline.dataset.upgrade import upgrade_dataset
from pipeline.orchestration.artifacts import publish_artifacts
from pipeline.orchestration.progress import sink
from pipeline.orchestration.schedules import DEFAULT_SCHEDULES, ScheduleGroup, load_schedules
from pipeline.orchestration.tasks import (
    Attempted,
    build_group_environment,
    mine,
    plan_environments,
    results_in,
    validate,
)
from validators.sandbox import remove_leftovers

Validations = list[PrefectFuture[Attempted[Task]]]


@flow(name="taskforge-backfill")
def backfill_flow(request: BackfillRequest) -> BackfillSummary:
    """Mine, build the environments, validate and write one repository's tasks."""
    started = time.monotonic()
    layout = request.layout()
    layout.prepare()  # a dataset of the previous layout is moved first (the CLI has done it)
    upgrade_dataset(layout)  # shards of an older schema first: a folder never mixes versions
    summary = BackfillSummary(repo=request.repo, out=request.out, logs_dir=layout.logs_dir)
    sink().stage("mining")
    mined = mine(request)
    # a dropped benchmark instance, or a copy of a verified task written before, runs nothing
    candidates = reject_known_copies(layout, screen_for(request, mined.candidates))
    summary.mined, summary.skipped = mined.selected, mined.skipped
    summary.not_found = mined.not_found
    _write(request, summary, [c for c in candidates if c.decided])
    runnable = [c for c in candidates if not c.decided]
    sink().planned(len(candidates))
    if runnable:
        if not request.build_on_workers:  # else no engine here: workers clean their own
            with closing(docker_client()) as client:
                remove_leftovers(client)
                remove_discarded(client)
        planned = plan_environments(request, mined.repo_path, runnable)
        _write(request, summary, planned.unplannable)
        _validate_groups(request, mined.repo_path, planned.groups, summary)
    finalize(layout)  # manifest and dataset card, once the run's shards are written
    mark_final(layout)  # a rerun with nothing new can tell, before Prefect (up_to_date)
    advance_cursor(request, mined.merged_at, candidates)  # GitHub sources: past what is written
    summary.wall_time_s = round(time.monotonic() - started, 1)
    publish_artifacts(summary)
    return summary


def _validate_groups(
    request: BackfillRequest,
    repo_path: str,
    groups: list[Group],
    summary: BackfillSummary,
) -> None:
    """Build each group's environment in turn while earlier groups' validations run."""
    futures: Validations = []
    validating = _validate(request)
    for number, group in enumerate(groups, start=1):
        sink().stage(f"environment {number}/{len(groups)}")
        try:
            built = _build(request, repo_path, group)
        except (EnvironmentFailed, MissingObjectError) as error:
            summary.environments_failed += 1
            _write(request, summary, environment_failures(group.candidates, error))
            continue
        summary.infrastructure_retries += built.retries
        summary.images_built += int(built.value.built)
        summary.environments += 1
        futures += [validating.submit(request, repo_path, c, built.value) for c in group.candidates]
    sink().stage("validating")
    held = _collect(request, futures, summary, hold=wants_every_extra)
    if held:
        _retry_with_every_extra(request, repo_path, groups, held, summary)


def _validate(request: BackfillRequest) -> Any:
    """The validation task; with ``--retry``, one that runs again rather than replaying a
    recorded result (the candidates of such a run are the PRs asked to run again)."""
    return validate.with_options(refresh_cache=True) if request.retry else validate


def _build(request: BackfillRequest, repo_path: str, group: Group) -> Attempted[Environment]:
    """``group``'s environment, built here or (``--build-on-workers``) on a worker, which
    pushes it to the registry for the others."""
    if request.build_on_workers:
        return build_group_environment.submit(request, repo_path, group).result()
    return build_group_environment(request, repo_path, group)


def _retry_with_every_extra(
    request: BackfillRequest,
    repo_path: str,
    groups: list[Group],
    held: list[Task],
    summary: BackfillSummary,
) -> None:
    """Candidates whose tests skipped on both sides: one more environment per group, with
    every non-docs extra, and those candidates validated again (``dockerfiles.extras_retry``)."""
    first = {task.instance_id: task for task in held}
    futures: Validations = []
    validating = _validate(request)
    unchanged: list[Task] = []
    for group in groups:
        originals = [c for c in group.candidates if c.instance_id in first]
        plan = with_every_extra(group.plan) if originals else None
        if plan is None:
            unchanged += [first[c.instance_id] for c in originals]
            continue
        extras = plan.attempts[0].extras
        sink().stage(f"environment with every extra ({', '.join(extras)})")
        try:
            built = _build(request, repo_path, Group(plan, originals))
        except EnvironmentFailed as error:
            unchanged += retry_not_built(first, originals, extras, error)
            continue
        summary.infrastructure_retries += built.retries
        futures += [validating.submit(request, repo_path, c, built.value) for c in originals]
    _write(request, summary, unchanged)
    _collect(request, futures, summary, first=first)


def _collect(
    request: BackfillRequest,
    futures: Validations,
    summary: BackfillSummary,
    hold: Callable[[Task], bool] | None = None,
    first: dict[str, Task] | None = None,
) -> list[Task]:
    """Write results as they come; those ``hold`` picks are returned instead, and a result
    whose earlier verdict is in ``first`` is merged with it (``settled``)."""
    held: list[Task] = []
    with ShardBuffer(lambda tasks: _write(request, summary, tasks)) as buffer:
        for future in as_completed(futures):
            try:
                attempted = future.result()
            except TransientError:  # still failing after the retries: left for a rerun
                summary.infrastructure += 1
                continue
            if future.state.name != "Cached":  # a replayed result's retries were counted
                summary.infrastructure_retries += attempted.retries
            result = attempted.value
            retried = first is not None and result.instance_id in first
            if not retried and hold is not None and hold(result):
                held.append(result)
                continue
            buffer.add(settled(result, first))
    return held


def _write(request: BackfillRequest, summary: BackfillSummary, tasks: list[Task]) -> None:
    """Screen ``tasks`` again (a replayed validation carries its first run's screening), write
    them as shards, count them as written (a duplicate rejected) and report each as finished."""
    if not tasks:
        return
    _, written = write_batch(request.layout(), screen_for(request, tasks))
    summary.count(written)
    for task_ in written:
        sink().finished(task_)


@flow(name="taskforge-scheduled")
def scheduled_backfill(
    group: str, schedules: str = "", definition: ScheduleGroup | None = None
) -> list[BackfillSummary]:
    """Backfill every repository of a group: ``definition`` (a deployment carries it), else the
    group of that name in the schedules file ("": the packaged). A repository with nothing new
    is reported without starting its backfill."""
    found = definition or load_schedules(Path(schedules) if schedules else None).get(group)
    if found is None:
        raise UserInputError(f"no group {group!r} in {schedules or DEFAULT_SCHEDULES}")
    summaries = []
    for entry in found.repos:
        request = found.request_for(entry)
        done = nothing_new(request)
        summaries.append(run_backfill(request) if done is None else done)
    return summaries


def task_runner(spec: TaskRunnerSpec, workers: int) -> TaskRunner[Any]:
    """The Prefect task runner ``spec`` names, with ``workers`` workers where it starts them."""
    if spec.kind is RunnerKind.THREADS:
        return ThreadPoolTaskRunner(max_workers=workers)
    require(Extra.DASK, f"task runner {spec}")
    from prefect_dask.task_runners import DaskTaskRunner

    if spec.kind is RunnerKind.DASK:
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
    return DaskTaskRunner(address="tcp://" + spec.address)


def run_backfill(request: BackfillRequest) -> BackfillSummary:
    """Run the flow once on the request's task runner, its results persisted in the work folder
    (whether it is a flow of its own, from the CLI, or a subflow of a scheduled run)."""
    runner = task_runner(request.task_runner, request.workers)
    with results_in(request.layout()) as results:
        configured = backfill_flow.with_options(
            task_runner=runner, result_storage=results, persist_result=False
        )
        return configured(request)
