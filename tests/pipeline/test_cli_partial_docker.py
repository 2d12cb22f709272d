"""`backfill --prs` naming a PR that is not in the history: the others run, exit code 4.

Docker must answer (the preflight checks it), but no container runs: the found PR is one the
extractor drops (#3, documentation only), so the run writes it and names #99 and #20.
"""

from __future__ import annotations

import re
from pathlib import Path

import docker
import git
import pytest

from tests.pipeline.test_cli import taskforge
from tests.taskforge_cli import outcomes

pytestmark = pytest.mark.docker


def test_listed_pulls_not_found_are_named_and_the_rest_runs(
    engine: docker.DockerClient, sample_repo_path: Path, tmp_path: Path, prefect_api: str
) -> None:
    clone = tmp_path / "clone"
    git.Repo.clone_from(sample_repo_path, clone)
    repo = git.Repo(clone)
    repo.git.fetch("origin", "+refs/pull/*/head:refs/pull/*/head")
    repo.git.update_ref("refs/pull/20/head", repo.commit("main").parents[0].hexsha)
    out = tmp_path / "out"
    result = taskforge(
        "backfill",
        str(clone),
        "--repo",
        "o/n",
        "--prs",
        "3,99,20",
        "--out",
        str(out),
        env={"COLUMNS": "150"},
    )
    assert result.returncode == 4, result.stderr
    assert outcomes(out) == {3: "docs_only"}
    assert "#20: not merged into main" in result.stdout  # it has a PR ref, but no merge
    assert "#99: no merge of #99 in the history of main" in result.stdout
    assert re.search(r"2 │ listed PRs not found \(not mined\)", result.stdout)
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        "partial: 2 listed PRs not found (#20, #99); the others were done (see the summary)"
    )
    assert "Traceback" not in result.stderr
