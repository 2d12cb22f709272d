"""Prefect tasks over the stages' plain functions; retries, caching and result storage are
declared here only, for every entry point alike (the CLI, ``taskforge serve`` and ``taskforge
deploy``).

- Only ``TransientError`` (infrastructure) is retried, twice, 5 s apart. Each task returns its
  value with the retries it took (``Attempted``, from Prefect's own run count), so retries on
  Dask worker processes are counted too; a result replayed from the cache took none.
- A validation's result is persisted in the dataset's work folder, ``WORK/results``
  (``DatasetLayout.results_dir``; ``results_in``, entered by
  ``pipeline.orchestration.flows.run_backfill`` around each flow run, which also sets it as
  the flow's own result storage, as a subflow needs), never in the published
  dataset folder: the records are pickles holding absolute paths. It is keyed by what decides
  it — instance id, base and fix commits, both patches, the environment's fingerprint, the
  repeats and limits, the strength check and its threshold, the pipeline version and the
  dataset schema — so a rerun after a crash replays finished validations instead of running
  their tests again. Prefect finds a record
  by its key in the storage folder alone, so records moved there from the previous layout's
  ``OUT/.cache/results`` replay as well.
- Environments are not cached here: their images are content-addressed, and
  ``build_environment`` reuses an image that exists.
- Grouping candidates by dependency state is ``pipeline.backfill.grouping``'s policy.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import docker
import git
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings
from pydantic import BaseModel

from dockerfiles.environment import Environment, EnvPlan, build_environment, plan_environment
from dockerfiles.later_states import with_later_states
from dockerfiles.overrides import load_overrides
from dockerfiles.registry import Registry, push_image
from dockerfiles.testbed import build_instance_image
from pipeline.backfill.grouping import Group, Planned, group_by_dependency_state
from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.steps import mine_candidates, open_repository, select_pulls, source_kind
from pipeline.backfill.worker_repo import logs_dir, repository
from pipeline.core import PIPELINE_VERSION
from pipeline.core.engine import docker_client
from pipeline.core.errors import TransientError
from pipeline.core.images import ensure_image
from pipeline.core.records import ImageRef, InstallConfig, Task, instance_id_for
from pipeline.dataset.shards import DatasetLayout, finished_instance_ids
from pipeline.dataset.storage import SCHEMA_VERSION
from pipeline.orchestration.progress import sink
from validators.collect import collection_problem
from validators.sandbox import SandboxLimits, remove_leftovers
from validators.strength import judged
from validators.strength_runs import measure_strength
from validators.validate import Repeats, validate_candidate

Value = TypeVar("Value")
RESULT_FORMAT = 2  # of a persisted validation; 2: ``Attempted[Task]`` (1 was a bare ``Task``)


@dataclass(frozen=True)
class Attempted(Generic[Value]):
    """A task's value and how many infrastructure failures were retried before it."""

    value: Value
    retries: int


def _attempted(value: Value) -> Attempted[Value]:
    """``value`` with the retries of the running task (Prefect counts runs from 1)."""
    return Attempted(value, max(0, task_run.run_count - 1))


def _is_transient(_task: Any, run: Any, state: Any) -> bool:
    """Prefect's retry condition: retry infrastructure failures only, and say so."""
    try:
        state.result()
    except TransientError as error:
        sink().stage(f"retrying {getattr(run, 'name', 'a task')}: {str(error)[:80]}")
        return True
    except Exception:
        return False
    return False


@contextmanager
def results_in(layout: DatasetLayout) -> Iterator[Path]:
    """Persist the flow runs started inside the block in the work folder's ``results_dir``;
    yields that folder.

    Prefect fixes a flow run's result storage when it starts, and hands it to the task runs
    of the flow (in threads or on Dask workers), so the setting is entered around the run. A
    subflow takes its parent's storage instead of the setting, so the caller also gives the
    flow the folder as its ``result_storage`` (``flows.run_backfill``).
    """
    results = layout.results_dir.resolve()
    with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: results}):
        yield results


class Mined(BaseModel):
    """What mining found: the candidates, and the counts and cursor data of the funnel."""

    candidates: list[Task]
    selected: int  # merged PRs the request selects
    skipped: int  # of those, already in the output
    repo_path: str  # the local repository (a mirror of a URL source)
    merged_at: dict[int, datetime]  # selected PR -> merge time, for a GitHub source's cursor
    not_found: dict[int, str] = {}  # listed PR -> why it cannot be mined


def _limits(request: BackfillRequest) -> SandboxLimits:
    """The sandbox limits the request asks for."""
    return SandboxLimits(memory=request.memory, cpus=request.cpus, timeout_s=request.timeout_s)


@task(cache_policy=NO_CACHE)
def mine(request: BackfillRequest) -> Mined:
    """Candidates not yet in the output, with their provenance."""
    repo = open_repository(request)
    selection = select_pulls(repo, request)
    pulls = selection.pulls
    done = finished_instance_ids(request.layout(), request.retry)
    fresh = [p for p in pulls if instance_id_for(request.repo, p.number) not in done]
    kind, mined_at = source_kind(request, repo), datetime.now(UTC)
    candidates = mine_candidates(repo, request, fresh)
    return Mined(
        candidates=[c.with_provenance(kind, PIPELINE_VERSION, mined_at) for c in candidates],
        selected=len(pulls),
        skipped=len(pulls) - len(fresh),
        repo_path=str(repo.git_dir if repo.bare else repo.working_dir),
        merged_at={p.number: p.merged_at for p in pulls},
        not_found=selection.not_found,
    )


@task(cache_policy=NO_CACHE)
def plan_environments(request: BackfillRequest, repo_path: str, runnable: list[Task]) -> Planned:
    """Candidates grouped by dependency state (``pipeline.backfill.grouping``), each group's
    plan with the later states its fixes lead to (``dockerfiles.later_states``)."""
    repo = git.Repo(repo_path)
    overrides = load_overrides()

    def plan_for(candidate: Task) -> EnvPlan:
        return plan_environment(
            repo, request.repo, candidate.base_commit, overrides, language=candidate.language
        )

    planned = group_by_dependency_state(runnable, plan_for)
    for group in planned.groups:  # what the group's fixes add to the dependencies, too
        group.plan = with_later_states(group.plan, group.candidates)
    return planned


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def build_group_environment(
    request: BackfillRequest, repo_path: str, group: Group
) -> Attempted[Environment]:
    """The environment of ``group``'s dependency state, built or reused, checked to collect."""
    repo = repository(request, repo_path, [group.plan.setup_commit])
    test_files = [f for c in group.candidates for f in c.test_files]
    log_dir = logs_dir(request) if request.build_on_workers else request.layout().logs_dir
    with closing(docker_client()) as client:
        if request.build_on_workers:
            remove_leftovers_once(client)

        def collects(image: ImageRef, config: InstallConfig) -> str | None:
            setup, limits = group.plan.setup_commit, _limits(request)
            runner = config.test_runner
            return collection_problem(client, repo, image, setup, test_files, limits, runner)

        env = build_environment(client, repo, group.plan, log_dir, check=collects)
        if request.registry:  # other workers and machines pull it by digest
            env = env.with_image(push_image(client, env.image, Registry.parse(request.registry)))
        return _attempted(env)


_cleaned: set[str] = set()  # engines this process has cleaned of a dead run's containers


def remove_leftovers_once(client: docker.DockerClient) -> None:
    """Remove, once per process and engine, the test containers a killed run left there."""
    engine = os.environ.get("DOCKER_HOST", "")  # this process's engine
    if engine not in _cleaned:
        _cleaned.add(engine)
        remove_leftovers(client)


def validation_key(_context: Any, parameters: dict[str, Any]) -> str:
    """What decides a validation's verdict, hashed."""
    request: BackfillRequest = parameters["request"]
    candidate: Task = parameters["candidate"]
    env: Environment = parameters["env"]
    decided_by = {
        "instance_id": candidate.instance_id,
        "commits": [candidate.base_commit, candidate.fix_commit],
        "patches": [_sha(candidate.patch), _sha(candidate.test_patch)],
        "environment": env.image.fingerprint or env.image.id,
        "repeats": [request.before_repeats, request.after_repeats],
        "limits": [request.memory, request.cpus, request.timeout_s],
        "packaging": [request.registry, request.instance_images],
        "strength": [request.strength, request.min_strength],
        "pipeline_version": PIPELINE_VERSION,
        "result_format": RESULT_FORMAT,
        "schema": SCHEMA_VERSION,  # a record pickled before the Task changed is not replayed
    }
    return "validation-" + _sha(json.dumps(decided_by, sort_keys=True))


def _sha(text: str) -> str:
    """The SHA-256 of ``text``, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


@task(
    cache_key_fn=validation_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_is_transient,
)
def validate(
    request: BackfillRequest, repo_path: str, candidate: Task, env: Environment
) -> Attempted[Task]:
    """The candidate validated in ``env``, with how the environment was installed; a
    verified one with its test strength (unless ``--no-strength``), rejected as weak_tests
    below ``--min-strength``."""
    repeats = Repeats(before=request.before_repeats, after=request.after_repeats)
    repo = repository(request, repo_path, [candidate.base_commit, candidate.fix_commit])
    with closing(docker_client()) as client:  # one connection pool per validation, closed
        if request.remote_workers:
            remove_leftovers_once(client)  # what a killed worker left on this engine
        ensure_image(client, env.image)  # a worker on another engine pulls it by digest
        validated = validate_candidate(
            candidate,
            repo,
            client,
            env.image,
            _limits(request),
            repeats,
            test_runner=env.config.test_runner,
        )
        if validated.verified and request.strength:
            validated = measure_strength(
                validated, repo, client, env.image, _limits(request), env.config.test_runner
            )
        validated = validated.with_environment(env.config, env.setup_commit, env.attempts)
        validated = judged(validated, request.min_strength)
        if validated.verified and request.instance_images:
            validated = _with_instance_image(request, client, repo, validated)
    return _attempted(validated)


def _with_instance_image(
    request: BackfillRequest, client: docker.DockerClient, repo: git.Repo, task: Task
) -> Task:
    """``task`` with its instance image, built and (with a registry) pushed."""
    image = build_instance_image(client, repo, task, logs_dir(request))
    if request.registry:
        image = push_image(client, image, Registry.parse(request.registry))
    return task.with_instance_image(image)
