"""Repository groups backfilled on a schedule, read from ``data/schedules.toml``.

Each ``[[group]]`` has a ``name``, a ``cron`` expression, an output folder ``out`` and its
``repos`` (``source`` as ``taskforge backfill`` takes it, and ``repo`` as OWNER/NAME). A
scheduled run of a group backfills each repository in turn; work already in the output is
skipped, so each run only does what is new.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.backfill import BackfillRequest
from pipeline.errors import UserInputError

DEFAULT_SCHEDULES = Path(__file__).resolve().parent.parent / "data" / "schedules.toml"


class ScheduledRepo(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    repo: str


class ScheduleGroup(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cron: str
    out: Path
    repos: list[ScheduledRepo]
    timeout_s: int = 900

    def request_for(self, entry: ScheduledRepo) -> BackfillRequest:
        return BackfillRequest(
            source=entry.source, repo=entry.repo, out=self.out, timeout_s=self.timeout_s
        )


class Schedules(BaseModel):
    groups: list[ScheduleGroup]

    def get(self, name: str) -> ScheduleGroup | None:
        return next((g for g in self.groups if g.name == name), None)


def load_schedules(path: Path = DEFAULT_SCHEDULES) -> Schedules:
    try:
        raw = tomllib.loads(path.read_text())
        return Schedules(groups=raw.get("group", []))
    except FileNotFoundError:
        raise UserInputError(f"no schedules file at {path}") from None
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise UserInputError(f"{path} is not a valid schedules file: {first}") from None
