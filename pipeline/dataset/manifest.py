"""The manifest: every shard of a dataset with its table, rows, size, sha256 and schema version.

``WORK/manifest.json`` (in the dataset's work folder, ``pipeline.dataset.storage``) is rewritten
whole (``storage.replace_atomically``) by a writer holding the dataset lock, and only after the
shards it lists are complete on disk. So at any moment:

- every shard it lists was complete when listed, with the checksum it had then;
- a shard on disk that it does not list was renamed into place by a writer killed before it
  updated the manifest (or is being compacted away); the next ``refresh_manifest`` lists it;
- an entry whose file is gone (``compact`` removed it) is dropped by the next refresh.

Readers never need the manifest to read the data (the shards are found by their names, as polars
and Hugging Face ``datasets`` find them); it is what the writer's machine checks the files
against. ``check_manifest`` sorts the disagreements in two: a listed shard whose size or sha256
is not the listed one (``changed``: its rows are not what was written, so a command that shows
or carries rows stops at it) and the rest (``warnings``: an unlisted shard, a listed one that is
gone, a manifest that does not parse or is of another schema version; the rows read are right).
A dataset folder without its work folder (a copy on another machine) has nothing to check
against and is read silently; a work folder without a manifest is a warning.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

import pyarrow.parquet as pq
from pydantic import BaseModel, ValidationError

from pipeline.core.errors import BadShardError
from pipeline.dataset.objects import DatasetPath, arrow_file, open_bytes, readable
from pipeline.dataset.storage import (
    METADATA_KEY,
    SCHEMA_VERSION,
    DatasetLayout,
    DatasetTable,
    replace_atomically,
)

MANIFEST_FORMAT: Final = "taskforge-manifest"
CHUNK_BYTES = 1 << 20  # read at a time for a checksum


class ShardEntry(BaseModel):
    """One shard as it was when it was listed."""

    path: str  # relative to the dataset root, with forward slashes
    table: DatasetTable
    rows: int
    size_bytes: int
    sha256: str
    schema_version: str


class Manifest(BaseModel):
    """Every shard of a dataset with its table, rows and checksum (``manifest.json``)."""

    format: Literal["taskforge-manifest"] = MANIFEST_FORMAT
    schema_version: str = SCHEMA_VERSION
    updated_at: datetime
    rows: dict[DatasetTable, int]  # per table, before duplicates are resolved
    shards: list[ShardEntry]


def sha256_of(path: DatasetPath) -> str:
    """The SHA-256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open_bytes(path) as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def read_footer(shard: DatasetPath) -> pq.FileMetaData:
    """A shard's Parquet footer; ``BadShardError`` when it cannot be read."""
    source, filesystem = arrow_file(shard)
    try:
        with readable(shard):
            return pq.read_metadata(source, filesystem=filesystem)
    except (OSError, ValueError) as error:
        raise BadShardError(shard, f"not a readable Parquet file ({error})") from None


def schema_stamp(footer: pq.FileMetaData) -> str:
    """The schema version a shard's footer names ("" for none)."""
    stamp: bytes = (footer.metadata or {}).get(METADATA_KEY, b"")
    return stamp.decode()


def describe_shard(layout: DatasetLayout, shard: DatasetPath) -> ShardEntry:
    """A shard's entry, from its Parquet footer and its bytes."""
    footer = read_footer(shard)
    stamp = schema_stamp(footer) or "none"
    return ShardEntry(
        path=layout.relative(shard),
        table=layout.table_of(shard),
        rows=footer.num_rows,
        size_bytes=shard.stat().st_size,
        sha256=sha256_of(shard),
        schema_version=stamp,
    )


def load_manifest(layout: DatasetLayout) -> Manifest | None:
    """The manifest, or None when there is none; a manifest that does not parse is an error."""
    try:
        text = layout.manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Manifest.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]["msg"]
        raise BadShardError(layout.manifest_path, f"not a taskforge manifest ({first})") from None


def describe_bytes(
    layout: DatasetLayout, shard: DatasetPath, data: bytes | memoryview, rows: int
) -> ShardEntry:
    """The entry of a shard just written from ``data`` (``rows`` rows of ``TASK_SCHEMA``)."""
    return ShardEntry(
        path=layout.relative(shard),
        table=layout.table_of(shard),
        rows=rows,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        schema_version=SCHEMA_VERSION,
    )


def refresh_manifest(
    layout: DatasetLayout,
    exclude: Collection[DatasetPath] = (),
    *,
    fresh: Collection[ShardEntry] = (),
    found: Sequence[DatasetPath] | None = None,
) -> list[str]:
    """Make the manifest list exactly the shards on disk (but ``exclude``); hold the lock.

    Entries of unchanged files are kept as they are (a shard is never rewritten), new files are
    read and hashed once, but those in ``fresh`` (described from their bytes as they were
    written). ``found``: the shards there are, when the caller holding the lock knows them.
    Returns one line per shard that could not be listed.
    """
    try:
        previous = load_manifest(layout)
    except BadShardError:
        previous = None  # rebuilt from the files below
    known = {entry.path: entry for entry in previous.shards} if previous else {}
    known |= {entry.path: entry for entry in fresh}
    entries, problems = [], []
    for shard in layout.shards() if found is None else found:
        if shard in exclude:
            continue
        entry = known.get(layout.relative(shard))
        if entry is None or entry.size_bytes != shard.stat().st_size:
            try:
                entry = describe_shard(layout, shard)
            except BadShardError as error:
                problems.append(str(error))
                continue
        entries.append(entry)
    write_manifest(layout, entries)
    return problems


def write_manifest(layout: DatasetLayout, entries: list[ShardEntry]) -> Manifest:
    """Write the manifest of ``entries`` atomically and return it."""
    rows = {table: sum(e.rows for e in entries if e.table is table) for table in DatasetTable}
    manifest = Manifest(updated_at=datetime.now(UTC), rows=rows, shards=entries)
    text = manifest.model_dump_json(indent=2) + "\n"
    replace_atomically(layout.manifest_path, lambda handle: handle.write(text.encode()))
    return manifest


@dataclass
class ManifestCheck:
    """The disagreements between the manifest and the files, in two kinds."""

    changed: list[BadShardError] = field(default_factory=list)  # listed, other size or sha256
    warnings: list[str] = field(default_factory=list)  # the rows read are right all the same

    @property
    def problems(self) -> list[str]:
        """One line per disagreement, of either kind."""
        return self.warnings + [str(error) for error in self.changed]


def check_manifest(layout: DatasetLayout, verify_checksums: bool = False) -> ManifestCheck:
    """The manifest against the files; empty when they agree or there is nothing to check.

    Sizes are always compared; checksums only when asked (it reads every byte).
    """
    try:
        manifest = load_manifest(layout)
    except BadShardError as error:
        return ManifestCheck(warnings=[f"{error}; shards are read without checking them"])
    if manifest is None:
        if not layout.work.is_dir():
            return ManifestCheck()  # a copy without its work folder: nothing to check against
        return ManifestCheck(
            warnings=[
                f"{layout.manifest_path} is missing; shards are read without checking them "
                f"(taskforge compact {layout.root} writes it again)"
            ]
        )
    check = ManifestCheck()
    if manifest.schema_version != SCHEMA_VERSION:
        check.warnings.append(
            f"{layout.manifest_path} is for schema version {manifest.schema_version}, "
            f"this taskforge reads version {SCHEMA_VERSION}"
        )
    listed = {entry.path: entry for entry in manifest.shards}
    on_disk = {layout.relative(shard): shard for shard in layout.shards()}
    for path in sorted(set(listed) - set(on_disk)):
        check.warnings.append(f"{layout.manifest_path} lists {path}, which does not exist")
    for path, shard in on_disk.items():
        entry = listed.get(path)
        if entry is None:
            check.warnings.append(
                f"{shard} is not in {layout.manifest_path} (a write was interrupted); "
                "it is read all the same"
            )
            continue
        size = shard.stat().st_size
        if entry.size_bytes != size:
            differs = f"{size} bytes where {layout.manifest_path} lists {entry.size_bytes}"
        elif verify_checksums and sha256_of(shard) != entry.sha256:
            differs = f"does not match its sha256 in {layout.manifest_path}"
        else:
            continue
        check.changed.append(
            BadShardError(
                shard, f"{differs}, so it changed after it was written; restore it or remove it"
            )
        )
    return check


def manifest_problems(layout: DatasetLayout, verify_checksums: bool = False) -> list[str]:
    """One line per disagreement between the manifest and the files (``check_manifest``)."""
    return check_manifest(layout, verify_checksums).problems


def verify_shards(layout: DatasetLayout) -> list[str]:
    """Check every listed shard's size and sha256: ``BadShardError`` for the first that changed.

    For commands that show or carry rows (``stats``, ``show``, ``export``, ``compact``): a changed
    shard's rows are not what was written. Returns the warnings, which leave the rows right.
    """
    check = check_manifest(layout, verify_checksums=True)
    if check.changed:
        raise check.changed[0]
    return check.warnings
