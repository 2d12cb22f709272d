"""Run the real ``taskforge`` command in a subprocess, as a user would, from tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl

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


def outcomes(out: Path) -> dict[int, str]:
    """Pull number -> outcome over the verified and the rejected table."""
    found: dict[int, str] = {}
    for table in ("data", "rejected"):
        if list((out / table).glob("*.parquet")):
            frame = pl.read_parquet(out / table / "*.parquet")
            found.update(zip(frame["pull_number"], frame["outcome"], strict=True))
    return found


def verified_lists(out: Path, column: str) -> dict[int, list[str]]:
    """Pull number -> a test list (``FAIL_TO_PASS`` or ``PASS_TO_PASS``) of the verified table."""
    verified = pl.read_parquet(out / "data" / "*.parquet")
    return dict(zip(verified["pull_number"], verified[column].to_list(), strict=True))
