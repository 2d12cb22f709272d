"""Linked issues: closing keywords, GraphQL batches on the fake GitHub, statements and hints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from extractors.github_api import GithubClient
from extractors.linked_issues import (
    BATCH,
    IssueComment,
    IssueRef,
    LinkedIssue,
    closing_references,
    hints_text,
    linked_issues,
    problem_statement,
)
from tests.extractors.conftest import WIDGETS
from tests.fakes.github_server import FakeGithub, FakeIssue

REPO = WIDGETS
T0 = datetime(2024, 5, 1, tzinfo=UTC)


def ref(number: int, repo: str = REPO) -> IssueRef:
    return IssueRef(repo=repo, number=number)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fixes #12", [ref(12)]),
        ("closes: #3, resolved #4 and Fix #5.", [ref(3), ref(4), ref(5)]),
        ("FIXED other/lib#7", [ref(7, "other/lib")]),
        ("Resolves https://github.com/acme/widgets/issues/9", [ref(9)]),
        ("fixes https://ghe.corp.example/team/app/issues/21\n", [ref(21, "team/app")]),
        ("close #1\nclosed #1", [ref(1)]),  # each issue once
        ("Fixes #8 and #9", [ref(8)]),  # GitHub needs a keyword per issue
        ("hotfixes #3, prefix #4, fixes#5, see #6", []),  # not keywords, or no space
        ("Fixes https://github.com/acme/widgets/pull/9", []),  # a PR URL is not an issue
    ],
)
def test_closing_keywords(text: str, expected: list[IssueRef]) -> None:
    assert closing_references(text, REPO) == expected


def issue(number: int, *comments: tuple[datetime, str]) -> LinkedIssue:
    return LinkedIssue(
        repo=REPO,
        number=number,
        title=f"Issue {number}",
        body=f"Body {number}",
        url=f"https://github.com/{REPO}/issues/{number}",
        comments=[IssueComment(body=b, created_at=t) for t, b in comments],
    )


def test_statement_is_titles_and_bodies_and_hints_are_earlier_comments() -> None:
    first = issue(1, (T0, "early"), (T0 + timedelta(days=3), "late"))
    second = issue(2, (T0 - timedelta(days=1), "earliest"))
    assert problem_statement([first, second]) == "Issue 1\nBody 1\nIssue 2\nBody 2\n"
    assert hints_text([first, second], before=T0 + timedelta(days=1)) == "earliest\nearly"
    assert hints_text([first], before=T0) == ""  # a comment at the first commit is not before


def add_pull(widgets: FakeGithub, number: int) -> None:
    widgets.add_placeholder_pull(number, T0)


def test_githubs_links_come_50_pulls_per_request(
    widgets: FakeGithub, widgets_client: GithubClient
) -> None:
    for number in range(1, 61):
        add_pull(widgets, number)
        widgets.add_issue(
            FakeIssue(REPO, 1000 + number, f"Bug {number}", "It breaks.", [(T0, "hint")]),
            closed_by=(number,),
        )
    widgets.add_issue(FakeIssue(REPO, 2000, "Second bug", "Also."), closed_by=(7,))
    found = linked_issues(widgets_client.graphql, REPO, {n: "" for n in range(1, 61)})
    assert widgets.count("/graphql") == 2 == -(-60 // BATCH)
    assert [i.number for i in found[7]] == [1007, 2000]
    assert found[60][0].title == "Bug 60" and found[60][0].comments[0].body == "hint"
    assert found[60][0].url.endswith(f"/{REPO}/issues/1060")


def test_keywords_are_the_fallback_and_skip_pulls_and_unknown_numbers(
    widgets: FakeGithub, widgets_client: GithubClient
) -> None:
    for number in (1, 2, 3):
        add_pull(widgets, number)
    widgets.add_issue(FakeIssue(REPO, 10, "Linked", "By GitHub."), closed_by=(1,))
    widgets.add_issue(FakeIssue(REPO, 11, "By keyword", "In the body."))
    widgets.add_issue(FakeIssue(REPO, 12, "In a commit", "Message."))
    widgets.add_issue(FakeIssue("acme/other", 5, "Elsewhere", "Another repository."))
    texts = {
        1: "Title\nFixes #11",  # GitHub's link wins: #11 is not looked up for it
        2: "Title\nCloses #11, fixes #3 (a PR), fixes #404\nfix: resolves acme/other#5",
        3: "Title\n\nRefactor\n\nFix #12\n",  # in a commit message
    }
    found = linked_issues(widgets_client.graphql, REPO, texts)
    assert [i.number for i in found[1]] == [10]
    assert [(i.repo, i.number) for i in found[2]] == [(REPO, 11), ("acme/other", 5)]
    assert [i.number for i in found[3]] == [12]
    assert widgets.count("/graphql") == 2  # GitHub's links, then every keyword issue at once


def test_a_pull_referring_to_itself_is_not_its_own_issue(
    widgets: FakeGithub, widgets_client: GithubClient
) -> None:
    add_pull(widgets, 4)
    assert linked_issues(widgets_client.graphql, REPO, {4: "Fixes #4"}) == {4: []}
    assert widgets.count("/graphql") == 1  # nothing left to look up
