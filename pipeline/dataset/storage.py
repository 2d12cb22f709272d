"""Where a dataset's files live and how they are replaced: layout, writer lock, atomic files.

Layout under the output folder (``DatasetLayout``)::

    OUT/data/train-<time>-<id>.parquet        verified tasks (Hugging Face's layout)
    OUT/rejected/rejected-<time>-<id>.parquet candidates that did not verify, with the reason
    OUT/manifest.json                         every shard's rows, bytes and sha256
    OUT/README.md                             the dataset card (configs and statistics)
    OUT/logs/                                 image build logs
    OUT/.taskforge.lock                       held by whoever writes shards or the manifest

Invariants: every file here is written to a hidden temporary file in its own folder, fsynced,
renamed over its final name and the folder fsynced, so a reader sees the old file or the new
one, never a partial one; names that start with a dot are never data (readers' globs and
Hugging Face ``datasets`` skip them). Shard names sort in the order the shards were written (a
time stamp that never goes back, ``DatasetLayout.new_shard``), so "the newest row wins" is "the
row in the shard that sorts last".
"""

from __future__ import annotations

import enum
import fcntl
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from pipeline.core.errors import UserInputError

SCHEMA_VERSION = "2"  # 2: skipped tests, local and dropped requirements, missing_object, digests
METADATA_KEY = b"taskforge.schema_version"
TEMPORARY_SUFFIX = ".tmp"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # 21 characters, so names sort by time


class DatasetTable(enum.StrEnum):
    """The two tables of a dataset: verified tasks and every other candidate."""

    TRAIN = "train"
    REJECTED = "rejected"


class DatasetLayout:
    """Every path of a dataset, derived from its root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def verified_dir(self) -> Path:
        """The folder of verified tasks (the ``train`` table)."""
        return self.root / "data"

    @property
    def rejected_dir(self) -> Path:
        """The folder of every other candidate (the ``rejected`` table)."""
        return self.root / "rejected"

    @property
    def logs_dir(self) -> Path:
        """Build logs and the Prefect server's log."""
        return self.root / "logs"

    @property
    def results_dir(self) -> Path:
        """Prefect's persisted validations, replayed by a rerun after a crash."""
        return self.root / ".cache" / "results"

    @property
    def manifest_path(self) -> Path:
        """The manifest of every shard."""
        return self.root / "manifest.json"

    @property
    def card_path(self) -> Path:
        """The dataset card."""
        return self.root / "README.md"

    @property
    def lock_path(self) -> Path:
        """The lock every writer of the dataset holds."""
        return self.root / ".taskforge.lock"

    def folder(self, table: DatasetTable) -> Path:
        """The folder of ``table``'s shards."""
        return self.verified_dir if table is DatasetTable.TRAIN else self.rejected_dir

    def prepare(self) -> None:
        """Create the dataset's folders; a file in the root's place is bad input."""
        if self.root.exists() and not self.root.is_dir():
            raise UserInputError(f"output folder {self.root} is a file; give a folder path")
        for folder in (self.verified_dir, self.rejected_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)

    def require(self) -> None:
        """Fail with one line unless the root looks like a taskforge dataset."""
        if not self.root.is_dir():
            raise UserInputError(f"{self.root} is not a folder; give a dataset folder (--out)")
        if not (self.verified_dir.is_dir() or self.rejected_dir.is_dir()):
            raise UserInputError(
                f"{self.root} is not a taskforge dataset: it has no data/ or rejected/ folder"
            )

    def shards(self, table: DatasetTable | None = None) -> list[Path]:
        """Shards of one table or both, oldest first."""
        tables = list(DatasetTable) if table is None else [table]
        found = [p for t in tables for p in self.folder(t).glob(f"{t.value}-*.parquet")]
        return sorted(found, key=shard_order)

    def new_shard(self, table: DatasetTable) -> Path:
        """A name for a new shard that sorts after every shard there is, whatever the clock says.

        Call it holding the lock. A clock set back (or two writes in one microsecond) must not
        make a newer shard sort first: its rows would lose to older ones.
        """
        stamp = datetime.now(UTC)
        for shard in reversed(self.shards()):
            try:
                newest = datetime.strptime(shard_order(shard)[:21], STAMP_FORMAT)
            except ValueError:
                continue  # not a name taskforge wrote
            stamp = max(stamp, newest.replace(tzinfo=UTC) + timedelta(microseconds=1))
            break
        name = f"{table.value}-{stamp.strftime(STAMP_FORMAT)}-{uuid.uuid4().hex[:8]}.parquet"
        return self.folder(table) / name

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, as the manifest names it."""
        return path.relative_to(self.root).as_posix()

    def table_of(self, shard: Path) -> DatasetTable:
        """The table a shard belongs to, from its name."""
        return DatasetTable(shard.name.split("-", 1)[0])


def shard_order(shard: Path) -> str:
    """Sort key of a shard: its ``<time>-<id>`` part, so the newest shard sorts last."""
    return shard.name.split("-", 1)[1]


def replace_atomically(final: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``final`` through a hidden temporary file in its folder, fsync, rename, fsync."""
    temporary = final.with_name(f".{final.name}{TEMPORARY_SUFFIX}")
    try:
        with temporary.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def remove_stale_temporaries(layout: DatasetLayout) -> list[Path]:
    """Remove temporary files a killed writer left; call only while holding the lock."""
    removed = []
    for folder in (layout.root, layout.verified_dir, layout.rejected_dir):
        for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


@contextmanager
def dataset_lock(layout: DatasetLayout) -> Iterator[None]:
    """Hold the dataset's writer lock: one process writes shards or the manifest at a time.

    The kernel releases the lock when its holder dies, so a killed writer never blocks the
    next one; a temporary file found while holding the lock is therefore a dead writer's.
    """
    layout.root.mkdir(parents=True, exist_ok=True)
    with layout.lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
