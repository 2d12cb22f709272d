"""Repository groups backfilled on a schedule, read from ``schedules.toml``.

The committed groups ship inside the package (``pipeline/orchestration/schedules.toml``, read
with ``importlib.resources``), so a wheel install serves the same groups as a checkout; an
``out`` that is a relative path is relative to the working folder of the run.

Each ``[[group]]`` has a ``name``, a ``cron`` expression, an output ``out`` (a folder or a URL,
as ``--out``) and its
``repos`` (``source`` as ``taskforge backfill`` takes it, and ``repo`` as OWNER/NAME); optionally
``registry`` (``HOST[:PORT]/NAMESPACE``, as ``--registry``; else ``$TASKFORGE_PUSH_REGISTRY`` of
the worker), ``instance_images`` (as ``--instance-images``) and ``work_dir`` (the output's work
folder: its manifest, logs, results, cursors and lock; ``--work-dir`` of ``backfill``, by
default under the cache folder). A scheduled run of a group
backfills each repository in turn; work already in the output is skipped, so each run only
does what is new.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from dockerfiles.registry import Registry
from pipeline.backfill.request import BackfillRequest
from pipeline.core.errors import UserInputError
from pipeline.dataset.location import DatasetOut

DEFAULT_SCHEDULES: Traversable = resources.files("pipeline.orchestration") / "schedules.toml"


class ScheduledRepo(BaseModel):
    """One repository of a group: its source as ``taskforge backfill`` takes it, and its name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    repo: str


class ScheduleGroup(BaseModel):
    """A group of repositories backfilled into one output on one cron schedule."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cron: str
    out: DatasetOut  # a folder or a URL, as backfill's --out
    repos: list[ScheduledRepo]
    timeout_s: int = 900
    registry: str | None = None
    instance_images: bool = False
    work_dir: Path | None = None  # None: the default work folder of ``out``

    def request_for(self, entry: ScheduledRepo) -> BackfillRequest:
        """The backfill request of ``entry`` in this group."""
        registry = self.registry or os.environ.get("TASKFORGE_PUSH_REGISTRY") or None
        if registry:
            Registry.parse(registry)  # one line for a malformed one, before any work
        return BackfillRequest(
            source=entry.source,
            repo=entry.repo,
            out=self.out,
            work_dir=self.work_dir,
            timeout_s=self.timeout_s,
            registry=registry,
            instance_images=self.instance_images,
        )


class Schedules(BaseModel):
    """Every group of a schedules file."""

    groups: list[ScheduleGroup]

    def get(self, name: str) -> ScheduleGroup | None:
        """The group named ``name``, None when there is none."""
        return next((g for g in self.groups if g.name == name), None)


def load_schedules(path: Path | Traversable | None = None) -> Schedules:
    """The groups of ``path``, or of the packaged schedules file when ``path`` is None."""
    path = DEFAULT_SCHEDULES if path is None else path
    try:
        raw = tomllib.loads(path.read_text())
        return Schedules(groups=raw.get("group", []))
    except FileNotFoundError:
        raise UserInputError(f"no schedules file at {path}") from None
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise UserInputError(f"{path} is not a valid schedules file: {first}") from None
