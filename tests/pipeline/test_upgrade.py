"""Shards of schema versions 2 (before languages), 3 (before screening) and 4 (before test
strength) upgraded to the current version in place."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.errors import BadShardError
from pipeline.core.languages import Language
from pipeline.core.records import (
    BenchmarkMatch,
    BenchmarkMatchKind,
    Leak,
    LeakField,
    LeakKind,
    Outcome,
    Task,
)
from pipeline.dataset.card import finalize
from pipeline.dataset.compact import compact
from pipeline.dataset.manifest import check_manifest, load_manifest, write_manifest
from pipeline.dataset.shards import (
    METADATA_KEY,
    SCHEMA_VERSION,
    DatasetLayout,
    read_tasks,
    tasks_table,
    write_batch,
    write_tasks,
)
from pipeline.dataset.storage import DatasetTable
from pipeline.dataset.upgrade import stamp_of, upgrade_dataset
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error, taskforge
from tests.pipeline.test_dataset import SCHEMA_FINGERPRINTS

ADDED_BY_3 = {"language"}
ADDED_TO_INSTALL_CONFIG_BY_3 = {"language", "toolchain"}
ADDED_BY_4 = {
    "leaks",
    "patch_id",
    "duplicate_of",
    "statement_minhash",
    "similar_to",
    "benchmark_match",
}

ADDED_BY_5 = {
    "strength",
    "strength_tried",
    "strength_caught",
    "uncovered_hunks",
    "wrong_patches",
    "strength_seconds",
}


def version_4(table: pa.Table) -> pa.Table:
    """``table`` as taskforge 4 wrote it: without the fields version 5 added, stamped "4"."""
    table = table.drop_columns(sorted(ADDED_BY_5))
    return table.replace_schema_metadata({METADATA_KEY: b"4"})


def version_3(table: pa.Table) -> pa.Table:
    """``table`` as taskforge 3 wrote it: without the fields versions 4 and 5 added, stamped
    "3"."""
    table = version_4(table).drop_columns(sorted(ADDED_BY_4))
    return table.replace_schema_metadata({METADATA_KEY: b"3"})


def version_2(table: pa.Table) -> pa.Table:
    """``table`` as taskforge 2 wrote it: without the fields versions 3 and 4 added, stamped
    "2"."""
    table = version_3(table).drop_columns(sorted(ADDED_BY_3))
    config = table.column("install_config").combine_chunks()
    kept = [f for f in config.type if f.name not in ADDED_TO_INSTALL_CONFIG_BY_3]
    old_config = pa.StructArray.from_arrays(
        [config.field(f.name) for f in kept], fields=kept, mask=config.is_null()
    )
    index = table.schema.get_field_index("install_config")
    table = table.set_column(index, pa.field("install_config", old_config.type), old_config)
    return table.replace_schema_metadata({METADATA_KEY: b"2"})


def write_version_2(
    layout: DatasetLayout[Path], kind: DatasetTable, tasks: list[Task], version: str = "2"
) -> Path:
    """A shard of schema version 2 (or ``version`` 3 or 4) in ``layout``."""
    folder = layout.folder(kind)
    folder.mkdir(parents=True, exist_ok=True)
    number = len(layout.shards())
    shard = folder / f"{kind.value}-2025010{number}T000000000000-v{version}.parquet"
    older = {"2": version_2, "3": version_3, "4": version_4}[version]
    pq.write_table(older(tasks_table(tasks)), shard, compression="zstd")
    return shard


def screened(task: Task) -> Task:
    """``task`` with every screening field filled, as version 4 writes it."""
    return task.with_screening(
        [Leak(kind=LeakKind.COMMIT_ID, field=LeakField.HINTS_TEXT, excerpt="bbbbbbb")],
        "f" * 40,
        list(range(64)),
        BenchmarkMatch(instance_id="x__y-1", by=BenchmarkMatchKind.SAME_PR),
    ).revised(similar_to="o__n-1")


@pytest.fixture
def old_layout(tmp_path: Path) -> DatasetLayout[Path]:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    write_version_2(layout, DatasetTable.TRAIN, [make_task(1), make_task(2)])
    write_version_2(layout, DatasetTable.REJECTED, [make_task(3, Outcome.TIMEOUT)])
    write_version_2(layout, DatasetTable.TRAIN, [make_task(3)])  # newer: 3 is verified
    layout.work.mkdir()
    manifest = write_manifest(layout, [])
    text = manifest.model_copy(update={"schema_version": "2"}).model_dump_json()
    layout.manifest_path.write_text(text)
    return layout


@pytest.mark.parametrize(
    ("older", "version"), [(version_2, "2"), (version_3, "3"), (version_4, "4")]
)
def test_the_shards_made_here_are_exactly_those_versions(
    older: Callable[[pa.Table], pa.Table], version: str
) -> None:
    schema = older(tasks_table([screened(make_task(1))])).schema  # as written (read back,
    # lists' items are named "element")
    described = "\n".join(f"{f.name} {f.type} {f.nullable}" for f in schema)
    assert hashlib.sha256(described.encode()).hexdigest()[:16] == SCHEMA_FINGERPRINTS[version]


def test_readers_name_the_upgrade(old_layout: DatasetLayout[Path]) -> None:
    first = old_layout.shards()[0]
    message = f"{first}: schema version 2, this taskforge reads version {SCHEMA_VERSION}; "
    message += "`taskforge upgrade OUT` rewrites it"
    with pytest.raises(BadShardError, match=re.escape(message)):
        read_tasks(old_layout)


def test_upgrade_keeps_every_row_and_each_shards_name(old_layout: DatasetLayout[Path]) -> None:
    names = [shard.name for shard in old_layout.shards()]
    report = upgrade_dataset(old_layout)
    assert report.shards == {"2": 3} and report.rows == 4
    assert report.lines() == [
        f"upgraded 3 shards (3 of version 2; 4 rows) to schema version {SCHEMA_VERSION}"
    ]
    assert [shard.name for shard in old_layout.shards()] == names
    assert {stamp_of(shard) for shard in old_layout.shards()} == {SCHEMA_VERSION}
    tasks = {task.instance_id: task for task in read_tasks(old_layout)}
    expected = {t.instance_id: t for t in [make_task(1), make_task(2), make_task(3)]}
    assert tasks == expected  # every field, the newest row of o__n-3 (verified) included
    assert {t.language for t in tasks.values()} == {Language.PYTHON}
    check = check_manifest(old_layout, verify_checksums=True)
    assert check.problems == []  # sizes and checksums of the rewritten shards, version current
    manifest = load_manifest(old_layout)
    assert manifest is not None and manifest.schema_version == SCHEMA_VERSION
    assert {e.schema_version for e in manifest.shards} == {SCHEMA_VERSION}
    assert upgrade_dataset(old_layout).shards == {}  # nothing left to do


def test_a_writer_upgrades_first_so_a_folder_never_mixes_versions(
    old_layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    compact(old_layout)  # a writer: upgrades, then compacts
    write_tasks(old_layout, [make_task(4)])
    finalize(old_layout)
    assert {stamp_of(shard) for shard in old_layout.shards()} == {SCHEMA_VERSION}
    import datasets

    train = datasets.load_dataset(
        str(old_layout.root), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert sorted(train["instance_id"]) == ["o__n-1", "o__n-2", "o__n-3", "o__n-4"]
    assert set(train["language"]) == {"python"}


def test_the_upgrade_command(old_layout: DatasetLayout[Path]) -> None:
    on = ["--work-dir", str(old_layout.work)]
    stats = taskforge("stats", str(old_layout.root), *on)
    assert_one_line_error(stats, "schema version 2, this taskforge reads version", 5)
    result = taskforge("upgrade", str(old_layout.root), *on)
    assert result.returncode == 0, result.stderr
    assert "upgraded 3 shards (3 of version 2; 4 rows)" in result.stdout
    again = taskforge("upgrade", str(old_layout.root), *on)
    assert again.returncode == 0, again.stderr
    assert f"already at schema version {SCHEMA_VERSION}" in again.stdout
    stats = taskforge("stats", str(old_layout.root), *on, env={"COLUMNS": "200"})
    assert stats.returncode == 0, stats.stderr
    assert "3 verified" in stats.stdout
    assert json.loads(old_layout.manifest_path.read_text())["schema_version"] == SCHEMA_VERSION


@pytest.fixture
def version_3_layout(tmp_path: Path) -> DatasetLayout[Path]:
    """Shards of versions 2 and 3 side by side (an upgrade to 3 that never ran on some), with
    screening fields in the rows that version 3 could not hold."""
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    write_version_2(layout, DatasetTable.TRAIN, [screened(make_task(1))], version="2")
    write_version_2(layout, DatasetTable.TRAIN, [screened(make_task(2))], version="3")
    write_version_2(layout, DatasetTable.REJECTED, [make_task(3, Outcome.TIMEOUT)], version="3")
    layout.work.mkdir()
    manifest = write_manifest(layout, [])
    text = manifest.model_copy(update={"schema_version": "3"}).model_dump_json()
    layout.manifest_path.write_text(text)
    return layout


def test_version_3_shards_get_empty_screening_fields(
    version_3_layout: DatasetLayout[Path],
) -> None:
    report = upgrade_dataset(version_3_layout)
    assert report.shards == {"2": 1, "3": 2} and report.rows == 3
    assert report.lines() == [
        f"upgraded 3 shards (1 of version 2, 2 of version 3; 3 rows) to schema version "
        f"{SCHEMA_VERSION}"
    ]
    assert {stamp_of(shard) for shard in version_3_layout.shards()} == {SCHEMA_VERSION}
    tasks = {task.instance_id: task for task in read_tasks(version_3_layout)}
    expected = {
        t.instance_id: t for t in [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)]
    }
    assert tasks == expected  # every field kept; the screening fields at their defaults
    for task in tasks.values():
        assert (task.leaks, task.patch_id, task.duplicate_of) == ([], "", "")
        assert (task.statement_minhash, task.similar_to, task.benchmark_match) == ([], "", None)
    assert check_manifest(version_3_layout, verify_checksums=True).problems == []


def test_upgraded_tasks_are_never_taken_for_duplicates(
    version_3_layout: DatasetLayout[Path],
) -> None:
    upgrade_dataset(version_3_layout)
    again = make_task(4).revised(patch_id="", statement_minhash=[])  # the same patch text
    _, (written,) = write_batch(version_3_layout, [again])
    assert written.verified and written.duplicate_of == ""


def measured(task: Task) -> Task:
    """``task`` with the test strength fields filled, as version 5 writes them."""
    return task.with_strength(0.5, 2, 1, ["a.py @@ -1,2 +1,3 @@"], [], 3.5)


def test_version_4_shards_get_not_measured_strength(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    write_version_2(layout, DatasetTable.TRAIN, [measured(screened(make_task(1)))], version="4")
    report = upgrade_dataset(layout)
    assert report.shards == {"4": 1} and report.rows == 1
    (task,) = read_tasks(layout)
    assert task == screened(make_task(1))  # every field of version 4 kept
    assert (task.strength, task.strength_tried, task.strength_caught) == (None, 0, 0)
    assert (task.uncovered_hunks, task.wrong_patches, task.strength_seconds) == ([], [], 0.0)
