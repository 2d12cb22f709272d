"""``taskforge stats | show | export | compact`` through the real command line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.core.records import Outcome
from pipeline.dataset.card import finalize
from pipeline.dataset.shards import METADATA_KEY, DatasetLayout, write_tasks
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error, taskforge

WIDE = {"COLUMNS": "200"}


@pytest.fixture
def layout(tmp_path: Path) -> DatasetLayout[Path]:
    written = DatasetLayout(tmp_path / "out", tmp_path / "work")
    written.prepare()
    write_tasks(written, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    write_tasks(written, [make_task(3), make_task(4, Outcome.DOCS_ONLY)])
    finalize(written)
    return written


def on(layout: DatasetLayout[Path], command: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``taskforge COMMAND OUT ARGS`` with the dataset's work folder."""
    return taskforge(command, str(layout.root), *args, "--work-dir", str(layout.work), env=WIDE)


def test_stats(layout: DatasetLayout[Path]) -> None:
    result = on(layout, "stats")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"{layout.root}: 1 repository, 3 verified, 1 rejected" in result.stdout
    assert "docs_only (the pull request changes documentation or changelogs only)" in (
        result.stdout
    )


@pytest.mark.parametrize("command", [("stats",), ("show", "o__n-3")], ids=["stats", "show"])
def test_a_shard_that_cannot_be_read_is_an_error_naming_it(
    layout: DatasetLayout[Path], command: tuple[str, ...]
) -> None:
    corrupt = layout.verified_dir / "train-20000102T000000000000-cut.parquet"
    corrupt.write_bytes(b"PAR1")
    result = on(layout, command[0], *command[1:])
    assert_one_line_error(result, f"{corrupt}: not a readable Parquet file", 5)  # terminal
    assert "verified" not in result.stdout
    corrupt.unlink()
    other = layout.verified_dir / "train-20000101T000000000000-old.parquet"
    good = layout.shards()[0]
    pq.write_table(pq.read_table(good).replace_schema_metadata({METADATA_KEY: b"9"}), other)
    assert_one_line_error(on(layout, command[0], *command[1:]), f"{other}: schema version 9", 5)


@pytest.mark.parametrize("command", [("stats",), ("show", "o__n-3")], ids=["stats", "show"])
def test_a_shard_that_fails_its_sha256_is_an_error_naming_it(
    layout: DatasetLayout[Path], command: tuple[str, ...]
) -> None:
    shard = layout.shards()[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum tells
    shard.write_bytes(bytes(data))
    result = on(layout, command[0], *command[1:])
    assert_one_line_error(result, f"{shard}: does not match its sha256", 5)


def test_stats_warns_where_the_figures_stay_right(layout: DatasetLayout[Path]) -> None:
    listed = layout.shards()[-1]
    layout.manifest_path.unlink()  # the work folder is there, its manifest is not
    result = on(layout, "stats")
    assert result.returncode == 0, result.stderr
    assert "3 verified, 1 rejected" in result.stdout
    (warning,) = result.stderr.splitlines()
    assert warning.startswith("warning: ") and f"{layout.manifest_path} is missing" in warning
    finalize(layout)
    listed.unlink()  # its rows are gone, the others are what was written
    result = on(layout, "show", "o__n-1")
    assert result.returncode == 0, result.stderr
    (warning,) = result.stderr.splitlines()
    assert f"lists {layout.relative(listed)}, which does not exist" in warning


def test_stats_of_a_copy_without_its_work_folder_warns_about_nothing(
    layout: DatasetLayout[Path], tmp_path: Path
) -> None:
    copy = tmp_path / "elsewhere" / "out"
    shutil.copytree(layout.root, copy)
    other_machine = {**WIDE, "TASKFORGE_CACHE": str(tmp_path / "elsewhere" / "cache")}
    result = taskforge("stats", str(copy), env=other_machine)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert f"{copy}: 1 repository, 3 verified, 1 rejected" in result.stdout
    assert not (tmp_path / "elsewhere" / "cache").exists()  # a reader creates nothing


def test_stats_of_a_folder_that_is_not_a_dataset(tmp_path: Path) -> None:
    assert_one_line_error(taskforge("stats", str(tmp_path)), "is not a taskforge dataset", 2)


def test_show(layout: DatasetLayout[Path]) -> None:
    result = on(layout, "show", "o__n-3")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "o__n-3 verified" in result.stdout
    assert "Details with [markup]" in result.stdout
    assert "diff --git a/x.py b/x.py\u240d" in result.stdout
    assert "tests/test_x.py::TestX::test_y[a b]" in result.stdout
    coloured = taskforge("show", str(layout.root), "o__n-3", env={**WIDE, "FORCE_COLOR": "1"})
    assert "\x1b[" in coloured.stdout


def test_show_an_unknown_task(layout: DatasetLayout[Path]) -> None:
    result = on(layout, "show", "o__n-33")
    assert_one_line_error(result, "no task o__n-33", 2)
    assert "did you mean o__n-3" in result.stderr


def test_export(layout: DatasetLayout[Path], tmp_path: Path) -> None:
    target = tmp_path / "swebench"
    result = on(layout, "export", "--format", "swebench", "--to", str(target))
    assert result.returncode == 0, result.stderr
    assert f"wrote {target / 'test.jsonl'}" in result.stdout
    assert "3 instances exported" in result.stdout
    lines = (target / "test.jsonl").read_text().splitlines()
    assert [json.loads(line)["instance_id"] for line in lines] == ["o__n-1", "o__n-2", "o__n-3"]
    assert pq.read_table(target / "test.parquet").num_rows == 3


def test_export_errors(layout: DatasetLayout[Path], tmp_path: Path) -> None:
    result = on(layout, "export", "--format", "csv", "--to", str(tmp_path))
    assert_one_line_error(result, "--format takes one of: swebench; got 'csv'", 2)
    corrupt = layout.verified_dir / "train-20000101T000000000000-cut.parquet"
    corrupt.write_bytes(b"PAR1")
    result = on(layout, "export", "--to", str(tmp_path / "x"))
    assert_one_line_error(result, f"{corrupt}: not a readable Parquet file", 5)  # terminal


def test_compact(layout: DatasetLayout[Path]) -> None:
    result = on(layout, "compact")
    assert result.returncode == 0, result.stderr
    assert "compacted 5 rows in 4 shards into 4 rows in 2 shards" in result.stdout
    again = on(layout, "compact")
    assert "already compact: 4 rows in 2 shards" in again.stdout
    assert len(layout.shards()) == 2
    assert on(layout, "stats").stderr == ""  # the manifest in the work folder agrees


def test_compact_moves_the_previous_layout_out_of_the_dataset_folder(
    layout: DatasetLayout[Path],
) -> None:
    layout.manifest_path.rename(layout.root / "manifest.json")  # as the previous layout kept it
    (layout.root / "logs").mkdir()
    (layout.root / "logs" / "build-x.log").write_text("built\n")
    (layout.root / ".taskforge.lock").touch()
    result = on(layout, "compact")
    assert result.returncode == 0, result.stderr
    (moved,) = result.stderr.splitlines()
    assert moved.startswith(f"moved manifest.json, logs of the previous layout from {layout.root}")
    assert sorted(p.name for p in layout.root.iterdir()) == ["README.md", "data", "rejected"]
    assert (layout.logs_dir / "build-x.log").read_text() == "built\n"
    assert on(layout, "stats").stderr == ""
