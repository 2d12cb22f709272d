"""Prefect flows: they compose the tasks of ``pipeline.orchestration.tasks`` and nothing else.

``backfill_flow`` mines one repository, builds an environment per dependency state, validates
the candidates on the chosen task runner (a thread pool by default, or a Dask cluster) and
writes them; each run publishes the yield funnel as a table artifact and a markdown summary.
``scheduled_backfill`` runs it for every repository of a group listed in
the schedules file (``pipeline.orchestration.schedules``); ``taskforge serve`` and
``prefect.yaml`` deploy that on cron schedules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from dockerfiles.discard import remove_discarded
from dockerfiles.environment import EnvironmentFailed
from dockerfiles.extras_retry import after_retry, wants_every_extra, with_every_extra
from pipeline.backfill.steps import BackfillRequest, BackfillSummary, advance_cursor
from pipeline.core.engine import docker_client
from pipeline.core.errors import MissingObjectError, TransientError, UserInputError
from pipeline.core.records import OUTCOME_REASONS, Outcome, Task
from pipeline.dataset.card import finalize
from pipeline.dataset.shards import DatasetLayout, write_tasks
from pipeline.orchestration.progress import sink
from pipeline.orchestration.schedules import DEFAULT_SCHEDULES, load_schedules
from pipeline.orchestration.tasks import (
    RETRIES,
    Group,
    build_group_environment,
    mine,
    plan_environments,
    validate,
)
from validators.sandbox import remove_leftovers

WRITE_EVERY = 10  # validated tasks buffered before a shard is written (the rest is cached)


@flow(name="taskforge-backfill")
def backfill_flow(request: BackfillRequest) -> BackfillSummary:
    """Mine, build the environments, validate and write one repository's tasks."""
    started = time.monotonic()
    layout = DatasetLayout(request.out)
    layout.prepare()
    summary = BackfillSummary(repo=request.repo, out=request.out)
    sink().stage("mining")
    mined = mine(request)
    candidates, summary.mined, summary.skipped = mined.candidates, mined.selected, mined.skipped
    summary.not_found = mined.not_found
    dropped = [c for c in candidates if c.outcome is not None]
    runnable = [c for c in candidates if c.outcome is None]
    _write(layout, summary, dropped)
    sink().planned(len(candidates))
    retries_before = len(RETRIES)
    if runnable:
        with closing(docker_client()) as client:
            remove_leftovers(client)
            remove_discarded(client)
        planned = plan_environments(request, mined.repo_path, runnable)
        _write(layout, summary, planned.unplannable)
        _validate_groups(request, mined.repo_path, planned.groups, layout, summary)
    finalize(layout)  # manifest and dataset card, once the run's shards are written
    advance_cursor(request, mined.merged_at, candidates)  # GitHub sources: past what is written
    summary.infrastructure_retries = len(RETRIES) - retries_before
    summary.wall_time_s = round(time.monotonic() - started, 1)
    publish_artifacts(summary)
    return summary


def _validate_groups(
    request: BackfillRequest,
    repo_path: str,
    groups: list[Group],
    layout: DatasetLayout,
    summary: BackfillSummary,
) -> None:
    """Build each group's environment in turn while earlier groups' validations run."""
    futures: list[PrefectFuture[Task]] = []
    for number, group in enumerate(groups, start=1):
        sink().stage(f"environment {number}/{len(groups)}")
        try:
            env = build_group_environment(request, repo_path, group)
        except (EnvironmentFailed, MissingObjectError) as error:
            missing = isinstance(error, MissingObjectError)
            update = {
                "outcome": Outcome.MISSING_OBJECT if missing else Outcome.ENVIRONMENT_FAILED,
                "outcome_detail": str(error)[:2000],
                "env_attempts": getattr(error, "attempts", []),
            }
            summary.environments_failed += 1
            _write(layout, summary, [c.model_copy(update=update) for c in group.candidates])
            continue
        summary.images_built += int(env.built)
        summary.environments += 1
        futures += [validate.submit(request, repo_path, c, env) for c in group.candidates]
    sink().stage("validating")
    held = _collect(futures, layout, summary, hold=wants_every_extra)
    if held:
        _retry_with_every_extra(request, repo_path, groups, held, layout, summary)


def _retry_with_every_extra(
    request: BackfillRequest,
    repo_path: str,
    groups: list[Group],
    held: list[Task],
    layout: DatasetLayout,
    summary: BackfillSummary,
) -> None:
    """Candidates whose tests skipped on both sides: one more environment per group, with
    every non-docs extra, and those candidates validated again (``dockerfiles.extras_retry``)."""
    first = {task.instance_id: task for task in held}
    futures: list[PrefectFuture[Task]] = []
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
            env = build_group_environment(request, repo_path, Group(plan, originals))
        except EnvironmentFailed as error:
            unchanged += [
                after_retry(first[c.instance_id], None, extras, str(error)[:300]) for c in originals
            ]
            continue
        futures += [validate.submit(request, repo_path, c, env) for c in originals]
    _write(layout, summary, unchanged)
    _collect(futures, layout, summary, first=first)


def _collect(
    futures: list[PrefectFuture[Task]],
    layout: DatasetLayout,
    summary: BackfillSummary,
    hold: Callable[[Task], bool] | None = None,
    first: dict[str, Task] | None = None,
) -> list[Task]:
    """Write results as they come; those ``hold`` picks are returned instead, and a result
    whose earlier verdict is in ``first`` is merged with it (``after_retry``)."""
    buffer: list[Task] = []
    held: list[Task] = []
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except TransientError:
                summary.infrastructure += 1
                continue
            if first and result.instance_id in first:
                earlier = first[result.instance_id]
                extras = result.install_config.extras if result.install_config else []
                result = after_retry(earlier, result, extras)
            elif hold is not None and hold(result):
                held.append(result)
                continue
            buffer.append(result)
            if len(buffer) >= WRITE_EVERY:
                _write(layout, summary, buffer)
                buffer = []
    finally:
        _write(layout, summary, buffer)
    return held


def _write(layout: DatasetLayout, summary: BackfillSummary, tasks: list[Task]) -> None:
    write_tasks(layout, tasks)
    summary.count(tasks)
    for task_ in tasks:
        sink().finished(task_)


def funnel_rows(summary: BackfillSummary) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"stage": "merged PRs selected", "count": summary.mined},
        {"stage": "already in the output", "count": summary.skipped},
        *(
            {"stage": f"listed PR #{number} not found", "count": 1, "why": why}
            for number, why in sorted(summary.not_found.items())
        ),
        {"stage": "verified", "count": summary.verified},
    ]
    for reason, count in sorted(summary.rejected.items(), key=lambda item: -item[1]):
        rows.append(
            {
                "stage": f"rejected: {reason}",
                "count": count,
                "why": OUTCOME_REASONS[Outcome(reason)],
            }
        )
    rows += [
        {"stage": "infrastructure failures (not written)", "count": summary.infrastructure},
        {"stage": "environments working", "count": summary.environments},
        {"stage": "environments failed", "count": summary.environments_failed},
        {"stage": "images built", "count": summary.images_built},
    ]
    return rows


def publish_artifacts(summary: BackfillSummary) -> None:
    """The yield funnel as a table artifact and a markdown summary of the flow run."""
    key = re.sub(r"[^a-z0-9-]+", "-", summary.repo.lower())
    create_table_artifact(
        table=funnel_rows(summary),
        key=f"yield-{key}",
        description=f"Yield funnel of {summary.repo}",
    )
    not_found = "".join(f"- PR #{n} not found: {why}\n" for n, why in summary.not_found.items())
    markdown = (
        f"# {summary.repo}\n\n"
        f"- **{summary.verified}** verified of {summary.mined} merged PRs selected "
        f"({summary.skipped} already in the output)\n"
        f"- rejected: {sum(summary.rejected.values())} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(summary.rejected.items())) or 'none'})\n"
        f"- infrastructure failures left for a rerun: {summary.infrastructure}\n"
        f"{not_found}"
        f"- images built: {summary.images_built}; wall time {summary.wall_time_s:.1f} s\n"
        f"- output: `{summary.out}`\n"
    )
    create_markdown_artifact(
        markdown=markdown, key=f"summary-{key}", description=f"Backfill summary of {summary.repo}"
    )


@flow(name="taskforge-scheduled")
def scheduled_backfill(group: str, schedules: str = "") -> list[BackfillSummary]:
    """Backfill every repository of a group listed in the schedules file ("": the packaged one)."""
    found = load_schedules(Path(schedules) if schedules else None).get(group)
    if found is None:
        raise UserInputError(f"no group {group!r} in {schedules or DEFAULT_SCHEDULES}")
    return [backfill_flow(found.request_for(entry)) for entry in found.repos]


def task_runner(spec: str, workers: int) -> TaskRunner[Any]:
    """``threads`` (default), ``dask`` (a local cluster), or ``dask://HOST:PORT``."""
    if spec == "threads":
        return ThreadPoolTaskRunner(max_workers=workers)
    if spec == "dask" or spec.startswith("dask://"):
        from prefect_dask.task_runners import DaskTaskRunner

        if spec == "dask":
            return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
        return DaskTaskRunner(address="tcp://" + spec.removeprefix("dask://"))
    raise UserInputError(f"--task-runner takes threads, dask or dask://HOST:PORT, not {spec!r}")


def run_backfill(request: BackfillRequest) -> BackfillSummary:
    """Run the flow once on the task runner the request names."""
    runner = task_runner(request.task_runner, request.workers)
    configured = backfill_flow.with_options(task_runner=runner)
    return configured(request)
