"""The SWE-bench export has exactly the fields and types its harness documents.

``SWEbenchInstance`` (swebench/types.py) is a TypedDict of twelve ``str`` fields; the dataset
card of princeton-nlp/SWE-bench declares the same columns with ``dtype: string``; the harness
``json.loads`` FAIL_TO_PASS and PASS_TO_PASS. swebench 5.x's ``make_test_spec`` also reads
``image``, ``eval_script``, ``log_parser`` and ``eval_type``, all strings.
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
from pipeline.dataset.export import NO_INSTANCE_IMAGE, export_swebench
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
    "image": str,
    "eval_script": str,
    "log_parser": str,
    "eval_type": str,
}


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
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
    layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    jsonl, _ = export_swebench(layout, tmp_path / "export").paths
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
    assert first["image"] == make_task(1).instance_image.pull_ref  # type: ignore[union-attr]
    assert first["eval_type"] == "pass_and_fail"
    # an id with whitespace ("test_y[a b]"): parse_log_pytest would split it, django's reads it
    assert first["log_parser"] == "parse_log_django"
    assert first["eval_script"].startswith("#!/bin/bash\nset -uxo pipefail\n")


def test_whitespace_free_ids_use_swebench_pytest_parser(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out")
    layout.prepare()
    plain = make_task(5, FAIL_TO_PASS=["tests/test_x.py::test_y[a-b]"])
    write_tasks(layout, [plain])
    (row,) = export_swebench(layout, tmp_path / "export").instances
    assert row["log_parser"] == "parse_log_pytest"


def test_tasks_the_harness_cannot_grade_are_left_out_and_counted(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out")
    layout.prepare()
    no_image = make_task(6, instance_image=None)
    unreadable = make_task(7, FAIL_TO_PASS=["ok_tests/test_x.py::test_y[a b]"])
    write_tasks(layout, [no_image, unreadable, make_task(8)])
    export = export_swebench(layout, tmp_path / "export")
    assert [row["instance_id"] for row in export.instances] == ["o__n-8"]
    assert export.left_out[NO_INSTANCE_IMAGE] == 1
    (reason,) = [r for r in export.left_out if r != NO_INSTANCE_IMAGE]
    assert "ok_tests/test_x.py" in reason and export.left_out[reason] == 1


def test_parquet_has_string_columns_and_the_same_rows(
    layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    jsonl, parquet = export_swebench(layout, tmp_path / "export").paths
    table = pq.read_table(parquet)
    assert table.schema.names == list(SWEBENCH_INSTANCE_FIELDS)
    assert set(table.schema.types) == {pa.string()}
    rows = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert table.to_pylist() == rows


def test_export_to_a_file_is_refused(layout: DatasetLayout[Path], tmp_path: Path) -> None:
    target = tmp_path / "export"
    target.write_text("keep")
    with pytest.raises(UserInputError, match="is a file"):
        export_swebench(layout, target)
    assert target.read_text() == "keep"


def test_export_stops_at_a_bad_shard_naming_it(layout: DatasetLayout[Path], tmp_path: Path) -> None:
    bad = layout.verified_dir / "train-20000101T000000000000-bad.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(BadShardError, match=re.escape(str(bad))):
        export_swebench(layout, tmp_path / "export")
    assert not (tmp_path / "export").exists()


def test_an_empty_dataset_exports_empty_files(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    jsonl, parquet = export_swebench(layout, tmp_path / "export").paths
    assert jsonl.read_text() == ""
    assert pq.read_table(parquet).num_rows == 0
    assert pq.read_schema(parquet).names == list(SWEBENCH_INSTANCE_FIELDS)
