"""The fake GitHub of the sample repository: its nine merged PRs, with issues linked three ways.

Heads and merge commits are read from the sample's git history by subject (independently of
the extractor under test). The issues exercise every linking path:

- GitHub's own links (``closingIssuesReferences``): #1 -> #11, #3 -> #18, #4 -> #19,
  #5 -> #13, #6 -> #14 and #15 (several issues);
- closing keywords only: #2 "Closes #12" (and "fixes #1", a PR, and "fixes #99", no such
  issue, both skipped), #7 a full issue URL, #8 ``owner/name#17``;
- none: #9 (kept only with ``--allow-no-issue``).

Beside them the API lists #10 (closed, not merged) and #20 (merged into another branch).
PR #4's head is a commit GitHub has but the clone lacks, as when a branch is deleted.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import git

from pipeline.demo.sample_repo import SAMPLE_REPO_NAME
from tests.fakes.github_server import FAKE_TOKEN, FakeGithub, FakeIssue

SAMPLE_TOKEN = FAKE_TOKEN
BEFORE_WORK = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)  # before every PR's first commit
AFTER_MERGE = datetime(2024, 3, 2, 12, 0, tzinfo=UTC)  # after every merge
MISSING_SHA = "0123456789abcdef0123456789abcdef01234567"

TITLES = {
    1: "word_count miscounts text with several spaces",
    2: "Add title_case helper",
    3: "Document usage",
    4: "Export the public helpers",
    5: "Short-circuit truncate",
    6: "Drop punctuation from slugs",
    7: "Test truncation to zero",
    8: "Optional ellipsis in truncate",
    9: "Strip surrounding whitespace in slugify",
}
BODIES = {
    1: '`word_count("a   b")` returns 4 instead of 2. Fixes #11.',
    2: "A helper that capitalises every word.\n\nCloses #12; fixes #1 and fixes #99.",
    7: "Fixes https://github.com/taskforge/tinytext/issues/16",
    8: "Resolves taskforge/tinytext#17",
}
ISSUES = [
    FakeIssue(
        SAMPLE_REPO_NAME,
        11,
        "word_count counts empty strings",
        'word_count("a   b") gives 4.',
        [(BEFORE_WORK, "Probably split() without an argument."), (AFTER_MERGE, "Fixed in #1.")],
    ),
    FakeIssue(
        SAMPLE_REPO_NAME,
        12,
        "A title_case helper",
        "Capitalise every word.",
        [(BEFORE_WORK, "Like str.title, but keep apostrophes.")],
    ),
    FakeIssue(SAMPLE_REPO_NAME, 13, "truncate copies short text", "Return it unchanged."),
    FakeIssue(SAMPLE_REPO_NAME, 14, "Slugs keep punctuation", "Commas end up in URLs."),
    FakeIssue(SAMPLE_REPO_NAME, 15, "Slug separator", "Use underscores."),
    FakeIssue(SAMPLE_REPO_NAME, 16, "truncate(text, 0)", "Untested."),
    FakeIssue(SAMPLE_REPO_NAME, 17, "An ellipsis option for truncate", "Show that text was cut."),
    FakeIssue(SAMPLE_REPO_NAME, 18, "Usage docs", "Document the helpers."),
    FakeIssue(SAMPLE_REPO_NAME, 19, "Export helpers", "Add __all__."),
]
CLOSED_BY = {11: (1,), 18: (3,), 19: (4,), 13: (5,), 14: (6,), 15: (6,)}
ISSUE_OF_PULL = {1: [11], 2: [12], 3: [18], 4: [19], 5: [13], 6: [14, 15], 7: [16], 8: [17]}


def sample_pull_commits(repo: git.Repo) -> dict[int, tuple[str, str]]:
    """PR number -> (head sha, merge commit sha) as GitHub would report them."""
    mainline = list(repo.iter_commits("main", first_parent=True))

    def by_subject(test: str) -> git.Commit:
        return next(c for c in mainline if str(c.summary).startswith(test))

    def ref(number: int) -> str:
        return str(repo.git.rev_parse(f"refs/pull/{number}/head"))

    found: dict[int, tuple[str, str]] = {}
    for number in (1, 3, 5, 7):
        merge = by_subject(f"Merge pull request #{number} ")
        found[number] = (merge.parents[1].hexsha, merge.hexsha)
    found[2] = (ref(2), by_subject("Add title_case helper (#2)").hexsha)
    found[4] = (MISSING_SHA, by_subject("Export the public helpers (#4)").hexsha)
    found[6] = (ref(6), by_subject("Drop punctuation from slugs (#6)").hexsha)
    found[8] = (ref(8), by_subject("Optional ellipsis in truncate").hexsha)
    found[9] = (ref(9), by_subject("Merge branch 'strip-slug'").hexsha)
    return found


def sample_github(repo_path: Path, prefix: str = "") -> FakeGithub:
    """A started fake whose repository clones from ``repo_path``; stop it when done."""
    repo = git.Repo(repo_path)
    fake = FakeGithub(SAMPLE_REPO_NAME, repo_path.as_uri(), SAMPLE_TOKEN, prefix=prefix).start()
    for number, (head, merge_sha) in sample_pull_commits(repo).items():
        merge = repo.commit(merge_sha)
        merged_at = merge.committed_datetime.astimezone(UTC)
        fake.add_pull(
            number,
            title=TITLES[number],
            body=BODIES.get(number),
            head_sha=head,
            base_sha=merge.parents[0].hexsha,
            merge_commit_sha=merge_sha,
            created_at=merged_at - timedelta(seconds=30),
            merged_at=merged_at,
            labels=("bug",) if number % 2 else (),
        )
    tip = repo.commit("main")
    moment = tip.committed_datetime.astimezone(UTC)
    closed: list[tuple[int, str, datetime | None, str]] = [
        (10, "Abandoned", None, "main"),
        (20, "Backport", moment, "release"),
    ]
    for number, title, merged, base_ref in closed:
        fake.add_pull(
            number,
            title=title,
            body=None,
            head_sha=tip.hexsha,
            base_sha=tip.hexsha,
            # #20's merge commit lies on its release branch, which never reached main
            merge_commit_sha=(MISSING_SHA if base_ref != "main" else tip.hexsha)
            if merged
            else None,
            created_at=moment,
            merged_at=merged,
            base_ref=base_ref,
        )
    for issue in ISSUES:
        fake.add_issue(issue, closed_by=CLOSED_BY.get(issue.number, ()))
    return fake
