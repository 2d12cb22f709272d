"""Prefect flows: thin composition of the stages' plain functions.

Retries, timeouts and caching are declared here, on the task decorators, and nowhere else.
Only ``TransientError`` (infrastructure) is retried; a candidate that still fails on
infrastructure is reported apart and not written, so a rerun picks it up. Validations run
concurrently on a thread pool sized by ``BackfillRequest.workers``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import git
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import BaseModel

from dockerfiles.environment import (
    Environment,
    EnvironmentFailed,
    EnvPlan,
    build_environment,
    plan_environment,
)
from dockerfiles.overrides import load_overrides
from pipeline.backfill import (
    BackfillRequest,
    BackfillSummary,
    mine_candidates,
    select_pulls,
)
from pipeline.card import finalize
from pipeline.dataset import DatasetLayout, finished_instance_ids, write_tasks
from pipeline.errors import TransientError
from pipeline.progress import sink
from pipeline.records import ImageRef, InstallConfig, Outcome, Task, instance_id_for
from pipeline.source import open_source
from validators.collect import collection_problem
from validators.sandbox import SandboxLimits, docker_client, remove_leftovers
from validators.validate import Repeats, validate_candidate

WRITE_EVERY = 25  # validated tasks buffered before a shard is written


def _is_transient(_task: Any, run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry infrastructure failures only, and say so."""
    try:
        state.result()
    except TransientError as error:
        sink().stage(f"retrying {getattr(run, 'name', 'a task')}: {str(error)[:80]}")
        RETRIES.append(str(error))
        return True
    except Exception:
        return False
    return False


RETRIES: list[str] = []  # infrastructure failures retried in this process, for the summary


@dataclass
class Group:
    """Candidates that share a dependency state, and the plan of their environment."""

    plan: EnvPlan
    candidates: list[Task]


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


@task(cache_policy=NO_CACHE)
def plan_environments(
    request: BackfillRequest, repo_path: str, runnable: list[Task]
) -> list[Group]:
    """Candidates grouped by dependency state; each group gets one environment."""
    repo = git.Repo(repo_path)
    overrides = load_overrides()
    groups: dict[str, Group] = {}
    for candidate in sorted(runnable, key=lambda t: t.created_at):
        plan = plan_environment(repo, request.repo, candidate.base_commit, overrides)
        group = groups.setdefault(plan.key, Group(plan=plan, candidates=[]))
        group.candidates.append(candidate)
        group.plan = plan  # the newest base of the group sets up the environment
    return list(groups.values())


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def build_group_environment(request: BackfillRequest, repo_path: str, group: Group) -> Environment:
    client = docker_client()
    repo = git.Repo(repo_path)
    limits = SandboxLimits(memory=request.memory, cpus=request.cpus, timeout_s=request.timeout_s)
    test_files = [f for c in group.candidates for f in c.test_files]

    def collects(image: ImageRef, _config: InstallConfig) -> str | None:
        return collection_problem(client, repo, image, group.plan.setup_commit, test_files, limits)

    return build_environment(
        client, repo, group.plan, DatasetLayout(request.out).logs_dir, check=collects
    )


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def validate(request: BackfillRequest, repo_path: str, candidate: Task, env: Environment) -> Task:
    limits = SandboxLimits(memory=request.memory, cpus=request.cpus, timeout_s=request.timeout_s)
    repeats = Repeats(before=request.before_repeats, after=request.after_repeats)
    validated = validate_candidate(
        candidate, git.Repo(repo_path), docker_client(), env.image, limits, repeats
    )
    return with_environment(validated, env)


def with_environment(task_: Task, env: Environment) -> Task:
    return task_.model_copy(
        update={
            "install_config": env.config,
            "environment_setup_commit": env.setup_commit,
            "env_attempts": env.attempts,
        }
    )


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
    dropped = [c for c in candidates if c.outcome is not None]
    runnable = [c for c in candidates if c.outcome is None]
    _write(layout, summary, dropped)
    sink().planned(len(candidates))
    if runnable:
        remove_leftovers(docker_client())
        groups = plan_environments(request, mined.repo_path, runnable)
        _validate_groups(request, mined.repo_path, groups, layout, summary)
    finalize(layout)  # manifest and dataset card, once the run's shards are written
    summary.infrastructure_retries = len(RETRIES)
    summary.wall_time_s = round(time.monotonic() - started, 1)
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
        except EnvironmentFailed as error:
            failed = [
                c.model_copy(
                    update={
                        "outcome": Outcome.ENVIRONMENT_FAILED,
                        "outcome_detail": str(error)[:2000],
                        "env_attempts": error.attempts,
                    }
                )
                for c in group.candidates
            ]
            summary.environments_failed += 1
            _write(layout, summary, failed)
            continue
        summary.images_built += int(env.built)
        summary.environments += 1
        futures += [validate.submit(request, repo_path, c, env) for c in group.candidates]
    sink().stage("validating")
    buffer: list[Task] = []
    try:
        for future in as_completed(futures):
            try:
                result = future.result()
            except TransientError:
                summary.infrastructure += 1
                continue
            buffer.append(result)
            if len(buffer) >= WRITE_EVERY:
                _write(layout, summary, buffer)
                buffer = []
    finally:
        _write(layout, summary, buffer)


def _write(layout: DatasetLayout, summary: BackfillSummary, tasks: list[Task]) -> None:
    write_tasks(layout, tasks)
    summary.count(tasks)
    for task_ in tasks:
        sink().finished(task_)


def run_backfill(request: BackfillRequest) -> BackfillSummary:
    """Run the flow with a thread pool of ``request.workers`` validations."""
    runner: ThreadPoolTaskRunner[Any] = ThreadPoolTaskRunner(max_workers=request.workers)
    # Prefect's annotation is invariant in the future type; a thread pool is what it expects.
    configured = backfill_flow.with_options(task_runner=runner)  # type: ignore[arg-type]
    return configured(request)
