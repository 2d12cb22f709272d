"""Answers of the wrong shape from the fake GitHub: one line naming the request and the field.

One bad node costs one PR (its GitHub links; it falls back to closing keywords) or one issue,
never the run; only an answer without its top-level field is an error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from extractors.github_answers import GithubAnswerError
from extractors.github_api import GithubClient
from extractors.linked_issues import IssueRef, fetch_issues, linked_issues
from pipeline.core.errors import TerminalError
from tests.extractors.conftest import WIDGETS
from tests.fakes.github_server import FakeGithub, FakeIssue

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def widgets_with_links(widgets: FakeGithub) -> None:
    for number in (1, 2):
        widgets.add_placeholder_pull(number, T0 + timedelta(hours=number))
    widgets.add_issue(FakeIssue(WIDGETS, 11, "Linked", "By GitHub."), closed_by=(1, 2))
    widgets.add_issue(FakeIssue(WIDGETS, 12, "Keyword", "By a closing keyword."))


def drop(path: str) -> Any:
    """An edit deleting ``path`` (dotted; list indices as numbers) from the GraphQL answers
    that hold it."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.get(part)
            if node is None:
                return
        node.pop(last, None)

    return edit


def test_a_pull_node_missing_its_links_falls_back_to_closing_keywords(
    widgets: FakeGithub, widgets_client: GithubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets_with_links(widgets)
    widgets.graphql_edits.append(drop("repository.pr1.closingIssuesReferences"))
    texts = {1: "Fixes #12", 2: "Fixes #12"}
    found = linked_issues(widgets_client.graphql, WIDGETS, texts)
    assert [i.number for i in found[1]] == [12]  # its keywords, read instead
    assert [i.number for i in found[2]] == [11]  # GitHub's link: the other PR is untouched
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "taskforge: GitHub answered GraphQL request 'closingIssues(acme/widgets, 2 PRs)' "
        "without field repository.pullRequest(number: 1).closingIssuesReferences; "
        "PR #1 falls back to its closing keywords"
    ]


def test_a_linked_issue_of_the_wrong_type_costs_that_pull_its_links(
    widgets: FakeGithub, widgets_client: GithubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets_with_links(widgets)

    def wrong_number(data: dict[str, Any]) -> None:
        if "repository" in data:
            data["repository"]["pr2"]["closingIssuesReferences"]["nodes"][0]["number"] = "x"

    widgets.graphql_edits.append(wrong_number)
    found = linked_issues(widgets_client.graphql, WIDGETS, {1: "", 2: "closes #12"})
    assert [i.number for i in found[1]] == [11] and [i.number for i in found[2]] == [12]
    err = capsys.readouterr().err
    assert "field repository.pullRequest(number: 2).closingIssuesReferences.nodes.0.number" in err
    assert "with a str (input should be a valid integer" in err and "Traceback" not in err


def test_an_issue_node_missing_a_field_is_skipped_with_one_line(
    widgets: FakeGithub, widgets_client: GithubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets_with_links(widgets)
    widgets.graphql_edits.append(drop("i0.issueOrPullRequest.comments.nodes"))
    refs = [IssueRef(repo=WIDGETS, number=12), IssueRef(repo=WIDGETS, number=11)]
    found = fetch_issues(widgets_client.graphql, refs)
    assert list(found) == [refs[1]]
    assert capsys.readouterr().err.strip() == (
        "taskforge: GitHub answered GraphQL request 'issues(2 issues)' without field "
        "repository(acme/widgets).issueOrPullRequest(number: 12).comments.nodes; "
        "issue acme/widgets#12 skipped"
    )


def test_an_answer_without_its_repository_is_one_terminal_error(
    widgets: FakeGithub, widgets_client: GithubClient
) -> None:
    widgets_with_links(widgets)
    widgets.graphql_edits.append(drop("repository"))
    with pytest.raises(GithubAnswerError) as raised:
        linked_issues(widgets_client.graphql, WIDGETS, {1: "", 2: ""})
    assert isinstance(raised.value, TerminalError)
    assert str(raised.value) == (
        "GitHub answered GraphQL request 'closingIssues(acme/widgets, 2 PRs)' without field "
        "repository"
    )


def test_a_listed_pull_missing_a_field_is_left_out_and_a_fetched_one_is_named(
    widgets: FakeGithub, widgets_client: GithubClient, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in (1, 2, 3):
        widgets.add_placeholder_pull(number, T0 + timedelta(hours=number))
    del widgets.pulls[2]["head"]
    numbers = [p.number for p in widgets_client.merged_pulls("main", None, None)]
    assert numbers == [3, 1]
    assert (
        "taskforge: GitHub answered REST request 'pull requests of acme/widgets' without "
        "field head.sha; PR #2 left out"
    ) in capsys.readouterr().err
    with pytest.raises(GithubAnswerError, match=r"'pull request #2 of acme/widgets' without"):
        widgets_client.pull(2)
