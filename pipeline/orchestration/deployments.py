"""Deployments of the scheduled flow on Prefect work pools, one per schedules group.

``taskforge deploy --pool NAME`` registers, for each group of the schedules file, a deployment
``backfill-<group>`` of ``scheduled_backfill`` with the group's cron schedule (UTC): the
schedules file is the one source of schedules, and nothing else is written twice. Each
deployment carries:

- an entrypoint that is a module path (``ENTRYPOINT``), which Prefect's worker imports from the
  package installed on it (prefect/flows.py ``load_flow_from_flow_run``: a module-path
  entrypoint is imported after the pull steps, and there are none), so no path of the
  deployer's machine, no pull step and no ``{{ $VAR }}`` of a worker path is in it;
- its name, ``backfill-<group>``, which is also what ``taskforge serve`` names it: one
  deployment per group, so deploying a group again (to another pool, or serving it) moves it
  rather than scheduling a second writer of the same output;
- the group itself as a parameter (``definition``), as it was read from the file when it was
  deployed, so a worker needs no copy of a schedules file; its relative paths are resolved by
  the run on the worker (``pipeline.orchestration.schedules.resolve_on_worker``);
- for a Docker pool (``DockerMounts``), job variables that make the output findable: the
  engine's socket, a volume for the cache folder and one for the output, mounted at fixed
  container paths that ``TASKFORGE_CACHE`` and ``TASKFORGE_ROOT`` name, so a group's relative
  ``out`` lands in the output volume. A volume is Docker's ``-v`` source: a named volume, an
  absolute host path, or a relative one, which the Docker worker resolves against its own
  working folder when it starts the container. A group whose absolute ``out`` or ``work_dir``
  is outside those mounts would be written inside the container and lost with it: refused. An
  ``out`` on object storage (``s3://bucket/prefix``) needs no output volume; the cache volume
  still keeps the work folder (manifest, results) and the mirrors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from pipeline.core.errors import TransientError, UserInputError
from pipeline.dataset.location import DatasetUrl
from pipeline.orchestration.schedules import ROOT_ENV, ScheduleGroup

ENTRYPOINT = "pipeline.orchestration.flows.scheduled_backfill"
CONTAINER_CACHE = PurePosixPath("/taskforge/cache")
CONTAINER_ROOT = PurePosixPath("/taskforge/out")
ENGINE_SOCKET = "/var/run/docker.sock"
DOCKER_POOL_TYPE = "docker"


@dataclass(frozen=True)
class DockerMounts:
    """What a Docker pool's flow container gets: taskforge's image, the engine, two volumes."""

    image: str
    cache_volume: str = "taskforge-cache"
    out_volume: str = "taskforge-out"
    engine_socket: str = ENGINE_SOCKET
    env: dict[str, str] = field(default_factory=dict)

    def job_variables(self) -> dict[str, Any]:
        """The Docker worker's job variables (prefect-docker's ``DockerWorkerJobConfiguration``)."""
        return {
            "image": self.image,
            "volumes": [
                f"{self.engine_socket}:{ENGINE_SOCKET}",
                f"{self.cache_volume}:{CONTAINER_CACHE}",
                f"{self.out_volume}:{CONTAINER_ROOT}",
            ],
            "env": {
                "TASKFORGE_CACHE": str(CONTAINER_CACHE),
                ROOT_ENV: str(CONTAINER_ROOT),
                **self.env,
            },
        }


def deployment_name(group: ScheduleGroup) -> str:
    """The deployment of ``group``: ``backfill-<name>``, as ``taskforge serve`` names it too."""
    return f"backfill-{group.name}"


def parameters(group: ScheduleGroup) -> dict[str, Any]:
    """The flow parameters of ``group``'s deployment: its name and its definition."""
    return {"group": group.name, "definition": group.model_dump(mode="json")}


def check_in_container(group: ScheduleGroup) -> None:
    """Bad input when a Docker pool's run of ``group`` would write outside its volumes."""
    for what, path in (("out", group.out), ("work_dir", group.work_dir)):
        if path is None or isinstance(path, DatasetUrl) or not path.is_absolute():
            continue  # relative: in the output volume (TASKFORGE_ROOT); a URL: outside
        inside = PurePosixPath(path)
        if not (inside.is_relative_to(CONTAINER_ROOT) or inside.is_relative_to(CONTAINER_CACHE)):
            raise UserInputError(
                f"group {group.name}: {what} {path} is inside the flow's container and lost "
                f"with it; give a relative path (it lands in the output volume, "
                f"{CONTAINER_ROOT}) or one under {CONTAINER_ROOT}"
            )


def register(
    groups: list[ScheduleGroup], pool: str, docker: DockerMounts | None = None
) -> list[str]:
    """Create or update the deployment of each group on ``pool``; one line per deployment.

    The pool must exist, and be a Docker pool exactly when ``docker`` is given.
    """
    from prefect.client.orchestration import get_client
    from prefect.deployments.runner import RunnerDeployment
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from pipeline.orchestration.flows import scheduled_backfill

    try:
        with get_client(sync_client=True) as client:
            found = client.read_work_pool(pool)
    except ObjectNotFound:
        kind = DOCKER_POOL_TYPE if docker else "process"
        raise UserInputError(
            f"no work pool {pool}: create it with `prefect work-pool create {pool} --type {kind}`"
        ) from None
    except (PrefectHTTPStatusError, OSError) as error:
        raise TransientError(f"Prefect's API did not answer: {str(error)[:200]}") from None
    _check_pool_type(pool, found.type, docker)
    lines = []
    for group in groups:
        if docker is not None:
            check_in_container(group)
        deployment = RunnerDeployment.from_flow(
            scheduled_backfill,
            name=deployment_name(group),
            schedules=[Cron(group.cron, timezone="UTC")],
            parameters=parameters(group),
            description=f"Backfill {', '.join(r.repo for r in group.repos)} into {group.out}",
            work_pool_name=pool,
            job_variables=docker.job_variables() if docker else {},
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        deployment.apply()  # outside an event loop: Prefect's sync variant
        lines.append(
            f"{scheduled_backfill.name}/{deployment.name} on pool {pool}: cron "
            f"{group.cron!r} (UTC), {len(group.repos)} repositories, output {group.out}"
        )
    return lines


def _check_pool_type(pool: str, pool_type: str, docker: DockerMounts | None) -> None:
    """Bad input when ``--image`` and the pool's type disagree."""
    if docker is not None and pool_type != DOCKER_POOL_TYPE:
        raise UserInputError(
            f"work pool {pool} is of type {pool_type}; --image is for Docker pools"
        )
    if docker is None and pool_type == DOCKER_POOL_TYPE:
        raise UserInputError(
            f"work pool {pool} is a Docker pool: give --image, an image with taskforge installed"
        )
