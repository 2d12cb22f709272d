"""A backfill of a damaged repository (a blob deleted) goes on: only the PRs that need the
blob are rejected, as ``missing_object`` with git's line; every other PR ends as designed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from dockerfiles.environment import Environment
from pipeline.core.records import Outcome
from pipeline.demo.sample_repo import (
    CORE_V0,
    DESIGNED_OUTCOMES,
    SAMPLE_REPO_NAME,
    write_sample_repo,
)
from tests import taskforge_cli
from tests.extractors.test_missing_objects import blob_id

pytestmark = pytest.mark.docker


def test_a_missing_blob_costs_only_the_pulls_that_need_it(
    sample_env: Environment, tmp_path: Path, prefect_api: str
) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    blob = blob_id(CORE_V0)
    (source / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    out = tmp_path / "out"
    run = taskforge_cli.run("backfill", str(source), "--repo", SAMPLE_REPO_NAME, "--out", str(out))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    outcomes = taskforge_cli.outcomes(out)
    assert set(outcomes) == set(DESIGNED_OUTCOMES)
    missing = {n for n, o in outcomes.items() if o == Outcome.MISSING_OBJECT.value}
    assert missing and missing != set(outcomes)
    for number, outcome in outcomes.items():
        assert number in missing or outcome == DESIGNED_OUTCOMES[number].value, number
    rejected = pl.read_parquet(out / "rejected" / "*.parquet")
    details = rejected.filter(pl.col("outcome") == "missing_object")["outcome_detail"]
    assert all(blob in d and "tinytext/core.py" in d for d in details.to_list()), details
