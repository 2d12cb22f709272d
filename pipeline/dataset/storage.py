"""Where a dataset's files live and how they are replaced: layout, work folder, lock, atomic files.

A dataset has two folders (``DatasetLayout``). The dataset folder ``OUT`` holds only what is
published, so that ``HfApi.upload_folder`` of it uploads the dataset and nothing else::

    OUT/data/train-<time>-<id>.parquet        verified tasks (Hugging Face's layout)
    OUT/rejected/rejected-<time>-<id>.parquet candidates that did not verify, with the reason
    OUT/README.md                             the dataset card (configs and statistics)

``OUT`` is a local folder (a ``Path``) or a URL (``s3://bucket/prefix``, any filesystem pyarrow
or fsspec knows: an ``ObjectPath``, ``pipeline.dataset.objects``); ``DatasetLayout.of`` takes
either. Its work folder ``WORK`` holds what only its writers use, and is always local. It is
``--work-dir``, else ``CACHE/work/<name of OUT>-<first 8 hex digits of the sha256 of OUT's
resolved path, or of its normalised URL>``, where ``CACHE`` is the cache folder
(``pipeline.core.cache``); ``default_work_dir`` alone decides it::

    WORK/manifest.json                        every shard's rows, bytes and sha256
    WORK/logs/                                image build logs and the Prefect server's log
    WORK/results/                             Prefect's persisted validations (crash replay)
    WORK/cursors/                             where incremental GitHub mining resumes
    WORK/writer.lock                          held by whoever writes shards or the manifest
    WORK/finalized                            the manifest's sha256 when a run last finished

Invariants: every local file is written to a hidden temporary file in its own folder, fsynced,
renamed over its final name and the folder fsynced, so a reader sees the old file or the new
one, never a partial one; names that start with a dot are never data (readers' globs and
Hugging Face ``datasets`` skip them). Object storage (S3, GCS, Azure) has no rename: there a
file is produced whole in memory, then its final key is written directly by one upload that
the store completes only once every byte is in (``ObjectPath.put``), so a reader lists it
whole or not at all, and a writer killed before the completion leaves no object (only an
uncompleted upload, which no reader sees); nothing is ever written there under a temporary
name. Filesystems behind a URL that have a rename (HDFS) get the hidden temporary file and a
move, as on disk. Shard names sort in the order the shards were written (a time stamp that
never goes back, ``DatasetLayout.new_shard``), so "the newest row wins" is "the row in the
shard that sorts last". One resolved ``OUT`` has one default work folder, however it is
spelled, so every writer of a dataset on one machine that uses the same cache folder takes the
same lock. The lock is a local file: two machines must not write one URL at the same time.
Readers need ``OUT`` only: a copy without its work folder, or a URL read from another machine,
reads the same rows.

Migration: the previous layout kept ``manifest.json``, ``logs/``, ``cursors/``,
``.cache/results/`` and ``.taskforge.lock`` in ``OUT``. The next writer, once it holds the lock
(``dataset_lock``), moves each into the work folder (``move_previous_layout``); a folder is
merged entry by entry. Nothing is overwritten: an entry whose name the work folder already has
stays where it is, and one line says so. The old lock file (empty) is removed, and ``OUT/.cache``
once it is empty. A URL never had the previous layout.
"""

from __future__ import annotations

import enum
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Generic, cast, overload

from typing_extensions import TypeVar

from pipeline.core.cache import default_cache_dir
from pipeline.core.errors import UserInputError
from pipeline.dataset.location import DatasetUrl
from pipeline.dataset.objects import DatasetPath, ObjectPath, WriteMode, check_place, produced

SCHEMA_VERSION = "5"  # 2: skipped tests, local and dropped requirements, missing_object, digests;
# 3: the language of each task, and the language and toolchain of its install_config;
# 4: screening (leaks, patch_id, duplicate_of, statement_minhash, similar_to, benchmark_match);
# 5: test strength (strength, strength_tried, strength_caught, uncovered_hunks, wrong_patches,
# strength_seconds)
METADATA_KEY = b"taskforge.schema_version"
TEMPORARY_SUFFIX = ".tmp"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # 21 characters, so names sort by time
PREVIOUS_LOCK = ".taskforge.lock"  # the writer lock of the previous layout, in OUT


class DatasetTable(enum.StrEnum):
    """The two tables of a dataset: verified tasks and every other candidate."""

    TRAIN = "train"
    REJECTED = "rejected"


def default_work_dir(root: DatasetPath, cache_dir: Path | None = None) -> Path:
    """The work folder of the dataset folder ``root``, in the cache folder ``cache_dir``.

    Named after the folder and the sha256 of its resolved path: one folder, however it is
    spelled (relative, through a symbolic link), has one work folder; two of one name have two.
    A URL's is named after its last part and the sha256 of the normalised URL.
    """
    if isinstance(root, ObjectPath):
        name, digest = root.name, hashlib.sha256(root.url.encode()).hexdigest()[:8]
    else:
        resolved = Path(str(root)).resolve()
        name, digest = resolved.name, hashlib.sha256(os.fsencode(resolved)).hexdigest()[:8]
    cache = default_cache_dir() if cache_dir is None else cache_dir
    return cache / "work" / f"{name}-{digest}"


# the type of a layout's root: Path for a local folder, ObjectPath for a URL
RootT = TypeVar("RootT", bound=DatasetPath, covariant=True, default=DatasetPath)
PathT = TypeVar("PathT", bound=DatasetPath)  # the same, for functions of a layout


class DatasetLayout(Generic[RootT]):
    """Every path of a dataset: what is published under ``root``, what is not under ``work``.

    ``DatasetLayout(path)`` is a local dataset; ``DatasetLayout.of`` takes a path or a URL.
    """

    def __init__(
        self, root: RootT, work: Path | None = None, *, cache_dir: Path | None = None
    ) -> None:
        self.root = root
        self.work = default_work_dir(root, cache_dir) if work is None else work

    @overload
    @staticmethod
    def of(
        location: Path, work: Path | None = None, *, cache_dir: Path | None = None
    ) -> DatasetLayout[Path]: ...

    @overload
    @staticmethod
    def of(
        location: Path | DatasetUrl, work: Path | None = None, *, cache_dir: Path | None = None
    ) -> DatasetLayout: ...

    @staticmethod
    def of(
        location: Path | DatasetUrl, work: Path | None = None, *, cache_dir: Path | None = None
    ) -> DatasetLayout:
        """The layout of the dataset at ``location``, a local folder or a URL."""
        if isinstance(location, DatasetUrl):
            return DatasetLayout(ObjectPath(location), work, cache_dir=cache_dir)
        return DatasetLayout(location, work, cache_dir=cache_dir)

    @property
    def is_remote(self) -> bool:
        """Whether the dataset is behind a URL (its work folder is local all the same)."""
        return isinstance(self.root, ObjectPath)

    @property
    def verified_dir(self) -> RootT:
        """The folder of verified tasks (the ``train`` table)."""
        return self.root / "data"

    @property
    def rejected_dir(self) -> RootT:
        """The folder of every other candidate (the ``rejected`` table)."""
        return self.root / "rejected"

    @property
    def card_path(self) -> RootT:
        """The dataset card."""
        return self.root / "README.md"

    @property
    def manifest_path(self) -> Path:
        """The manifest of every shard."""
        return self.work / "manifest.json"

    @property
    def logs_dir(self) -> Path:
        """Build logs and the Prefect server's log."""
        return self.work / "logs"

    @property
    def results_dir(self) -> Path:
        """Prefect's persisted validations, replayed by a rerun after a crash."""
        return self.work / "results"

    @property
    def cursors_dir(self) -> Path:
        """Where incremental GitHub mining resumes, one file per repository."""
        return self.work / "cursors"

    @property
    def lock_path(self) -> Path:
        """The lock every writer of the dataset holds."""
        return self.work / "writer.lock"

    @property
    def finalized_path(self) -> Path:
        """The manifest's sha256 when a run last finished (``pipeline.backfill.up_to_date``)."""
        return self.work / "finalized"

    def previous_layout(self) -> list[tuple[RootT, Path]]:
        """What the previous layout kept in ``root``, each with its place in ``work``."""
        return [
            (self.root / "manifest.json", self.manifest_path),
            (self.root / "logs", self.logs_dir),
            (self.root / "cursors", self.cursors_dir),
            (self.root / ".cache" / "results", self.results_dir),
        ]

    def folder(self, table: DatasetTable) -> RootT:
        """The folder of ``table``'s shards."""
        return self.verified_dir if table is DatasetTable.TRAIN else self.rejected_dir

    def check_places(self) -> None:
        """Bad input unless a writer can use both folders: each a folder or not there yet, and
        the work folder outside the dataset folder (which is published whole). A URL's
        filesystem must answer and its bucket exist (``objects.check_place``)."""
        if self.work.exists() and not self.work.is_dir():
            raise UserInputError(f"work folder {self.work} is a file; give a folder (--work-dir)")
        if isinstance(self.root, ObjectPath):
            check_place(self.root)
            return
        if self.root.exists() and not self.root.is_dir():
            raise UserInputError(f"output folder {self.root} is a file; give a folder path")
        if self.work.resolve().is_relative_to(Path(str(self.root)).resolve()):
            raise UserInputError(
                f"work folder {self.work} is inside the dataset folder {self.root}, which is "
                "published whole; give a --work-dir outside it"
            )

    def prepare(self) -> list[str]:
        """Create the dataset's folders and its work folder, once ``check_places`` allows it.

        Returns the lines of ``move_previous_layout``, run first under the lock.
        """
        self.check_places()
        with dataset_lock(self) as moved:
            for folder in (self.verified_dir, self.rejected_dir, self.logs_dir):
                folder.mkdir(parents=True, exist_ok=True)
        return moved

    def require(self) -> None:
        """Fail with one line unless the root looks like a taskforge dataset.

        On object storage, where folders are only prefixes, the card counts as well: a
        dataset whose runs wrote no task yet has nothing else.
        """
        if isinstance(self.root, ObjectPath):
            check_place(self.root)
        elif not self.root.is_dir():
            raise UserInputError(f"{self.root} is not a folder; give a dataset folder (--out)")
        found = self.verified_dir.is_dir() or self.rejected_dir.is_dir()
        if not (found or (self.is_remote and self.card_path.is_file())):
            raise UserInputError(
                f"{self.root} is not a taskforge dataset: it has no data/ or rejected/ folder"
            )

    def shards(self, table: DatasetTable | None = None) -> list[RootT]:
        """Shards of one table or both, oldest first."""
        tables = list(DatasetTable) if table is None else [table]
        found = [p for t in tables for p in self.folder(t).glob(f"{t.value}-*.parquet")]
        return sorted(found, key=shard_order)

    def new_shard(
        self, table: DatasetTable, existing: Sequence[DatasetPath] | None = None
    ) -> RootT:
        """A name for a new shard that sorts after every shard there is, whatever the clock says.

        Call it holding the lock; ``existing``, the shards there are when the caller has just
        listed them (a listing is a request on object storage). A clock set back (or two writes
        in one microsecond) must not make a newer shard sort first: its rows would lose to
        older ones.
        """
        stamp = datetime.now(UTC)
        for shard in reversed(self.shards() if existing is None else existing):
            try:
                newest = datetime.strptime(shard_order(shard)[:21], STAMP_FORMAT)
            except ValueError:
                continue  # not a name taskforge wrote
            stamp = max(stamp, newest.replace(tzinfo=UTC) + timedelta(microseconds=1))
            break
        name = f"{table.value}-{stamp.strftime(STAMP_FORMAT)}-{uuid.uuid4().hex[:8]}.parquet"
        return self.folder(table) / name

    def relative(self, path: DatasetPath) -> str:
        """``path`` relative to the root, as the manifest names it."""
        return path.relative_to(self.root).as_posix()

    def table_of(self, shard: DatasetPath) -> DatasetTable:
        """The table a shard belongs to, from its name."""
        return DatasetTable(shard.name.split("-", 1)[0])


def shard_order(shard: DatasetPath) -> str:
    """Sort key of a shard: its ``<time>-<id>`` part, so the newest shard sorts last."""
    return shard.name.split("-", 1)[1]


def replace_atomically(final: DatasetPath, write: Callable[[BinaryIO], object]) -> None:
    """Write ``final`` through a hidden temporary file in its folder, fsync, rename, fsync.

    Behind a URL, the file is produced in memory and written whole (``ObjectPath.put``):
    directly to its final key on object storage, else to the temporary name and moved.
    """
    if isinstance(final, ObjectPath):
        put_whole(final, produced(write))
        return
    assert isinstance(final, Path)
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


def put_whole(final: ObjectPath, data: bytes | memoryview) -> None:
    """Write the file ``final`` behind a URL whole: its final key directly on object storage,
    else a hidden temporary file moved over it."""
    if final.mode is WriteMode.PUT:
        final.put(data)
        return
    temporary = final.with_name(f".{final.name}{TEMPORARY_SUFFIX}")
    temporary.put(data)
    temporary.move_to(final)


def remove_stale_temporaries(layout: DatasetLayout) -> list[DatasetPath]:
    """Remove temporary files a killed writer left; call only while holding the lock.

    Object storage has none to look for: its files are never written under another name.
    """
    folders: list[DatasetPath] = [layout.work]
    if not (isinstance(layout.root, ObjectPath) and layout.root.mode is WriteMode.PUT):
        folders += [layout.root, layout.verified_dir, layout.rejected_dir]
    removed = []
    for folder in folders:
        for leftover in folder.glob(f".*{TEMPORARY_SUFFIX}"):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


@contextmanager
def dataset_lock(layout: DatasetLayout) -> Iterator[list[str]]:
    """Hold the dataset's writer lock: one process writes shards or the manifest at a time.

    Each holder first brings a dataset of the previous layout into this one
    (``move_previous_layout``, nothing to do once done), so no writer writes before that; yields
    that function's lines.
    The kernel releases the lock when its holder dies, so a killed writer never blocks the
    next one; a temporary file found while holding the lock is therefore a dead writer's.
    """
    if not layout.is_remote:
        layout.root.mkdir(parents=True, exist_ok=True)
    layout.work.mkdir(parents=True, exist_ok=True)
    with layout.lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield move_previous_layout(layout)
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def move_previous_layout(layout: DatasetLayout) -> list[str]:
    """Move what the previous layout kept in the dataset folder into the work folder.

    Call it holding the lock. Returns a line naming what moved and a line naming what stayed
    (its name taken in the work folder), each when there is any; nothing is overwritten.
    """
    root = layout.root
    if not isinstance(root, Path):
        return []  # a URL never held the previous layout
    previous = cast(list[tuple[Path, Path]], layout.previous_layout())
    stayed: list[Path] = []
    moved = [
        layout.relative(old)
        for old, new in previous
        if os.path.lexists(old) and _move_into(old, new, stayed)
    ]
    lock = root / PREVIOUS_LOCK
    if lock.is_file() and not lock.is_symlink() and lock.stat().st_size == 0:
        lock.unlink()  # it never held anything
    with suppress(OSError):  # not there, or still holding something (.cache/huggingface)
        (root / ".cache").rmdir()
    lines = []
    if moved:
        lines.append(
            f"moved {', '.join(moved)} of the previous layout from {layout.root} into its "
            f"work folder {layout.work}"
        )
    if stayed:
        named = ", ".join(layout.relative(path) for path in stayed[:3])
        more = f" and {len(stayed) - 3} more" if len(stayed) > 3 else ""
        lines.append(
            f"left {named}{more} in {layout.root}: {layout.work} has files of those names; "
            "compare them and remove the ones in the dataset folder before publishing it"
        )
    return lines


def _move_into(old: Path, new: Path, stayed: list[Path]) -> bool:
    """Move ``old`` to ``new``, a folder into an existing one entry by entry, never over what is
    there; what stays is added to ``stayed``. Returns whether anything moved."""
    if not os.path.lexists(new):
        new.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(old, new)
        return True
    if old.is_dir() and not old.is_symlink() and new.is_dir():
        moved = [_move_into(entry, new / entry.name, stayed) for entry in sorted(old.iterdir())]
        with suppress(OSError):  # emptied, unless something stayed
            old.rmdir()
        return any(moved)
    stayed.append(old)
    return False
