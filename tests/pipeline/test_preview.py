"""`taskforge mine`: the dry run, through the real CLI process, on local and GitHub sources.

No Docker and no Prefect: every merged PR of the sample is listed with its merge kind, commits
and the extractor's verdict; files come out in the format their suffix names.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from extractors.git_history import find_merged_pulls
from pipeline.core.records import Outcome
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES
from tests.fakes.github_server import FakeGithub
from tests.fakes.sample_github import SAMPLE_TOKEN, sample_github
from tests.pipeline.test_cli import assert_one_line_error, taskforge

EXTRACTOR_OUTCOMES = {Outcome.DOCS_ONLY, Outcome.NO_TEST_CHANGE, Outcome.NO_SOURCE_CHANGE}


def expected_outcomes() -> dict[int, str]:
    """What the extractor decides for each designed PR: its drop reason, or ``candidate``."""
    return {
        n: o.value if o in EXTRACTOR_OUTCOMES else "candidate" for n, o in DESIGNED_OUTCOMES.items()
    }


def test_mine_lists_every_merged_pull_with_its_verdict(sample_repo_path: Path) -> None:
    import git

    result = taskforge("mine", str(sample_repo_path), "--repo", "o/n")
    assert result.returncode == 0, result.stderr
    header, *lines = result.stdout.strip().splitlines()
    assert header.split("\t") == [
        "number", "merge_kind", "base", "fix", "head", "merged_at", "outcome", "reason"
    ]  # fmt: skip
    rows = {int(line.split("\t")[0]): line.split("\t") for line in lines}
    assert {n: row[6] for n, row in rows.items()} == expected_outcomes()
    history = {p.number: p for p in find_merged_pulls(git.Repo(sample_repo_path), "main")}
    for number, row in rows.items():
        pull = history[number]
        assert row[1:5] == [
            pull.kind.value, pull.base_commit[:12], pull.fix_commit[:12], pull.head_commit[:12]
        ]  # fmt: skip
    assert rows[3][7] == "only documentation, changelog or CI files change"
    summary = result.stderr.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith("o/n: 9 merged PRs found in ")
    assert "(merge_commit 4, squash 3, rebase 1, local_merge 1); candidate 6," in summary[0]
    assert "docs_only 1" in summary[0] and "no_test_change 1" in summary[0]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_mine_writes_the_format_its_suffix_names(
    sample_repo_path: Path, tmp_path: Path, suffix: str
) -> None:
    target = tmp_path / "nested" / f"prs{suffix}"
    result = taskforge(
        "mine", str(sample_repo_path), "--repo", "o/n", "--out", str(target), "--since",
        "2024-03-01T09:06:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # the rows are in the file
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in target.read_text().splitlines()]
    elif suffix == ".csv":
        with target.open() as opened:
            rows = list(csv.DictReader(opened))
    else:
        frame = pl.read_parquet(target)
        assert frame.schema["merged_at"] == pl.Datetime("us", "UTC")
        rows = frame.to_dicts()
    found = {int(row["number"]): row["outcome"] for row in rows}
    assert found == {n: o for n, o in expected_outcomes().items() if n >= 3}  # since #3
    assert f"written to {target}" in result.stderr
    assert not list(tmp_path.rglob(".*.tmp"))


def test_mine_names_listed_pulls_not_found_and_exits_4(sample_repo_path: Path) -> None:
    result = taskforge("mine", str(sample_repo_path), "--repo", "o/n", "--prs", "3,99")
    assert result.returncode == 4, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()[1:]] == ["3"]
    assert "  #99: not found, no merge of #99 in the history of main" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("partial: 1 listed PRs not found")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--out", "prs.txt"], "the file's suffix says the format, one of .jsonl, .csv"),
        (["--prs", "98,99"], "none of the listed PRs can be mined"),
        (["--since", "soon"], "--since takes an ISO date"),
        (["--branch", "no-such-branch"], "cannot read branch 'no-such-branch'"),
    ],
)
def test_mine_bad_input_is_one_line(sample_repo_path: Path, args: list[str], text: str) -> None:
    assert_one_line_error(taskforge("mine", str(sample_repo_path), "--repo", "o/n", *args), text, 2)


@pytest.fixture
def fake(sample_repo_path: Path) -> Iterator[FakeGithub]:
    server = sample_github(sample_repo_path)
    yield server
    server.stop()


def test_mine_a_github_repository_selects_as_backfill_does(
    fake: FakeGithub, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env |= {"GITHUB_TOKEN": SAMPLE_TOKEN, "GITHUB_API_URL": fake.api_url}
    result = taskforge(
        "mine", "taskforge/tinytext", "--prs", "1,3,10", "--out", str(tmp_path / "p.jsonl"),
        env=env,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [(r["number"], r["outcome"]) for r in rows] == [(1, "candidate"), (3, "docs_only")]
    assert "#10: not found, closed without being merged" in result.stderr
    assert fake.count("/graphql") == 0  # a preview looks up no linked issues
    assert SAMPLE_TOKEN not in result.stdout + result.stderr
