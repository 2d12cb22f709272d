"""Repository groups backfilled on a schedule, read from ``schedules.toml``: the one source of
every deployment's cron schedule (``taskforge serve`` and ``taskforge deploy`` read it alike).

The committed groups ship inside the package (``pipeline/orchestration/schedules.toml``, read
with ``importlib.resources``), so a wheel install serves the same groups as a checkout.

Each ``[[group]]`` has a ``name``, a ``cron`` expression, an output ``out`` (a folder or a URL
such as ``s3://bucket/prefix``, as ``--out``) and its ``repos`` (``source`` as ``taskforge
backfill`` takes it, and ``repo`` as OWNER/NAME); optionally ``registry``
(``HOST[:PORT]/NAMESPACE``, as ``--registry``; else ``$TASKFORGE_PUSH_REGISTRY`` of the worker),
``instance_images`` (as ``--instance-images``), ``benchmark`` and ``benchmark_action`` (as
``--benchmark`` and ``--benchmark-action``; the file is read when a run starts), ``strength``
and ``min_strength`` (as ``--strength/--no-strength`` and ``--min-strength``), ``work_dir``
(the output's work folder: its manifest, logs, results, cursors and lock; ``--work-dir`` of
``backfill``, by default under the cache folder), and the bounds of its test runs with the
meaning of ``backfill``'s options: ``workers`` (concurrent test runs; default the CPU count of
the machine that runs it), ``task_runner`` (``threads``, ``dask`` or ``dask://HOST:PORT``),
``memory`` (per test run, ``2g``), ``cpus`` (per test run, ``1.0``) and ``timeout_s`` (per test
run). Values are checked when the file is read, so a typo stops ``serve`` or ``deploy``, not a
run.

Relative paths (a local ``out``, ``work_dir``, and the cache folder: ``$TASKFORGE_CACHE``, else
``data/cache``) are resolved when a run starts, on the machine that runs it, against
``$TASKFORGE_ROOT`` there, else against that run's working folder (``resolve_on_worker``). A
Prefect process worker without a ``working_dir`` runs each flow in a temporary folder that it
deletes afterwards, so there a relative path without ``$TASKFORGE_ROOT`` is refused rather than
written into it. Nothing is resolved when a deployment is registered. A scheduled run of a
group backfills each repository in turn; work already in the output is skipped, so each run
only does what is new.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from pipeline.backfill.benchmark import BenchmarkAction
from pipeline.backfill.request import (
    BackfillRequest,
    TaskRunnerSpec,
    memory_limit,
    strength_setting,
)
from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import UserInputError
from pipeline.dataset.location import DatasetOut, DatasetUrl

DEFAULT_SCHEDULES: Traversable = resources.files("pipeline.orchestration") / "schedules.toml"
ROOT_ENV = "TASKFORGE_ROOT"  # what relative paths of a scheduled run are relative to


def _task_runner(value: Any) -> Any:
    """A ``task_runner`` string parsed as ``--task-runner`` is (a ``ValueError`` if bad)."""
    if isinstance(value, str):
        try:
            return TaskRunnerSpec.parse(value)
        except UserInputError as error:
            raise ValueError(str(error).replace("--task-runner", "task_runner")) from None
    return value


def _memory(value: Any) -> Any:
    """A ``memory`` string checked as ``--memory`` is (a ``ValueError`` if bad)."""
    if isinstance(value, str):
        try:
            return memory_limit(value)
        except UserInputError as error:
            raise ValueError(str(error).replace("--memory", "memory")) from None
    return value


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
    timeout_s: int = Field(default=900, ge=1)
    workers: int | None = Field(default=None, ge=1)  # None: the CPU count of the runner
    task_runner: Annotated[TaskRunnerSpec, BeforeValidator(_task_runner)] = TaskRunnerSpec()
    memory: Annotated[str, BeforeValidator(_memory)] = "2g"
    cpus: float = Field(default=1.0, gt=0)
    registry: str | None = None
    instance_images: bool = False
    work_dir: Path | None = None  # None: the default work folder of ``out``
    benchmark: Path | None = None  # an evaluation set to keep out, as backfill's --benchmark
    benchmark_action: BenchmarkAction = BenchmarkAction.FLAG
    strength: bool = True  # as backfill's --strength / --no-strength
    min_strength: float | None = Field(default=None, ge=0.0, le=1.0)  # as --min-strength

    @model_validator(mode="after")
    def _threshold_needs_the_check(self) -> ScheduleGroup:
        try:
            strength_setting(self.strength, self.min_strength)
        except UserInputError as error:
            message = str(error).replace("--min-strength", "min_strength")
            raise ValueError(message.replace("--no-strength", "strength = false")) from None
        return self

    def request_for(self, entry: ScheduledRepo) -> BackfillRequest:
        """The backfill request of ``entry`` in this group, its paths resolved here and now."""
        registry = self.registry or os.environ.get("TASKFORGE_PUSH_REGISTRY") or None
        if registry:
            from dockerfiles.registry import Registry

            Registry.parse(registry)  # one line for a malformed one, before any work
        bounds: dict[str, Any] = {} if self.workers is None else {"workers": self.workers}
        return BackfillRequest(
            source=entry.source,
            repo=entry.repo,
            out=self.out
            if isinstance(self.out, DatasetUrl)
            else resolve_on_worker(self.out, f"group {self.name}: out"),
            work_dir=None
            if self.work_dir is None
            else resolve_on_worker(self.work_dir, f"group {self.name}: work_dir"),
            cache_dir=resolve_on_worker(default_cache_dir(), f"group {self.name}: cache folder"),
            timeout_s=self.timeout_s,
            task_runner=self.task_runner,
            memory=self.memory,
            cpus=self.cpus,
            registry=registry,
            instance_images=self.instance_images,
            benchmark=None
            if self.benchmark is None
            else resolve_on_worker(self.benchmark, f"group {self.name}: benchmark"),
            benchmark_action=self.benchmark_action,
            strength=self.strength,
            min_strength=self.min_strength,
            **bounds,
        )


def resolve_on_worker(path: Path, what: str) -> Path:
    """``path`` as the run that is starting here uses it: relative to ``$TASKFORGE_ROOT``,
    else to the working folder, unless that is a temporary folder (bad input, naming ``what``)."""
    if path.is_absolute():
        return path
    root = os.environ.get(ROOT_ENV)
    if root:
        return Path(root) / path
    here = Path.cwd().resolve()
    if _is_process_worker_folder(here):
        raise UserInputError(
            f"{what} {path} is relative and this run's working folder {here} is temporary "
            f"(a Prefect process worker's); set {ROOT_ENV} in the worker's environment"
        )
    return path


def _is_process_worker_folder(folder: Path) -> bool:
    """Whether ``folder`` is the temporary working folder a Prefect process worker gives a flow
    run without a ``working_dir`` (``tempfile.TemporaryDirectory(suffix="prefect")`` in
    prefect/workers/process.py), removed when the run ends."""
    temporary = Path(tempfile.gettempdir()).resolve()
    return folder.parent == temporary and folder.name.endswith("prefect")


class Schedules(BaseModel):
    """Every group of a schedules file."""

    groups: list[ScheduleGroup]

    def get(self, name: str) -> ScheduleGroup | None:
        """The group named ``name``, None when there is none."""
        return next((g for g in self.groups if g.name == name), None)

    def chosen(self, names: list[str] | None, where: object) -> list[ScheduleGroup]:
        """The groups ``names`` lists (all of them when it is empty); an unknown one is bad
        input naming ``where`` (the schedules file)."""
        unknown = sorted(set(names or []) - {g.name for g in self.groups})
        if unknown:
            raise UserInputError(f"no group {', '.join(unknown)} in {where}")
        return [g for g in self.groups if not names or g.name in names]


def load_schedules(path: Path | Traversable | None = None) -> Schedules:
    """The groups of ``path``, or of the packaged schedules file when ``path`` is None."""
    path = DEFAULT_SCHEDULES if path is None else path
    try:
        raw = tomllib.loads(path.read_text())
        return Schedules(groups=raw.get("group", []))
    except FileNotFoundError:
        raise UserInputError(f"no schedules file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise UserInputError(f"{path} is not a valid schedules file: {error}") from None
    except ValidationError as error:
        raise UserInputError(f"{path} is not a valid schedules file: {_first(error)}") from None


def _first(error: ValidationError) -> str:
    """The first problem of ``error`` in one line: where it is and what is wrong."""
    problem = error.errors()[0]
    where = list(problem["loc"])
    if where[:1] == ["groups"] and len(where) > 1 and isinstance(where[1], int):
        where = [f"[[group]] {where[1] + 1}", *where[2:]]  # as the file numbers them, from 1
    place = ", ".join(str(part) for part in where)
    return f"{place}: {problem['msg'].removeprefix('Value error, ')}"
