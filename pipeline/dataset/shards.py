"""The Parquet dataset: a schema derived from ``Task``, atomic shard writes, and checked reads.

The layout and the file-level guarantees are in ``pipeline.dataset.storage``; the manifest in
``pipeline.dataset.manifest``. Invariants kept here:

- a shard is written whole (zstd, row groups of at most ``ROW_GROUP_SIZE`` rows) through a
  temporary file (behind a URL: produced in memory, then its final key written at once), under
  the dataset lock, and never rewritten; the manifest is refreshed after it, under the same
  lock, from one listing of the shards taken under it (a listing is a request on object
  storage) and, for a shard behind a URL, from the bytes written instead of a download;
- a batch that Parquet cannot store (a string that is not valid Unicode) is refused before
  anything is written, naming the task and the field;
- a shard of another schema (version stamp or columns) or an unreadable one is never read as
  if it were fine: it raises ``BadShardError`` naming the file, or is skipped and reported;
- on read, the newest row per ``instance_id`` wins, across both tables (a candidate that timed
  out and later verified is verified);
- one task per change: a write reads the patch ids and statement signatures of the rows
  already written, under its lock, and rejects a verified copy of a verified task written
  before it (``pipeline.dataset.duplicates``).
"""

from __future__ import annotations

import enum
import types
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO, Union, get_args, get_origin

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pydantic import BaseModel

from pipeline.core.errors import BadShardError, UnwritableTaskError
from pipeline.core.records import Outcome, Task
from pipeline.dataset.duplicates import WrittenTask, known_copies, needs_resolution, resolve
from pipeline.dataset.manifest import ShardEntry, describe_bytes, refresh_manifest
from pipeline.dataset.objects import DatasetPath, ObjectPath, arrow_file, produced, readable
from pipeline.dataset.storage import METADATA_KEY as METADATA_KEY
from pipeline.dataset.storage import SCHEMA_VERSION as SCHEMA_VERSION
from pipeline.dataset.storage import DatasetLayout as DatasetLayout
from pipeline.dataset.storage import (
    DatasetTable,
    PathT,
    dataset_lock,
    put_whole,
    remove_stale_temporaries,
    replace_atomically,
)

ROW_GROUP_SIZE = 10_000
UPGRADABLE = frozenset(
    {"2", "3", "4"}
)  # versions whose rows ``Task`` reads as they are (upgrade.py)


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
    """The Arrow fields of a pydantic model, in field order (nested models as structs)."""
    fields = []
    for name, info in model.model_fields.items():
        data_type, nullable = arrow_type(info.annotation)
        fields.append(pa.field(name, data_type, nullable=nullable))
    return fields


TASK_SCHEMA = pa.schema(model_fields(Task), metadata={METADATA_KEY: SCHEMA_VERSION.encode()})


def write_tasks(layout: DatasetLayout[PathT], tasks: list[Task]) -> list[PathT]:
    """Write verified and rejected tasks as new shards, then refresh the manifest.

    Returns the new shards. Nothing is written when any task cannot be stored.
    """
    return write_batch(layout, tasks)[0]


def write_batch(layout: DatasetLayout[PathT], tasks: list[Task]) -> tuple[list[PathT], list[Task]]:
    """``write_tasks``, returning the tasks too, as written: under the lock, duplicates of
    tasks written before are rejected and similar statements flagged
    (``pipeline.dataset.duplicates``)."""
    tables = _tables(tasks)  # a batch Parquet cannot store is refused before the lock
    if not tables:
        return [], []
    with dataset_lock(layout):
        remove_stale_temporaries(layout)
        shards = layout.shards()  # listed once: the lock keeps them so
        if needs_resolution(tasks):
            resolved = resolve(_written_tasks(shards), tasks)
            if resolved != tasks:
                tasks, tables = resolved, _tables(resolved)
        written, fresh = [], []
        for kind, table in tables.items():
            shard, entry = _write_shard(layout, kind, table, shards)
            shards.append(shard)  # sorts last (DatasetLayout.new_shard)
            written.append(shard)
            fresh += [entry] if entry else []
        refresh_manifest(layout, fresh=fresh, found=shards)
    return written, tasks


def _tables(tasks: list[Task]) -> dict[DatasetTable, pa.Table]:
    """The verified and the other tasks as tables of ``TASK_SCHEMA`` (only those with rows)."""
    batches = {
        DatasetTable.TRAIN: [t for t in tasks if t.outcome is Outcome.VERIFIED],
        DatasetTable.REJECTED: [t for t in tasks if t.outcome is not Outcome.VERIFIED],
    }
    return {kind: tasks_table(batch) for kind, batch in batches.items() if batch}


def reject_known_copies(layout: DatasetLayout, tasks: list[Task]) -> list[Task]:
    """``tasks`` with the undecided copies of verified tasks already written rejected as
    duplicates (``duplicates.known_copies``); read without the lock, as a hint: the write
    decides again under it."""
    if not any(t.patch_id and not t.decided for t in tasks):
        return tasks
    return known_copies(_written_tasks(layout.shards()), tasks)


def _written_tasks(shards: Sequence[DatasetPath]) -> list[WrittenTask]:
    """The newest row of every task in ``shards``, as duplicate resolution reads it; a shard
    that cannot be read holds no task it can see (readers report that shard)."""
    columns = ["instance_id", "outcome", "patch_id", "statement_minhash"]
    parts = []
    for shard in shards:
        try:
            parts.append(read_shard(shard, columns))
        except BadShardError:
            continue
    if not parts:
        return []
    rows = newest_rows(pa.concat_tables(parts)).to_pylist()
    return [WrittenTask(**row) for row in rows]


def tasks_table(tasks: list[Task]) -> pa.Table:
    """Tasks as an Arrow table of ``TASK_SCHEMA``; ``UnwritableTaskError`` names a bad value."""
    rows = [t.model_dump() for t in tasks]
    try:
        return pa.Table.from_pylist(rows, schema=TASK_SCHEMA)
    except UnicodeEncodeError:
        for row in rows:
            where = _unencodable(row)
            if where:
                raise UnwritableTaskError(
                    f"task {row['instance_id']}: {where} holds bytes that are not UTF-8 "
                    f"(decoded with surrogate escapes); Parquet strings must be UTF-8, so "
                    f"none of the {len(rows)} tasks of this batch was written"
                ) from None
        raise


def _unencodable(value: Any, where: str = "") -> str:
    """The path of the first string in ``value`` that UTF-8 cannot encode, or ``""``."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError as error:
            return f"{where} (character {error.start})"
        return ""
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(f"{where}.{k}" if where else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    for path, item in items:
        found = _unencodable(item, path)
        if found:
            return found
    return ""


def write_shard(layout: DatasetLayout[PathT], kind: DatasetTable, table: pa.Table) -> PathT:
    """Write one new shard of ``kind`` atomically; the caller holds the dataset lock."""
    return _write_shard(layout, kind, table)[0]


def _write_shard(
    layout: DatasetLayout[PathT],
    kind: DatasetTable,
    table: pa.Table,
    existing: Sequence[DatasetPath] | None = None,
) -> tuple[PathT, ShardEntry | None]:
    """``write_shard``, with the new shard's manifest entry when its bytes were in memory (a
    shard behind a URL: described from them, it need not be downloaded again)."""
    final = layout.new_shard(kind, existing)

    def write(handle: BinaryIO) -> None:
        stamped = table.replace_schema_metadata(TASK_SCHEMA.metadata)
        pq.write_table(stamped, handle, compression="zstd", row_group_size=ROW_GROUP_SIZE)

    final.parent.mkdir(parents=True, exist_ok=True)  # on object storage: nothing to make
    if isinstance(final, ObjectPath):
        data = produced(write)
        put_whole(final, data)
        written = replace(final, known_size=len(data))  # no request to learn its size
        return written, describe_bytes(layout, written, data, table.num_rows)
    replace_atomically(final, write)
    return final, None


def open_shard(shard: DatasetPath) -> pq.ParquetFile:
    """A shard's Parquet file after checking its footer, version stamp and columns."""
    source, filesystem = arrow_file(shard)
    try:
        with readable(shard):
            parquet = pq.ParquetFile(source, filesystem=filesystem)
    except (OSError, ValueError) as error:
        raise BadShardError(
            shard, f"not a readable Parquet file ({error}); skip or remove it"
        ) from None
    problem = schema_problem(parquet.schema_arrow)
    if problem:
        parquet.close()
        raise BadShardError(shard, problem)
    return parquet


def schema_problem(schema: pa.Schema) -> str:
    """Why a shard of ``schema`` cannot be read as ``TASK_SCHEMA``, or ``""``."""
    stamp = (schema.metadata or {}).get(METADATA_KEY, b"").decode()
    if stamp != SCHEMA_VERSION:
        if stamp in UPGRADABLE:
            return (
                f"schema version {stamp}, this taskforge reads version {SCHEMA_VERSION}; "
                "`taskforge upgrade OUT` rewrites it (a backfill into OUT does too)"
            )
        return (
            f"schema version {stamp or 'missing'}, this taskforge reads version "
            f"{SCHEMA_VERSION}; convert it with the taskforge that wrote it or remove it"
        )
    if schema.remove_metadata() == TASK_SCHEMA.remove_metadata():
        return ""
    theirs, ours = set(schema.names), set(TASK_SCHEMA.names)
    return (
        f"schema version {stamp} but other columns (missing: "
        f"{', '.join(sorted(ours - theirs)) or '-'}; extra: "
        f"{', '.join(sorted(theirs - ours)) or '-'}; or other types)"
    )


def read_shard(
    shard: DatasetPath, columns: list[str] | None = None, filters: Any = None
) -> pa.Table:
    """One checked shard's rows (all columns unless ``columns``)."""
    source, filesystem = arrow_file(shard)
    with open_shard(shard) as parquet:
        try:
            with readable(shard):
                if filters is None:
                    return parquet.read(columns=columns)
                schema = parquet.schema_arrow
                return pq.read_table(
                    source, columns=columns, filters=filters, schema=schema, filesystem=filesystem
                )
        except (OSError, ValueError) as error:
            raise BadShardError(
                shard, f"not a readable Parquet file ({error}); skip or remove it"
            ) from None


@dataclass
class LoadedTable:
    """The newest row per instance id, and the shards that were skipped (``skip_bad``)."""

    table: pa.Table
    skipped: list[BadShardError] = field(default_factory=list)


def load_table(
    layout: DatasetLayout,
    columns: list[str] | None = None,
    *,
    only: DatasetTable | None = None,
    filters: Any = None,
    skip_bad: bool = False,
    keep_duplicates: bool = False,
) -> LoadedTable:
    """Rows of every shard (of one table if given), newest row per instance id.

    A bad shard raises ``BadShardError``, or with ``skip_bad`` is skipped and reported.
    With ``keep_duplicates`` every row is kept, in shard order.
    """
    wanted = None if columns is None else list(dict.fromkeys(["instance_id", *columns]))
    parts, skipped = [], []
    for shard in layout.shards(only):
        try:
            parts.append(read_shard(shard, wanted, filters))
        except BadShardError as error:
            if not skip_bad:
                raise
            skipped.append(error)
    schema = pa.schema([TASK_SCHEMA.field(n) for n in wanted]) if wanted else TASK_SCHEMA
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    return LoadedTable(table if keep_duplicates else newest_rows(table), skipped)


def newest_rows(table: pa.Table) -> pa.Table:
    """Keep the last row of each ``instance_id`` (rows are in shard order), in that order."""
    if table.num_rows == 0:
        return table
    numbered = pa.table(
        {"instance_id": table.column("instance_id"), "row": pa.array(range(table.num_rows))}
    )
    last = numbered.group_by("instance_id").aggregate([("row", "max")]).column("row_max")
    if len(last) == table.num_rows:
        return table
    return table.take(pc.take(last, pc.array_sort_indices(last)))


def read_tasks(layout: DatasetLayout) -> list[Task]:
    """All tasks in the dataset, the newest row per instance id."""
    return [Task.model_validate(row) for row in load_table(layout).table.to_pylist()]


def finished_instance_ids(
    layout: DatasetLayout, retry: frozenset[Outcome] = frozenset()
) -> set[str]:
    """Instance ids already written, verified or rejected: a rerun skips them; not those whose
    newest row has an outcome in ``retry`` (a rerun runs them again)."""
    if not retry:
        # every row, not the newest per id: the same set, without the group-by
        loaded = load_table(layout, ["instance_id"], keep_duplicates=True)
        return set(loaded.table.column("instance_id").to_pylist())
    rows = load_table(layout, ["instance_id", "outcome"]).table.to_pylist()
    return {r["instance_id"] for r in rows if r["outcome"] not in retry}
