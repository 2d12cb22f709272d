"""Prefect tasks over the stages' plain functions; retries and caching are declared here only.

- Only ``TransientError`` (infrastructure) is retried, twice, 5 s apart; each retry is counted
  and shown.
- A validation's result is persisted (the CLI points Prefect's local result storage at
  ``OUT/.cache/results``) and keyed by what decides
  it — instance id, base and fix commits, both patches, the environment's fingerprint, the
  repeats and limits, and the pipeline version — so a rerun after a crash replays finished
  validations instead of running their tests again.
- Environments are not cached here: their images are content-addressed, and
  ``build_environment`` reuses an image that exists.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import git
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from dockerfiles.environment import Environment, EnvPlan, build_environment, plan_environment
from dockerfiles.overrides import load_overrides
from pipeline.backfill.steps import (
    BackfillRequest,
    mine_candidates,
    open_repository,
    select_pulls,
    source_kind,
)
from pipeline.core import PIPELINE_VERSION
from pipeline.core.engine import docker_client
from pipeline.core.errors import MissingObjectError, TransientError
from pipeline.core.records import ImageRef, InstallConfig, Outcome, Task, instance_id_for
from pipeline.dataset.shards import DatasetLayout, finished_instance_ids
from pipeline.orchestration.progress import sink
from validators.collect import collection_problem
from validators.sandbox import SandboxLimits
from validators.validate import Repeats, validate_candidate

RETRIES: list[str] = []  # infrastructure failures retried in this process, for the summary


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
    merged_at: dict[int, datetime]  # selected PR -> merge time, for a GitHub source's cursor
    not_found: dict[int, str] = {}  # listed PR -> why it cannot be mined


def _limits(request: BackfillRequest) -> SandboxLimits:
    return SandboxLimits(memory=request.memory, cpus=request.cpus, timeout_s=request.timeout_s)


@task(cache_policy=NO_CACHE)
def mine(request: BackfillRequest) -> Mined:
    """Candidates not yet in the output, with their provenance."""
    repo = open_repository(request)
    selection = select_pulls(repo, request)
    pulls = selection.pulls
    done = finished_instance_ids(DatasetLayout(request.out))
    fresh = [p for p in pulls if instance_id_for(request.repo, p.number) not in done]
    provenance = {
        "source_kind": source_kind(request, repo),
        "pipeline_version": PIPELINE_VERSION,
        "mined_at": datetime.now(UTC),
    }
    return Mined(
        candidates=[c.model_copy(update=provenance) for c in mine_candidates(repo, request, fresh)],
        selected=len(pulls),
        skipped=len(pulls) - len(fresh),
        repo_path=str(repo.git_dir if repo.bare else repo.working_dir),
        merged_at={p.number: p.merged_at for p in pulls},
        not_found=selection.not_found,
    )


@dataclass
class Planned:
    """The groups to build, and the candidates whose environment cannot even be planned."""

    groups: list[Group]
    unplannable: list[Task]  # rejected: their dependency files cannot be read


@task(cache_policy=NO_CACHE)
def plan_environments(request: BackfillRequest, repo_path: str, runnable: list[Task]) -> Planned:
    """Candidates grouped by dependency state; each group gets one environment."""
    repo = git.Repo(repo_path)
    overrides = load_overrides()
    groups: dict[str, Group] = {}
    unplannable: list[Task] = []
    for candidate in sorted(runnable, key=lambda t: t.created_at):
        try:
            plan = plan_environment(repo, request.repo, candidate.base_commit, overrides)
        except MissingObjectError as error:  # one PR's missing file never costs the run
            update = {"outcome": Outcome.MISSING_OBJECT, "outcome_detail": str(error)}
            unplannable.append(candidate.model_copy(update=update))
            continue
        group = groups.setdefault(plan.key, Group(plan=plan, candidates=[]))
        group.candidates.append(candidate)
        group.plan = plan  # the newest base of the group sets up the environment
    return Planned(list(groups.values()), unplannable)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5, retry_condition_fn=_is_transient)
def build_group_environment(request: BackfillRequest, repo_path: str, group: Group) -> Environment:
    repo = git.Repo(repo_path)
    test_files = [f for c in group.candidates for f in c.test_files]
    log_dir = DatasetLayout(request.out).logs_dir
    with closing(docker_client()) as client:

        def collects(image: ImageRef, _config: InstallConfig) -> str | None:
            setup = group.plan.setup_commit
            return collection_problem(client, repo, image, setup, test_files, _limits(request))

        return build_environment(client, repo, group.plan, log_dir, check=collects)


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
        "pipeline_version": PIPELINE_VERSION,
    }
    return "validation-" + _sha(json.dumps(decided_by, sort_keys=True))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@task(
    cache_key_fn=validation_key,
    persist_result=True,
    retries=2,
    retry_delay_seconds=5,
    retry_condition_fn=_is_transient,
)
def validate(request: BackfillRequest, repo_path: str, candidate: Task, env: Environment) -> Task:
    repeats = Repeats(before=request.before_repeats, after=request.after_repeats)
    with closing(docker_client()) as client:  # one connection pool per validation, closed
        validated = validate_candidate(
            candidate, git.Repo(repo_path), client, env.image, _limits(request), repeats
        )
    return validated.model_copy(
        update={
            "install_config": env.config,
            "environment_setup_commit": env.setup_commit,
            "env_attempts": env.attempts,
        }
    )
