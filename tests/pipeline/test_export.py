"""The SWE-bench export has exactly the fields and types its harness documents.

``SWEbenchInstance`` (swebench/harness/constants/__init__.py, later swebench/types.py) is a
TypedDict of twelve ``str`` fields; the dataset card of princeton-nlp/SWE-bench declares the
same columns with ``dtype: string``; the harness ``json.loads`` FAIL_TO_PASS and PASS_TO_PASS.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.core.errors import BadShardError, UserInputError
from pipeline.core.records import Outcome
from pipeline.dataset.export import export_swebench
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import CRLF_PATCH, ODD_TEST_PATCH, make_task

SWEBENCH_INSTANCE_FIELDS = {  # SWEbenchInstance: field -> type, as the harness declares it
    "repo": str,
    "instance_id": str,
    "base_commit": str,
    "patch": str,
    "test_patch": str,
    "problem_statement": str,
    "hints_text": str,
    "created_at": str,
    "version": str,
    "FAIL_TO_PASS": str,
    "PASS_TO_PASS": str,
    "environment_setup_commit": str,
}


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout:
    written = DatasetLayout(tmp_path / "out", tmp_path / "work")
    written.prepare()
    east = timezone(timedelta(hours=2))
    write_tasks(
        written,
        [
            make_task(1),
            make_task(2, created_at=datetime(2024, 6, 1, 12, 0, 0, 999, tzinfo=east)),
            make_task(3, Outcome.NO_FAIL_TO_PASS),
            make_task(4),
        ],
    )
    write_tasks(written, [make_task(4, Outcome.TIMEOUT)])  # no longer verified
    return written


def test_jsonl_has_exactly_the_harness_fields_all_strings(
    layout: DatasetLayout, tmp_path: Path
) -> None:
    jsonl, _ = export_swebench(layout, tmp_path / "export")
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [row["instance_id"] for row in rows] == ["o__n-1", "o__n-2"]
    for row in rows:
        assert list(row) == list(SWEBENCH_INSTANCE_FIELDS)
        assert {name: type(value) for name, value in row.items()} == SWEBENCH_INSTANCE_FIELDS
    first, second = rows
    assert json.loads(first["FAIL_TO_PASS"]) == make_task(1).FAIL_TO_PASS
    assert json.loads(first["PASS_TO_PASS"]) == make_task(1).PASS_TO_PASS
    assert first["patch"] == CRLF_PATCH and first["test_patch"] == ODD_TEST_PATCH
    assert first["created_at"] == "2024-01-02T03:04:05Z"
    assert second["created_at"] == "2024-06-01T10:00:00Z"  # UTC, GitHub's form
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["created_at"]) for r in rows)


def test_parquet_has_string_columns_and_the_same_rows(
    layout: DatasetLayout, tmp_path: Path
) -> None:
    jsonl, parquet = export_swebench(layout, tmp_path / "export")
    table = pq.read_table(parquet)
    assert table.schema.names == list(SWEBENCH_INSTANCE_FIELDS)
    assert set(table.schema.types) == {pa.string()}
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert table.to_pylist() == rows


def test_export_to_a_file_is_refused(layout: DatasetLayout, tmp_path: Path) -> None:
    target = tmp_path / "export"
    target.write_text("keep")
    with pytest.raises(UserInputError, match="is a file"):
        export_swebench(layout, target)
    assert target.read_text() == "keep"


def test_export_stops_at_a_bad_shard_naming_it(layout: DatasetLayout, tmp_path: Path) -> None:
    bad = layout.verified_dir / "train-20000101T000000000000-bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(BadShardError, match=re.escape(str(bad))):
        export_swebench(layout, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_an_empty_dataset_exports_empty_files(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    jsonl, parquet = export_swebench(layout, tmp_path / "export")
    assert jsonl.read_text() == ""
    assert pq.read_table(parquet).num_rows == 0
    assert pq.read_schema(parquet).names == list(SWEBENCH_INSTANCE_FIELDS)
