"""Run the real ``taskforge`` command in a subprocess, as a user would, from tests; read what it
wrote, from a folder or a URL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

from pipeline.dataset.location import dataset_location
from pipeline.dataset.storage import DatasetLayout, DatasetTable

TASKFORGE = [sys.executable, "-c", "from pipeline.cli.main import main; main()"]


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "COLUMNS": "150", **(extra or {})}


def run(
    *args: str, cwd: Path | None = None, timeout: float = 900, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TASKFORGE, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        check=False,
        env=environment(env),
    )


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """A backfill in its own process group, so that a test can kill it whole."""
    return subprocess.Popen(
        [*TASKFORGE, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=environment(env),
    )


def parquet_frame(out: Path | str, table: str) -> pl.DataFrame | None:
    """The rows of one table's shards (``data`` or ``rejected``) of the dataset at ``out``, a
    folder or a URL (read by polars from the storage, credentials from the environment); None
    when the table has no shard."""
    if isinstance(out, Path):
        if not list((out / table).glob("*.parquet")):
            return None
        return pl.read_parquet(out / table / "*.parquet")
    layout = DatasetLayout.of(dataset_location(out))
    if not layout.shards(DatasetTable.TRAIN if table == "data" else DatasetTable.REJECTED):
        return None
    return pl.read_parquet(f"{out}/{table}/*.parquet")


def outcomes(out: Path | str) -> dict[int, str]:
    """Pull number -> outcome over the verified and the rejected table."""
    found: dict[int, str] = {}
    for table in ("data", "rejected"):
        frame = parquet_frame(out, table)
        if frame is not None:
            found.update(zip(frame["pull_number"], frame["outcome"], strict=True))
    return found


def verified_lists(out: Path | str, column: str) -> dict[int, list[str]]:
    """Pull number -> a test list (``FAIL_TO_PASS`` or ``PASS_TO_PASS``) of the verified table."""
    verified = parquet_frame(out, "data")
    assert verified is not None, f"{out} has no verified task"
    return dict(zip(verified["pull_number"], verified[column].to_list(), strict=True))
