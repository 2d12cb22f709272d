"""The Parquet dataset: a schema derived from ``Task``, atomic shard writes, and reads.

Layout under the output folder (``DatasetLayout``)::

    OUT/data/train-<time>-<id>.parquet       verified tasks (Hugging Face's layout)
    OUT/rejected/rejected-<time>-<id>.parquet candidates that did not verify, with the reason
    OUT/logs/                                 image build logs

Invariants: a shard is written to a temporary file in its own folder, fsynced and renamed,
so a reader never sees a partial shard; a shard is never rewritten; a task appears in at
most one shard of a run, and on read the newest row per ``instance_id`` wins.
"""

from __future__ import annotations

import enum
import os
import types
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel

from pipeline.errors import UserInputError
from pipeline.records import Outcome, Task

SCHEMA_VERSION = "1"
METADATA_KEY = b"taskforge.schema_version"


def arrow_type(annotation: Any) -> tuple[pa.DataType, bool]:
    """The Arrow type of a pydantic field annotation, and whether it is nullable."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return arrow_type(members[0])[0], True
    if origin is list:
        return pa.list_(arrow_type(get_args(annotation)[0])[0]), False
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return pa.struct(model_fields(annotation)), False
        if issubclass(annotation, enum.Enum) or annotation is str:
            return pa.string(), False
        scalars: dict[type, pa.DataType] = {
            bool: pa.bool_(),
            int: pa.int64(),
            float: pa.float64(),
            datetime: pa.timestamp("us", tz="UTC"),
        }
        if annotation in scalars:
            return scalars[annotation], False
    raise TypeError(f"no Arrow type for {annotation!r}")


def model_fields(model: type[BaseModel]) -> list[pa.Field]:
    fields = []
    for name, info in model.model_fields.items():
        data_type, nullable = arrow_type(info.annotation)
        fields.append(pa.field(name, data_type, nullable=nullable))
    return fields


TASK_SCHEMA = pa.schema(model_fields(Task), metadata={METADATA_KEY: SCHEMA_VERSION.encode()})


class DatasetLayout:
    """Every path of a dataset, derived from its root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def verified_dir(self) -> Path:
        return self.root / "data"

    @property
    def rejected_dir(self) -> Path:
        return self.root / "rejected"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    def prepare(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise UserInputError(f"output folder {self.root} is a file; give a folder path")
        for folder in (self.verified_dir, self.rejected_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def shards(self) -> list[Path]:
        found = [
            *self.verified_dir.glob("train-*.parquet"),
            *self.rejected_dir.glob("rejected-*.parquet"),
        ]
        return sorted(found, key=lambda p: p.name.split("-", 1)[1])


def write_tasks(layout: DatasetLayout, tasks: list[Task]) -> list[Path]:
    """Write verified and rejected tasks as new shards; returns the shard paths."""
    written = []
    verified = [t for t in tasks if t.outcome is Outcome.VERIFIED]
    rejected = [t for t in tasks if t.outcome is not Outcome.VERIFIED]
    for folder, prefix, batch in (
        (layout.verified_dir, "train", verified),
        (layout.rejected_dir, "rejected", rejected),
    ):
        if batch:
            written.append(write_shard(folder, prefix, batch))
    return written


def write_shard(folder: Path, prefix: str, tasks: list[Task]) -> Path:
    """Write one shard atomically: temporary file in ``folder``, fsync, rename."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    final = folder / f"{prefix}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    temporary = folder / f".{final.name}.tmp"
    table = pa.Table.from_pylist([t.model_dump() for t in tasks], schema=TASK_SCHEMA)
    try:
        with temporary.open("wb") as handle:
            pq.write_table(table, handle, compression="zstd", row_group_size=10_000)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return final


def read_tasks(layout: DatasetLayout) -> list[Task]:
    """All tasks in the dataset, the newest row per instance id."""
    latest: dict[str, Task] = {}
    for shard in layout.shards():
        for row in pq.read_table(shard).to_pylist():
            task = Task.model_validate(row)
            latest[task.instance_id] = task
    return list(latest.values())


def finished_instance_ids(layout: DatasetLayout) -> set[str]:
    """Instance ids already written, verified or rejected: a rerun skips them."""
    ids: set[str] = set()
    for shard in layout.shards():
        ids.update(pq.read_table(shard, columns=["instance_id"]).column(0).to_pylist())
    return ids
