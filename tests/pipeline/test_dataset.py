from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.dataset import (
    METADATA_KEY,
    SCHEMA_VERSION,
    TASK_SCHEMA,
    DatasetLayout,
    finished_instance_ids,
    read_tasks,
    write_tasks,
)
from pipeline.errors import UserInputError
from pipeline.records import (
    ImageRef,
    InstallConfig,
    MergeKind,
    Outcome,
    ProblemSource,
    Task,
    TestRun,
)


def make_task(number: int, outcome: Outcome = Outcome.VERIFIED) -> Task:
    return Task(
        instance_id=f"o__n-{number}",
        repo="o/n",
        base_commit="a" * 40,
        patch="diff --git a/x.py b/x.py\r\n-old\r\n+new\r\n",  # CRLF kept as is
        test_patch="diff --git a/tests/test_x.py b/tests/test_x.py\n+caf\u00e9 \x00\n",
        problem_statement="Fix x\n\nDetails",
        created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        FAIL_TO_PASS=["tests/test_x.py::TestX::test_y[a b]"],
        PASS_TO_PASS=["tests/test_x.py::test_z", "tests/test_x.py::test_w[1-2]"],
        pull_number=number,
        fix_commit="b" * 40,
        merge_kind=MergeKind.SQUASH,
        problem_source=ProblemSource.COMMIT_MESSAGE,
        referenced_issues=[3, 4],
        test_files=["tests/test_x.py"],
        source_files=["x.py"],
        outcome=outcome,
        image=ImageRef(tag="taskforge-env/o__n:abc", id="sha256:1"),
        install_config=InstallConfig(python="3.11", base_image="b", extras=["test"]),
        runs=[TestRun(state="before", exit_code=1, duration_s=0.5, tests=3)],
    )


def test_round_trip(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path / "out")
    layout.prepare()
    tasks = [make_task(1), make_task(2, Outcome.NO_FAIL_TO_PASS)]
    shards = write_tasks(layout, tasks)
    assert [s.parent.name for s in shards] == ["data", "rejected"]
    assert sorted(read_tasks(layout), key=lambda t: t.pull_number) == tasks
    assert finished_instance_ids(layout) == {"o__n-1", "o__n-2"}


def test_schema_has_real_lists_and_version(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path)
    layout.prepare()
    (shard,) = write_tasks(layout, [make_task(1)])
    schema = pq.read_schema(shard)
    assert schema.field("FAIL_TO_PASS").type == pa.list_(pa.string())
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert schema.metadata[METADATA_KEY] == SCHEMA_VERSION.encode()
    assert schema.remove_metadata() == TASK_SCHEMA.remove_metadata()
    frame = pl.read_parquet(layout.verified_dir / "*.parquet")
    assert frame["FAIL_TO_PASS"].to_list() == [["tests/test_x.py::TestX::test_y[a b]"]]


def test_no_temporary_files_left(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path)
    layout.prepare()
    write_tasks(layout, [make_task(n) for n in range(5)])
    assert [p.name for p in layout.verified_dir.iterdir() if p.name.startswith(".")] == []


def test_newest_row_wins_on_read(tmp_path: Path) -> None:
    layout = DatasetLayout(tmp_path)
    layout.prepare()
    write_tasks(layout, [make_task(1, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(1)])
    (task,) = read_tasks(layout)
    assert task.outcome is Outcome.VERIFIED


def test_output_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(UserInputError, match="is a file"):
        DatasetLayout(target).prepare()
