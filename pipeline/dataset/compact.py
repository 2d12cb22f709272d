"""``taskforge compact``: rewrite a dataset as fresh shards holding one row per instance id.

Under the dataset lock: check every listed shard against the manifest's size and sha256, then
read every shard (a bad shard stops compaction, naming the file: an unreadable one's rows could
not be carried over, and a changed one's would be carried over as if they were the rows written,
under a fresh checksum), keep the newest row per instance id across both tables, write
fresh shards (their names sort after every old one), write the manifest listing only the fresh
shards, then delete the old shards one by one.

What a reader that keeps the newest row per ``instance_id`` sees if the process dies at any step:
before the fresh shards are complete, the old shards only (temporary files are hidden); after,
old and fresh shards, where every fresh row is the newest copy of its task and equal to the row
that won among the old ones; while old shards are deleted, fewer duplicates of the same rows. No
row is lost and no stale row wins. The manifest never lists a file that is not on disk; old
shards a crash left behind show as unlisted, and the next compact removes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import pyarrow.compute as pc

from pipeline.core.records import Outcome
from pipeline.dataset.card import finalize
from pipeline.dataset.manifest import refresh_manifest, verify_shards
from pipeline.dataset.shards import load_table, newest_rows, write_shard
from pipeline.dataset.storage import (
    DatasetLayout,
    DatasetTable,
    dataset_lock,
    remove_stale_temporaries,
)
from pipeline.dataset.upgrade import upgrade_dataset

ROWS_PER_SHARD = 50_000


@dataclass(frozen=True)
class CompactReport:
    """What a compaction did: shards and rows before and after, and what of the previous
    layout it moved into the work folder."""

    rows_before: int
    rows_after: int
    shards_before: int
    shards_after: int
    moved: list[str] = field(default_factory=list)  # lines of ``move_previous_layout``

    @property
    def changed(self) -> bool:
        """Whether the compaction rewrote anything."""
        return (self.rows_before, self.shards_before) != (self.rows_after, self.shards_after)


def compact(layout: DatasetLayout) -> CompactReport:
    """Rewrite ``layout`` as fresh shards without duplicates (a no-op when already compact),
    then bring the manifest and the card up to date."""
    layout.require()
    layout.check_places()
    upgrade_dataset(layout)  # takes the lock itself, when there is anything to upgrade
    with dataset_lock(layout) as moved:
        verify_shards(layout)
        report = _rewrite(layout)
    finalize(layout)
    return replace(report, moved=moved)


def _rewrite(layout: DatasetLayout) -> CompactReport:
    remove_stale_temporaries(layout)
    old = layout.shards()
    every_row = load_table(layout, keep_duplicates=True).table
    rows_before, newest = every_row.num_rows, newest_rows(every_row)
    is_verified = pc.equal(newest.column("outcome"), Outcome.VERIFIED.value)
    split = {
        DatasetTable.TRAIN: newest.filter(is_verified),
        DatasetTable.REJECTED: newest.filter(pc.invert(pc.fill_null(is_verified, False))),
    }
    if newest.num_rows == rows_before and all(
        len(layout.shards(t)) == math.ceil(split[t].num_rows / ROWS_PER_SHARD) for t in split
    ):
        return CompactReport(rows_before, rows_before, len(old), len(old))
    fresh = [
        write_shard(layout, table, rows.slice(start, ROWS_PER_SHARD))
        for table, rows in split.items()
        for start in range(0, rows.num_rows, ROWS_PER_SHARD)
    ]
    refresh_manifest(layout, exclude=set(old))
    for shard in old:
        shard.unlink()
    return CompactReport(rows_before, newest.num_rows, len(old), len(fresh))
