"""A backfill of a generated repository per language: real toolchains, runners and reports."""

from __future__ import annotations

from pathlib import Path

import docker
import polars as pl
import pytest

from tests.pipeline.language_repos import SAMPLES, write_language_repo
from tests.taskforge_cli import run, verified_lists

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_a_backfill_verifies_the_fix_and_rejects_the_refactor(
    tmp_path: Path, prefect_api: str, name: str
) -> None:
    sample = SAMPLES[name]
    language = sample.language
    source = write_language_repo(tmp_path / "calc", sample)
    out = tmp_path / "out"
    repo = f"example/calc-{name}"
    # a run that hangs (a handle left open) is a timeout in minutes, not a test stuck for 15
    result = run("backfill", str(source), "--repo", repo, "--out", str(out), "--timeout", "300")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert verified_lists(out, "FAIL_TO_PASS") == {1: sample.fail_to_pass}
    assert verified_lists(out, "PASS_TO_PASS") == {1: sample.pass_to_pass}
    rejected = pl.read_parquet(out / "rejected" / "*.parquet")
    assert dict(zip(rejected["pull_number"], rejected["outcome"], strict=True)) == {
        2: "no_fail_to_pass"
    }
    passing = set(rejected["PASS_TO_PASS"].to_list()[0])
    assert passing >= set(sample.refactor_passing)
    verified = pl.read_parquet(out / "data" / "*.parquet")
    assert verified["language"].to_list() == [language]
    config = verified["install_config"].struct.unnest()
    toolchain = config["toolchain"].struct.unnest()
    assert toolchain["language"].to_list() == [language]
    assert config["test_runner"].to_list() == [sample.runner]
    tag = verified["image"].struct.unnest()["tag"][0]
    for path, text in sample.image_files:
        held = docker.from_env().containers.run(tag, ["cat", path], remove=True).decode()
        assert text in held, held
