"""``taskforge serve``: run the scheduled deployments of the schedules file
(the packaged ``pipeline/orchestration/schedules.toml`` unless ``--schedules`` names another).

Each group of the schedules file becomes a deployment ``backfill-<group>`` of the
``taskforge-scheduled`` flow with the group's cron schedule, served by this process. Schedules
need a Prefect server that outlives this process (``prefect server start``, then
``PREFECT_API_URL``); the command refuses to start without one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.core.errors import UserInputError
from pipeline.orchestration.schedules import DEFAULT_SCHEDULES, load_schedules


def register(app: typer.Typer) -> None:
    """Add ``taskforge serve`` to ``app``."""
    app.command()(serve)


def serve(
    schedules: Annotated[
        Path | None, typer.Option(help="The schedules file (default: the packaged one).")
    ] = None,
    group: Annotated[
        list[str] | None, typer.Option(help="Serve only these groups (repeatable).")
    ] = None,
) -> None:
    """Serve the cron-scheduled backfill deployments of the repository groups."""
    loaded = load_schedules(schedules)
    chosen = [g for g in loaded.groups if not group or g.name in group]
    unknown = sorted(set(group or []) - {g.name for g in loaded.groups})
    if unknown:
        raise UserInputError(f"no group {', '.join(unknown)} in {schedules or DEFAULT_SCHEDULES}")
    if not os.environ.get("PREFECT_API_URL"):
        raise UserInputError(
            "schedules need a running Prefect server: run `prefect server start` and "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api"
        )
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    from prefect import serve as prefect_serve

    from pipeline.orchestration.flows import scheduled_backfill

    path = str(schedules.resolve()) if schedules else ""  # "": the packaged file
    deployments = [
        scheduled_backfill.to_deployment(
            name=f"backfill-{g.name}",
            cron=g.cron,
            parameters={"group": g.name, "schedules": path},
            description=f"Backfill {', '.join(r.repo for r in g.repos)} into {g.out}",
        )
        for g in chosen
    ]
    prefect_serve(*deployments)  # type: ignore[arg-type]
