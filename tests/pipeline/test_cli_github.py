"""`taskforge backfill OWNER/NAME` with bad credentials, names or limits: one line, right code.

Each case fails in the preflight, before Prefect or Docker start, and never prints the token.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.github_server import FakeGithub, Fault
from tests.fakes.sample_github import SAMPLE_TOKEN, sample_github
from tests.pipeline.test_cli import assert_one_line_error, taskforge


@pytest.fixture
def fake(sample_repo_path: Path) -> Iterator[FakeGithub]:
    server = sample_github(sample_repo_path)
    yield server
    server.stop()


def backfill(fake: FakeGithub, out: Path, *args: str, token: str | None = SAMPLE_TOKEN) -> str:
    """The run's stderr, after checking it is one error line without the token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    if token is not None:
        env["GITHUB_TOKEN"] = token
    result = taskforge(
        "backfill",
        "taskforge/tinytext",
        "--out",
        str(out),
        "--api-url",
        fake.api_url,
        *args,
        env=env,
    )
    assert SAMPLE_TOKEN not in result.stdout + result.stderr
    return f"{result.returncode} {result.stderr.strip()}"


def check(result: str, text: str, code: int) -> None:
    returncode, _, stderr = result.partition(" ")
    assert returncode == str(code), stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and text in lines[0], stderr


def test_a_rejected_token_is_one_line_about_the_token(fake: FakeGithub, tmp_path: Path) -> None:
    result = backfill(fake, tmp_path / "o", token="ghp_notTheRightOne")
    check(result, "rejected the token in $GITHUB_TOKEN (HTTP 401 Bad credentials)", 2)
    assert "ghp_notTheRightOne" not in result
    assert fake.count("/") == 1


def test_an_unknown_repository_is_named(fake: FakeGithub, tmp_path: Path) -> None:
    env = {**os.environ, "GITHUB_TOKEN": SAMPLE_TOKEN, "GITHUB_API_URL": fake.api_url}
    result = taskforge("backfill", "taskforge/missing", "--out", str(tmp_path / "o"), env=env)
    assert_one_line_error(result, f"repository taskforge/missing not found at {fake.api_url}", 2)


def test_a_rate_limit_beyond_the_cap_stops_cleanly(fake: FakeGithub, tmp_path: Path) -> None:
    fake.faults.append(Fault("primary", path="/repos", reset_in_s=3600))
    result = backfill(fake, tmp_path / "o", "--max-rate-wait", "60")
    check(result, "s is longer than --max-rate-wait 60 s; rerun the same command later", 3)


def test_no_credentials_say_where_to_put_them(fake: FakeGithub, tmp_path: Path) -> None:
    check(backfill(fake, tmp_path / "o", token=None), "mining GitHub needs credentials", 2)
    missing = tmp_path / "no-such-token"
    result = backfill(fake, tmp_path / "o", "--token-file", str(missing), token=None)
    check(result, f"cannot read --token-file {missing}", 2)
    assert fake.count("/") == 0


def test_a_list_of_which_no_pull_is_merged_is_one_line(fake: FakeGithub, tmp_path: Path) -> None:
    result = backfill(fake, tmp_path / "o", "--prs", "10,404")
    check(
        result,
        "none of the listed PRs can be mined from taskforge/tinytext: "
        "#10: closed without being merged; #404: no such PR in taskforge/tinytext",
        2,
    )
    # with --first-parent a PR merged into another branch is known not to count beforehand
    result = backfill(fake, tmp_path / "o", "--prs", "10,20", "--first-parent")
    check(result, "#20: merged into release, not main", 2)


def test_repo_option_must_agree_with_the_name(fake: FakeGithub, tmp_path: Path) -> None:
    result = backfill(fake, tmp_path / "o", "--repo", "other/name")
    check(result, "SOURCE taskforge/tinytext names the GitHub repository", 2)
