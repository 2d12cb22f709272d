"""Shards of an older schema version rewritten as the current one, under the dataset lock.

Each schema version after 2 only adds fields that have a default (3: ``Task.language``, Python
for every task written before, and ``install_config``'s ``language`` and ``toolchain``; 4: the
screening fields, empty: no leak, no patch id, no duplicate, no signature, no benchmark match,
so a task written before is never taken for a copy of another; 5: the test strength fields,
"not measured": ``strength`` None, nothing tried, no uncovered hunk). So a
shard of an older version in ``UPGRADABLE`` converts row by row through ``Task`` itself: the
record fills what the old shard lacks, and nothing it held is lost or changed.

A shard is rewritten in place, under its own name (so the order of shards, and which row of
an instance id is the newest, stays as it was), atomically like any shard
(``storage.replace_atomically``; behind a URL, one PutObject), then the manifest lists its new
size and checksum. A reader never sees half a shard; a killed upgrade leaves each shard either
old or new, and the next upgrade does the rest. Writers (``backfill``, scheduled runs,
``compact``) upgrade a dataset before they write into it, so a folder never mixes versions;
``taskforge upgrade OUT`` does it for a dataset that is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow.parquet as pq

from pipeline.core.errors import BadShardError
from pipeline.core.records import Task
from pipeline.dataset.manifest import (
    ShardEntry,
    describe_bytes,
    load_manifest,
    read_footer,
    refresh_manifest,
    schema_stamp,
)
from pipeline.dataset.objects import DatasetPath, arrow_file, produced, readable
from pipeline.dataset.shards import ROW_GROUP_SIZE, TASK_SCHEMA, UPGRADABLE, tasks_table
from pipeline.dataset.storage import (
    SCHEMA_VERSION,
    DatasetLayout,
    dataset_lock,
    remove_stale_temporaries,
    replace_atomically,
)


@dataclass(frozen=True)
class UpgradeReport:
    """Shards rewritten from each older version, and the rows they hold."""

    shards: dict[str, int] = field(default_factory=dict)  # old version -> shards
    rows: int = 0

    def lines(self) -> list[str]:
        """One line saying what was upgraded, when anything was."""
        if not self.shards:
            return []
        versions = ", ".join(f"{n} of version {v}" for v, n in sorted(self.shards.items()))
        return [
            f"upgraded {sum(self.shards.values())} shards ({versions}; {self.rows} rows) to "
            f"schema version {SCHEMA_VERSION}"
        ]


def stamp_of(shard: DatasetPath) -> str:
    """The schema version a shard's footer names ("" when none or unreadable: the reader
    names such a file, it is not this module's to judge)."""
    try:
        return schema_stamp(read_footer(shard))
    except BadShardError:
        return ""


def upgrade_dataset(layout: DatasetLayout) -> UpgradeReport:
    """Rewrite every shard of an upgradable older version as ``SCHEMA_VERSION``.

    When there is nothing to do it reads the manifest only (each shard's version is listed
    there), or the footers of the shards it does not list; it takes the lock only when there
    is something to do, and reads the footers again under it.
    """
    if not (layout.verified_dir.is_dir() or layout.rejected_dir.is_dir()):
        return UpgradeReport()
    if not _listed_versions(layout, layout.shards()) & UPGRADABLE:
        return UpgradeReport()
    with dataset_lock(layout):
        remove_stale_temporaries(layout)
        shards = layout.shards()
        counts: dict[str, int] = {}
        rows, fresh = 0, []
        for shard in shards:
            version = stamp_of(shard)  # under the lock: another writer may have done it
            if version not in UPGRADABLE:
                continue
            entry = _rewrite(layout, shard, version)
            counts[version] = counts.get(version, 0) + 1
            rows += entry.rows
            fresh.append(entry)
        refresh_manifest(layout, fresh=fresh, found=shards)
    return UpgradeReport(counts, rows)


def _listed_versions(layout: DatasetLayout, shards: list[DatasetPath]) -> set[str]:
    """The schema versions of ``shards``: the manifest's entry where it lists the shard at its
    size, else the shard's footer."""
    try:
        manifest = load_manifest(layout)
    except BadShardError:
        manifest = None
    listed = {e.path: e for e in manifest.shards} if manifest else {}
    versions = set()
    for shard in shards:
        entry = listed.get(layout.relative(shard))
        known = entry is not None and entry.size_bytes == shard.stat().st_size
        versions.add(entry.schema_version if known and entry else stamp_of(shard))
    return versions


def _rewrite(layout: DatasetLayout, shard: DatasetPath, version: str) -> ShardEntry:
    source, filesystem = arrow_file(shard)
    try:
        with readable(shard):
            old = pq.read_table(source, filesystem=filesystem)
    except (OSError, ValueError) as error:
        raise BadShardError(shard, f"not a readable Parquet file ({error})") from None
    try:
        tasks = [Task.model_validate(row) for row in old.to_pylist()]
    except ValueError as error:
        raise BadShardError(
            shard, f"its rows are not tasks of schema version {version} ({error})"
        ) from None
    table = tasks_table(tasks).replace_schema_metadata(TASK_SCHEMA.metadata)

    data = produced(
        lambda handle: pq.write_table(
            table, handle, compression="zstd", row_group_size=ROW_GROUP_SIZE
        )
    )
    replace_atomically(shard, lambda handle: handle.write(data))
    return describe_bytes(layout, shard, data, table.num_rows)
