from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.errors import BadShardError, UnwritableTaskError, UserInputError
from pipeline.core.records import Outcome, Task
from pipeline.dataset.shards import (
    METADATA_KEY,
    ROW_GROUP_SIZE,
    SCHEMA_VERSION,
    TASK_SCHEMA,
    DatasetLayout,
    finished_instance_ids,
    load_table,
    open_shard,
    read_tasks,
    write_tasks,
)
from tests.pipeline.factories import CRLF_PATCH, ODD_TEST_PATCH, make_task


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    prepared = DatasetLayout(tmp_path / "out", tmp_path / "work")
    prepared.prepare()
    return prepared


def by_number(tasks: list[Task]) -> list[Task]:
    return sorted(tasks, key=lambda t: t.pull_number)


def test_round_trip(layout: DatasetLayout[Path]) -> None:
    tasks = [make_task(1), make_task(2, Outcome.NO_FAIL_TO_PASS), make_task(3, None)]
    shards = write_tasks(layout, tasks)
    assert [s.parent.name for s in shards] == ["data", "rejected"]
    back = by_number(read_tasks(layout))
    assert back == tasks
    assert back[0].patch == CRLF_PATCH and "\r\n" in back[0].patch
    assert back[0].test_patch == ODD_TEST_PATCH
    assert finished_instance_ids(layout) == {"o__n-1", "o__n-2", "o__n-3"}


def test_round_trip_keeps_the_instant_of_other_time_zones(layout: DatasetLayout[Path]) -> None:
    east = timezone(timedelta(hours=5, minutes=30))
    task = make_task(1, created_at=datetime(2024, 1, 2, 8, 34, 5, tzinfo=east))
    write_tasks(layout, [task])
    (back,) = read_tasks(layout)
    assert back == task
    assert back.created_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_text_that_is_not_unicode_is_refused_naming_task_and_field(
    layout: DatasetLayout[Path],
) -> None:
    # GitPython decodes a non-UTF-8 diff with surrogate escapes; Parquet strings cannot hold it.
    bad = make_task(2, patch="+caf" + b"\xe9".decode("utf-8", "surrogateescape") + "\n")
    with pytest.raises(UnwritableTaskError, match=r"task o__n-2: patch .*not UTF-8"):
        write_tasks(layout, [make_task(1), bad])
    assert layout.shards() == []
    nested = make_task(3, runs=[], flaky_tests=[], FAIL_TO_PASS=["t\udcff"])
    with pytest.raises(UnwritableTaskError, match=r"FAIL_TO_PASS\[0\]"):
        write_tasks(layout, [nested])


def test_schema_has_real_lists_and_version(layout: DatasetLayout[Path]) -> None:
    (shard,) = write_tasks(layout, [make_task(1)])
    schema = pq.read_schema(shard)
    assert schema.field("FAIL_TO_PASS").type == pa.list_(pa.string())
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("runs").type.value_type.field("peak_memory_bytes").type == pa.int64()
    assert schema.metadata[METADATA_KEY] == SCHEMA_VERSION.encode()
    assert schema.remove_metadata() == TASK_SCHEMA.remove_metadata()


# The Arrow schema of each schema version, as a fingerprint. A change to records.py that changes
# the schema fails here: bump SCHEMA_VERSION (pipeline/dataset/storage.py) once shards of the
# old schema may exist anywhere (shards of another schema are refused by name), then pin the
# new one.
SCHEMA_FINGERPRINTS = {
    "1": "eb73ab829fd4d6d0",
    "2": "1a495da3814e98da",
    "3": "06c4d7dd077e10ec",
    "4": "5e3b2a3c7f96c3ac",
    "5": "cfa42b82ea198158",
}


def test_the_schema_of_each_version_is_pinned() -> None:
    described = "\n".join(f"{f.name} {f.type} {f.nullable}" for f in TASK_SCHEMA)
    fingerprint = hashlib.sha256(described.encode()).hexdigest()[:16]
    assert SCHEMA_FINGERPRINTS.get(SCHEMA_VERSION) == fingerprint, (
        f"the Parquet schema changed (fingerprint {fingerprint}); see SCHEMA_FINGERPRINTS"
    )


def test_shards_are_zstd_with_bounded_row_groups(layout: DatasetLayout[Path]) -> None:
    base = make_task(0)
    tasks = [
        base.revised(instance_id=f"o__n-{n}", pull_number=n) for n in range(ROW_GROUP_SIZE + 1)
    ]
    (shard,) = write_tasks(layout, tasks)
    footer = pq.read_metadata(shard)
    assert footer.num_rows == ROW_GROUP_SIZE + 1
    assert [footer.row_group(i).num_rows for i in range(footer.num_row_groups)] == [
        ROW_GROUP_SIZE,
        1,
    ]
    assert footer.row_group(0).column(0).compression == "ZSTD"


def test_appends_never_rewrite_earlier_shards(layout: DatasetLayout[Path]) -> None:
    (first,) = write_tasks(layout, [make_task(1)])
    before = (first.read_bytes(), os.stat(first).st_mtime_ns)
    write_tasks(layout, [make_task(1, Outcome.TIMEOUT), make_task(2)])
    assert (first.read_bytes(), os.stat(first).st_mtime_ns) == before
    assert len(layout.shards()) == 3


def test_newest_row_wins_across_tables(layout: DatasetLayout[Path]) -> None:
    write_tasks(layout, [make_task(1, Outcome.TIMEOUT), make_task(2)])
    write_tasks(layout, [make_task(1)])
    write_tasks(layout, [make_task(2, Outcome.FIX_BREAKS_TESTS)])
    outcomes = {t.instance_id: t.outcome for t in read_tasks(layout)}
    assert outcomes == {"o__n-1": Outcome.VERIFIED, "o__n-2": Outcome.FIX_BREAKS_TESTS}
    every_row = load_table(layout, ["outcome"], keep_duplicates=True).table
    assert every_row.num_rows == 4


def test_a_new_shard_sorts_last_even_when_the_clock_went_back(layout: DatasetLayout[Path]) -> None:
    (written,) = write_tasks(layout, [make_task(1, Outcome.TIMEOUT)])
    future = layout.rejected_dir / "rejected-29990101T000000000000-ahead.parquet"
    written.rename(future)  # as if written by a clock far ahead
    (newer,) = write_tasks(layout, [make_task(1)])
    assert newer.name.startswith("train-29990101T000000000001-")
    assert layout.shards() == [future, newer]
    (task,) = read_tasks(layout)
    assert task.outcome is Outcome.VERIFIED


def test_polars_duckdb_and_datasets_read_the_same_rows(
    layout: DatasetLayout[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pipeline.dataset.card import finalize

    write_tasks(layout, [make_task(n) for n in (1, 2)] + [make_task(3, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(4, repo="p/q")])
    finalize(layout)
    columns = ["instance_id", "patch", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS"]
    expected = sorted(
        (t.instance_id, t.patch, t.test_patch, t.FAIL_TO_PASS, t.PASS_TO_PASS)
        for t in read_tasks(layout)
        if t.verified
    )
    glob = str(layout.verified_dir / "train-*.parquet")

    polars_rows = pl.read_parquet(glob).select(columns).rows()
    relation = duckdb.sql(f"select {', '.join(columns)} from read_parquet('{glob}')")
    assert relation is not None
    duckdb_rows = relation.fetchall()
    datasets_rows = _datasets_rows(layout, monkeypatch, tmp_path, columns)

    assert sorted(polars_rows) == expected
    assert sorted(duckdb_rows) == expected
    assert sorted(datasets_rows) == expected
    assert len(expected) == 3 and "\r\n" in expected[0][1]


def _datasets_rows(
    layout: DatasetLayout[Path], monkeypatch: pytest.MonkeyPatch, cache: Path, columns: list[str]
) -> list[tuple[object, ...]]:
    """Rows as Hugging Face ``datasets`` loads the folder, offline, through the card."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(cache / "hf"))
    import datasets

    train = datasets.load_dataset(str(layout.root), split="train", cache_dir=str(cache / "c"))
    rejected = datasets.load_dataset(
        str(layout.root), "rejected", split="train", cache_dir=str(cache / "c")
    )
    assert rejected["instance_id"] == ["o__n-3"]
    assert train.features["FAIL_TO_PASS"].feature.dtype == "string"
    return [tuple(row[c] for c in columns) for row in train]


def test_a_shard_of_another_schema_version_names_the_file(layout: DatasetLayout[Path]) -> None:
    (good,) = write_tasks(layout, [make_task(1)])
    table = pq.read_table(good).replace_schema_metadata({METADATA_KEY: b"0"})
    other = layout.verified_dir / "train-20000101T000000000000-old.parquet"
    pq.write_table(table, other)
    message = f"{other}: schema version 0, this taskforge reads version {SCHEMA_VERSION}"
    with pytest.raises(BadShardError, match=re.escape(message)):
        open_shard(other)
    with pytest.raises(BadShardError, match=re.escape(str(other))):
        read_tasks(layout)
    loaded = load_table(layout, skip_bad=True)
    assert loaded.table.num_rows == 1
    assert [e.path for e in loaded.skipped] == [other]


def test_a_shard_with_other_columns_names_them(layout: DatasetLayout[Path]) -> None:
    (good,) = write_tasks(layout, [make_task(1)])
    table = pq.read_table(good).drop_columns(["license"])
    other = layout.verified_dir / "train-20000101T000000000000-old.parquet"
    pq.write_table(table.replace_schema_metadata(TASK_SCHEMA.metadata), other)
    with pytest.raises(BadShardError, match=r"other columns \(missing: license; extra: -"):
        open_shard(other)


def test_a_corrupt_shard_names_the_file(layout: DatasetLayout[Path]) -> None:
    (good,) = write_tasks(layout, [make_task(1)])
    corrupt = layout.verified_dir / "train-20000101T000000000000-bad.parquet"
    corrupt.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    message = f"{corrupt}: not a readable Parquet file"
    with pytest.raises(BadShardError, match=re.escape(message)):
        finished_instance_ids(layout)


def test_a_dead_writers_temporary_file_is_removed_by_the_next_write(
    layout: DatasetLayout[Path],
) -> None:
    leftover = layout.verified_dir / ".train-20240101T000000000000-dead.parquet.tmp"
    leftover.write_bytes(b"PAR1 partial")
    assert layout.shards() == []  # hidden from readers
    write_tasks(layout, [make_task(1)])
    assert not leftover.exists()


def test_manifest_lists_each_written_shard(layout: DatasetLayout[Path]) -> None:
    from pipeline.dataset.manifest import load_manifest

    shards = write_tasks(layout, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    manifest = load_manifest(layout)
    assert manifest is not None
    assert [e.path for e in manifest.shards] == [layout.relative(s) for s in shards]
    assert [e.rows for e in manifest.shards] == [2, 1]
    assert manifest.shards[0].sha256 == hashlib.sha256(shards[0].read_bytes()).hexdigest()
    assert manifest.schema_version == SCHEMA_VERSION


def test_output_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(UserInputError, match="is a file"):
        DatasetLayout(target, tmp_path / "work").prepare()
