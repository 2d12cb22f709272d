"""``taskforge serve`` and ``taskforge deploy``: the scheduled deployments of the schedules
file (the packaged ``pipeline/orchestration/schedules.toml`` unless ``--schedules`` names
another), one per group, named ``backfill-<group>``, with the group's cron schedule.

``serve`` runs them in this process. ``deploy --pool NAME`` registers them on a Prefect work
pool, whose workers run them (``pipeline.orchestration.deployments``): a process pool's
workers import the flow from their installed taskforge; ``--image`` makes them Docker-pool
deployments whose containers get the engine's socket and volumes for the cache and the
output. Both need a Prefect server that outlives this process (``prefect server start``, then
``PREFECT_API_URL``) and refuse to start without one; ``deploy --image`` needs
``taskforge[docker]``. Bad input is told before Prefect is imported.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.console import stdout
from pipeline.core.errors import UserInputError
from pipeline.core.extras import Extra, require
from pipeline.orchestration.schedules import DEFAULT_SCHEDULES, ScheduleGroup, load_schedules

SchedulesOption = Annotated[
    Path | None, typer.Option(help="The schedules file (default: the packaged one).")
]
GroupOption = Annotated[list[str] | None, typer.Option(help="Only these groups (repeatable).")]


def register(app: typer.Typer) -> None:
    """Add ``taskforge serve`` and ``taskforge deploy`` to ``app``."""
    app.command()(serve)
    app.command()(deploy)


def _groups(schedules: Path | None, group: list[str] | None) -> list[ScheduleGroup]:
    """The chosen groups of the schedules file, once a Prefect server is named."""
    chosen = load_schedules(schedules).chosen(group, schedules or DEFAULT_SCHEDULES)
    if not os.environ.get("PREFECT_API_URL"):
        raise UserInputError(
            "schedules need a running Prefect server: run `prefect server start` and "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    return chosen


def serve(schedules: SchedulesOption = None, group: GroupOption = None) -> None:
    """Serve the cron-scheduled backfill deployments of the repository groups."""
    chosen = _groups(schedules, group)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    from prefect import serve as prefect_serve

    from pipeline.orchestration.deployments import deployment_name
    from pipeline.orchestration.flows import scheduled_backfill

    path = str(schedules.resolve()) if schedules else ""  # "": the packaged file
    deployments = [
        scheduled_backfill.to_deployment(
            name=deployment_name(g),
            cron=g.cron,
            parameters={"group": g.name, "schedules": path},
            description=f"Backfill {', '.join(r.repo for r in g.repos)} into {g.out}",
        )
        for g in chosen
    ]
    prefect_serve(*deployments)  # type: ignore[arg-type]


def deploy(
    pool: Annotated[str, typer.Option(help="The Prefect work pool that runs the deployments.")],
    image: Annotated[
        str | None,
        typer.Option(help="Docker pool: the image of the flow's container (taskforge in it)."),
    ] = None,
    schedules: SchedulesOption = None,
    group: GroupOption = None,
    cache_volume: Annotated[
        str, typer.Option(help="Docker pool: the cache folder's volume (a name or host path).")
    ] = "taskforge-cache",
    out_volume: Annotated[
        str,
        typer.Option(help="Docker pool: the volume relative `out` folders land in (name or path)."),
    ] = "taskforge-out",
) -> None:
    """Register the backfill deployments of the repository groups on a work pool."""
    if image is not None:
        require(Extra.DOCKER, "taskforge deploy --image")
    chosen = _groups(schedules, group)
    from pipeline.orchestration.deployments import DockerMounts, check_in_container
    from pipeline.orchestration.deployments import register as register_deployments

    mounts = None
    if image is not None:
        mounts = DockerMounts(image=image, cache_volume=cache_volume, out_volume=out_volume)
        for chosen_group in chosen:
            check_in_container(chosen_group)  # before Prefect is imported
    for line in register_deployments(chosen, pool, mounts):
        stdout.print(line, highlight=False, soft_wrap=True)
