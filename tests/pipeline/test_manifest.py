"""The manifest against the files: what a crash, a lost manifest or a changed shard looks like."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.errors import BadShardError
from pipeline.core.records import Outcome
from pipeline.dataset.manifest import (
    check_manifest,
    load_manifest,
    manifest_problems,
    refresh_manifest,
    sha256_of,
    verify_shards,
)
from pipeline.dataset.shards import DatasetLayout, tasks_table, write_shard, write_tasks
from pipeline.dataset.storage import SCHEMA_VERSION, DatasetTable, dataset_lock
from tests.pipeline.factories import make_task


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    written = DatasetLayout(tmp_path / "out", tmp_path / "work")
    written.prepare()
    write_tasks(written, [make_task(1), make_task(2), make_task(3, Outcome.DOCS_ONLY)])
    return written


def test_a_fresh_dataset_agrees_with_its_manifest(layout: DatasetLayout[Path]) -> None:
    assert manifest_problems(layout, verify_checksums=True) == []
    manifest = load_manifest(layout)
    assert manifest is not None
    assert manifest.rows == {DatasetTable.TRAIN: 2, DatasetTable.REJECTED: 1}
    for entry in manifest.shards:
        shard = layout.root / entry.path
        assert (entry.sha256, entry.size_bytes) == (sha256_of(shard), shard.stat().st_size)
    on_disk = json.loads(layout.manifest_path.read_text())
    assert on_disk["format"] == "taskforge-manifest" and on_disk["schema_version"] == SCHEMA_VERSION


def test_a_shard_renamed_in_before_a_crash_is_reported_then_listed(
    layout: DatasetLayout[Path],
) -> None:
    with dataset_lock(layout):  # what a writer killed right after the rename leaves
        unlisted = write_shard(layout, DatasetTable.TRAIN, tasks_table([make_task(4)]))
    assert manifest_problems(layout) == [
        f"{unlisted} is not in {layout.manifest_path} (a write was interrupted); "
        "it is read all the same"
    ]
    write_tasks(layout, [make_task(5)])
    manifest = load_manifest(layout)
    assert manifest is not None
    assert layout.relative(unlisted) in [e.path for e in manifest.shards]
    assert manifest_problems(layout, verify_checksums=True) == []


def test_a_missing_manifest_is_reported_and_rebuilt(layout: DatasetLayout[Path]) -> None:
    before = load_manifest(layout)
    layout.manifest_path.unlink()
    (problem,) = manifest_problems(layout)
    assert problem.startswith(f"{layout.manifest_path} is missing")
    assert f"taskforge compact {layout.root}" in problem
    with dataset_lock(layout):
        assert refresh_manifest(layout) == []
    after = load_manifest(layout)
    assert before is not None and after is not None
    assert after.shards == before.shards


def test_a_copy_without_its_work_folder_has_nothing_to_check(
    layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    copy = DatasetLayout(layout.root, tmp_path / "elsewhere")
    assert manifest_problems(copy, verify_checksums=True) == []


def test_a_manifest_that_does_not_parse_names_the_file(layout: DatasetLayout[Path]) -> None:
    layout.manifest_path.write_text("{not json")
    (problem,) = manifest_problems(layout)
    assert problem.startswith(f"{layout.manifest_path}: not a taskforge manifest")
    write_tasks(layout, [make_task(9)])
    assert manifest_problems(layout, verify_checksums=True) == []


def test_a_changed_or_removed_shard_is_reported(layout: DatasetLayout[Path]) -> None:
    train, rejected = layout.shards()
    data = bytearray(train.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, other bytes
    train.write_bytes(bytes(data))
    assert manifest_problems(layout) == []  # sizes agree; only checksums tell
    (changed,) = check_manifest(layout, verify_checksums=True).changed
    assert (changed.path, str(changed)) == (
        train,
        f"{train}: does not match its sha256 in {layout.manifest_path}, so it changed after "
        "it was written; restore it or remove it",
    )
    with pytest.raises(BadShardError, match="does not match its sha256"):
        verify_shards(layout)
    rejected.write_bytes(rejected.read_bytes() + b"x")
    size = rejected.stat().st_size
    assert manifest_problems(layout)[0] == (
        f"{rejected}: {size} bytes where {layout.manifest_path} lists {size - 1}, so it "
        "changed after it was written; restore it or remove it"
    )
    rejected.unlink()
    assert manifest_problems(layout) == [
        f"{layout.manifest_path} lists {layout.relative(rejected)}, which does not exist"
    ]


def test_an_unreadable_new_shard_is_not_listed(layout: DatasetLayout[Path]) -> None:
    junk = layout.verified_dir / "train-29990101T000000000000-junk.parquet"
    junk.write_bytes(b"not parquet")
    with dataset_lock(layout):
        (problem,) = refresh_manifest(layout)
    assert problem.startswith(f"{junk}: not a readable Parquet file")
    manifest = load_manifest(layout)
    assert manifest is not None
    assert layout.relative(junk) not in [e.path for e in manifest.shards]
