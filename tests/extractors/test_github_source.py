"""GitHub's PRs mapped onto git history, and their candidates with GitHub's problem statements."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import git
import pytest

from extractors.candidates import SizeLimits
from extractors.git_history import find_merged_pulls
from extractors.github_api import GithubClient
from extractors.github_source import github_candidates, github_pulls
from pipeline.core.records import MergeKind, Outcome, ProblemSource, SourceKind
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, History
from tests.extractors.test_release_branches import release_history
from tests.fakes.github_server import FAKE_TOKEN, FakeGithub, FakeIssue, quick_access
from tests.fakes.sample_github import BEFORE_WORK, ISSUE_OF_PULL, SAMPLE_TOKEN, sample_github


@pytest.fixture
def fake(sample_repo_path: Path) -> Iterator[FakeGithub]:
    server = sample_github(sample_repo_path)
    yield server
    server.stop()


@pytest.fixture
def client(fake: FakeGithub, token_file: Path) -> Iterator[GithubClient]:
    with GithubClient(quick_access(fake, token_file), fake.repo) as made:
        yield made


def test_api_pulls_land_where_the_history_says(sample_repo: git.Repo, client: GithubClient) -> None:
    pulls = {p.number: p for p in github_pulls(sample_repo, client, "main", [], None, None).pulls}
    history = {p.number: p for p in find_merged_pulls(sample_repo, "main")}
    assert sorted(pulls) == sorted(DESIGNED_OUTCOMES)  # not #10 (unmerged) nor #20 (release)
    for number, pull in pulls.items():
        found = history[number]
        assert (pull.base_commit, pull.head_commit, pull.fix_commit, pull.kind) == (
            found.base_commit,
            found.head_commit,
            found.fix_commit,
            found.kind,
        ), number
    assert pulls[8].kind is MergeKind.REBASE and pulls[9].kind is MergeKind.LOCAL_MERGE
    assert pulls[4].head_commit == pulls[4].fix_commit  # its API head is not in the clone
    assert pulls[1].first_commit_at == sample_repo.commit(pulls[1].head_commit).authored_datetime


def test_listed_pulls_not_merged_into_the_branch_are_named_not_fatal(
    sample_repo: git.Repo, client: GithubClient, fake: FakeGithub
) -> None:
    listed = github_pulls(sample_repo, client, "main", [8, 2], None, None)
    assert [p.number for p in listed.pulls] == [8, 2] and listed.not_found == {}
    fake.pulls[5]["merge_commit_sha"] = "f" * 40  # merged, but not in the clone
    mixed = github_pulls(sample_repo, client, "main", [2, 10, 20, 404, 5], None, None)
    assert [p.number for p in mixed.pulls] == [2]
    assert mixed.not_found == {
        10: "closed without being merged",
        20: "merged into release, which has not reached main",
        404: "no such PR in taskforge/tinytext",
        5: "its commits are not in the clone of taskforge/tinytext",
    }


def test_candidates_carry_issues_hints_and_provenance(
    sample_repo: git.Repo, client: GithubClient, fake: FakeGithub
) -> None:
    pulls = github_pulls(sample_repo, client, "main", [], None, None).pulls
    before = len(fake.requests)
    tasks = {
        t.pull_number: t for t in github_candidates(sample_repo, client, pulls, SizeLimits(), True)
    }
    assert len(fake.requests) - before == 2  # GitHub's links, then the keyword issues
    first = tasks[1]
    assert first.problem_statement == (
        'word_count counts empty strings\nword_count("a   b") gives 4.\n'
    )
    assert first.hints_text == "Probably split() without an argument."  # not "Fixed in #1."
    assert first.problem_source is ProblemSource.LINKED_ISSUES
    assert first.source_kind is SourceKind.GITHUB_API
    assert first.pr_url == f"{fake.web_url}/{SAMPLE_REPO_NAME}/pull/1"
    assert tasks[6].problem_statement.startswith("Slugs keep punctuation\n")
    assert "Slug separator\nUse underscores.\n" in tasks[6].problem_statement
    for number, issues in ISSUE_OF_PULL.items():
        assert tasks[number].referenced_issues == issues, number
    assert tasks[2].hints_text == "Like str.title, but keep apostrophes."
    no_issue = tasks[9]
    assert no_issue.problem_source is ProblemSource.PR_DESCRIPTION
    assert no_issue.problem_statement == "Strip surrounding whitespace in slugify"
    rejected = {n: t.outcome for n, t in tasks.items() if t.outcome is not None}
    assert rejected == {n: o for n, o in DESIGNED_OUTCOMES.items() if o in _EXTRACTOR_OUTCOMES}


_EXTRACTOR_OUTCOMES = {Outcome.DOCS_ONLY, Outcome.NO_TEST_CHANGE, Outcome.NO_SOURCE_CHANGE}


def test_pulls_without_an_issue_are_left_out_unless_allowed(
    sample_repo: git.Repo, client: GithubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    pulls = github_pulls(sample_repo, client, "main", [], None, None).pulls
    tasks = github_candidates(sample_repo, client, pulls, SizeLimits(), allow_no_issue=False)
    assert sorted(t.pull_number for t in tasks) == sorted(ISSUE_OF_PULL)
    assert "1 merged PRs of taskforge/tinytext link no issue" in capsys.readouterr().err


def test_keywords_in_commit_messages_link_issues(tmp_path: Path, token_file: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.commit("Initial", {"pkg/core.py": "x = 1\n", "tests/test_core.py": "\n"})
    history.branch("feature")
    head = history.commit(
        "Handle zero\n\nFix #5", {"pkg/core.py": "x = 0\n", "tests/test_core.py": "# 0\n"}
    )
    history.checkout("main")
    history.merge("feature", "Merge pull request #6 from dev/feature\n\nHandle zero")
    merge = repo.commit("main")
    server = FakeGithub("acme/r", (tmp_path / "r").as_uri(), SAMPLE_TOKEN).start()
    try:
        moment = merge.committed_datetime.astimezone(UTC)
        server.add_pull(
            6,
            title="Handle zero",
            body="No keyword here.",
            head_sha=head,
            base_sha=merge.parents[0].hexsha,
            merge_commit_sha=merge.hexsha,
            created_at=moment - timedelta(minutes=1),
            merged_at=moment,
        )
        server.add_issue(
            FakeIssue("acme/r", 5, "Zero breaks", "x must be 0.", [(BEFORE_WORK, "hm")])
        )
        with GithubClient(quick_access(server, token_file), "acme/r") as c:
            pulls = github_pulls(repo, c, "main", [], None, None).pulls
            (task,) = github_candidates(repo, c, pulls, SizeLimits(), allow_no_issue=False)
    finally:
        server.stop()
    assert task.problem_statement == "Zero breaks\nx must be 0.\n"
    assert task.referenced_issues == [5] and task.hints_text == "hm"


def test_a_pull_whose_commits_the_clone_lacks_is_reported_and_skipped(
    sample_repo: git.Repo,
    client: GithubClient,
    fake: FakeGithub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.pulls[2]["merge_commit_sha"] = "f" * 40
    numbers = [p.number for p in github_pulls(sample_repo, client, "main", [], None, None).pulls]
    assert 2 not in numbers and len(numbers) == len(DESIGNED_OUTCOMES) - 1
    assert "PR #2: its commits are not in the clone of taskforge/tinytext; skipped" in (
        capsys.readouterr().err
    )


def test_a_pull_merged_into_a_release_branch_that_reached_main_is_mined(
    tmp_path: Path, token_file: Path
) -> None:
    repo, shas = release_history(tmp_path / "r")
    merge = repo.commit(shas["merge-11"])
    server = FakeGithub("acme/rel", Path(repo.git_dir).as_uri(), FAKE_TOKEN).start()
    try:
        server.add_pull(
            11,
            title="Fix a",
            body=None,
            head_sha=shas["head-11"],
            base_sha=merge.parents[0].hexsha,
            merge_commit_sha=merge.hexsha,
            created_at=merge.committed_datetime - timedelta(minutes=1),
            merged_at=merge.committed_datetime.astimezone(UTC),
            base_ref="2.0.x",
        )
        with GithubClient(quick_access(server, token_file), "acme/rel") as client:
            found = github_pulls(repo, client, "main", [], None, None).pulls
            listed = github_pulls(repo, client, "main", [11], None, None)
            first_parent = github_pulls(repo, client, "main", [], None, None, first_parent=True)
    finally:
        server.stop()
    assert [(p.number, p.fix_commit, p.head_commit) for p in found] == [
        (11, merge.hexsha, shas["head-11"])
    ]
    assert found[0].base_commit == repo.git.merge_base(merge.parents[0].hexsha, shas["head-11"])
    assert [p.number for p in listed.pulls] == [11] and not listed.not_found
    assert first_parent.pulls == []
