"""Prefect flows: thin composition of the stages' plain functions.

Retries, timeouts and caching are declared here, on the task decorators, and nowhere else.
Only ``TransientError`` (infrastructure) is retried; a candidate that still fails on
infrastructure is reported apart and not written, so a rerun picks it up. Validations run
concurrently on a thread pool sized by ``BackfillRequest.workers``.
"""

from __future__ import annotations

import time
from typing import Any

import git
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel

from dockerfiles.environment import Environment, prepare_environment
from pipeline.backfill import (
    BackfillRequest,
    BackfillSummary,
    mine_candidates,
    newest_base,
    select_pulls,
)
from pipeline.dataset import DatasetLayout, finished_instance_ids, write_tasks
from pipeline.errors import ImageBuildError, TransientError
from pipeline.progress import sink
from pipeline.records import Outcome, Task, instance_id_for
from pipeline.source import open_source
from validators.sandbox import SandboxLimits, docker_client, remove_leftovers
from validators.validate import validate_candidate

WRITE_EVERY = 25  # validated tasks buffered before a shard is written


def _is_transient(_task: Any, _run: Any, state: Any) -> bool:
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False


class Mined(BaseModel):
    candidates: list[Task]
    selected: int  # merged PRs the request selects
    skipped: int  # of those, already in the output
    repo_path: str  # the local repository (a mirror of a URL source)


@task(cache_policy=NO_CACHE)
def mine(request: BackfillRequest) -> Mined:
    """Candidates not yet in the output."""
    repo = open_source(request.source, request.cache_dir)
    pulls = select_pulls(repo, request)
    done = finished_instance_ids(DatasetLayout(request.out))
    fresh = [p for p in pulls if instance_id_for(request.repo, p.number) not in done]
    return Mined(
        candidates=mine_candidates(repo, request, fresh),
        selected=len(pulls),
        skipped=len(pulls) - len(fresh),
        repo_path=str(repo.git_dir if repo.bare else repo.working_dir),
    )


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def build_environment(request: BackfillRequest, repo_path: str, setup_commit: str) -> Environment:
    client = docker_client()
    remove_leftovers(client)
    return prepare_environment(
        client,
        git.Repo(repo_path),
        request.repo,
        setup_commit,
        request.python,
        DatasetLayout(request.out).logs_dir,
    )


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def validate(request: BackfillRequest, repo_path: str, candidate: Task, env: Environment) -> Task:
    limits = SandboxLimits(memory=request.memory, cpus=request.cpus, timeout_s=request.timeout_s)
    validated = validate_candidate(
        candidate, git.Repo(repo_path), docker_client(), env.image, limits
    )
    return validated.model_copy(
        update={"install_config": env.config, "environment_setup_commit": env.setup_commit}
    )


@flow(name="taskforge-backfill")
def backfill_flow(request: BackfillRequest) -> BackfillSummary:
    """Mine, build the environment, validate and write one repository's tasks."""
    started = time.monotonic()
    layout = DatasetLayout(request.out)
    layout.prepare()
    summary = BackfillSummary(repo=request.repo, out=request.out)
    sink().stage("mining")
    mined = mine(request)
    candidates, summary.mined, summary.skipped = mined.candidates, mined.selected, mined.skipped
    dropped = [c for c in candidates if c.outcome is not None]
    runnable = [c for c in candidates if c.outcome is None]
    write_tasks(layout, dropped)
    summary.count(dropped)
    sink().planned(len(candidates))
    for task_ in dropped:
        sink().finished(task_)
    if runnable:
        _validate_all(request, mined.repo_path, runnable, layout, summary)
    summary.wall_time_s = round(time.monotonic() - started, 1)
    return summary


def _validate_all(
    request: BackfillRequest,
    repo_path: str,
    runnable: list[Task],
    layout: DatasetLayout,
    summary: BackfillSummary,
) -> None:
    sink().stage("building environment")
    try:
        env = build_environment(request, repo_path, newest_base(runnable))
    except ImageBuildError as error:
        failed = [
            c.model_copy(
                update={"outcome": Outcome.ENVIRONMENT_FAILED, "outcome_detail": str(error)}
            )
            for c in runnable
        ]
        write_tasks(layout, failed)
        summary.count(failed)
        for task_ in failed:
            sink().finished(task_)
        return
    summary.images_built += int(env.built)
    sink().stage("validating")
    futures: list[PrefectFuture[Task]] = [
        validate.submit(request, repo_path, c, env) for c in runnable
    ]
    buffer: list[Task] = []
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except TransientError:
                summary.infrastructure += 1
                continue
            buffer.append(result)
            sink().finished(result)
            if len(buffer) >= WRITE_EVERY:
                write_tasks(layout, buffer)
                summary.count(buffer)
                buffer = []
    finally:
        write_tasks(layout, buffer)
        summary.count(buffer)


def run_backfill(request: BackfillRequest) -> BackfillSummary:
    """Run the flow with a thread pool of ``request.workers`` validations."""
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=request.workers)
    # Prefect's annotation is invariant in the future type; a thread pool is what it expects.
    configured = backfill_flow.with_options(task_runner=runner)  # type: ignore[arg-type]
    return configured(request)
