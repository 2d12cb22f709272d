r"""The issues a merged pull request resolves: GitHub's own links first, closing keywords else.

GitHub links a PR to the issues it closes (``closingIssuesReferences`` in GraphQL: set from
closing keywords in the PR description, or by hand in the sidebar). Those links are read for
50 PRs per GraphQL request, through aliases (``pr12: pullRequest(number: 12)``), together with
each issue's title, body and oldest comments, so a batch of PRs costs one request.

A PR without such links falls back to the closing keywords GitHub documents (close, closes,
closed, fix, fixes, fixed, resolve, resolves, resolved, optionally followed by a colon) before
``#N``, ``owner/name#N`` or an issue URL, found in its title, description and commit
messages. Those issues are fetched in batches of 50 as well; a number that is a pull request,
or that the credentials cannot see, is skipped.

Answers are checked at the edge (``extractors.github_answers``): a PR whose node lacks a
field the query asked for keeps no GitHub links and falls back to its closing keywords, an
issue node of the wrong shape is skipped, each with one line naming the request and the field;
an answer without its ``repository`` ends the run with that line.

Invariant: every string spliced into a query is an integer or a JSON-quoted ``[\w.-]+``
name, so no text of a PR ever becomes GraphQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from extractors.github_answers import GithubAnswerError, child, mapping, parse
from extractors.github_limits import announce

BATCH = 50  # PRs (or issues) per GraphQL request
ISSUES_PER_PULL = 10  # GitHub's own links read per PR
COMMENTS_PER_ISSUE = 100  # the oldest comments: hints are those written before the fix began

KEYWORD = r"(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)"
CLOSING_REFERENCE = re.compile(
    rf"(?<![\w/-]){KEYWORD}:?[ \t]+"
    r"(?:https?://[^\s/]+/(?P<url_owner>[\w.-]+)/(?P<url_name>[\w.-]+)/issues/(?P<url_number>\d+)"
    r"|(?:(?P<owner>[\w.-]+)/(?P<name>[\w.-]+))?#(?P<number>\d+))\b",
    re.IGNORECASE,
)

ISSUE_FIELDS = f"""
fragment issueFields on Issue {{
  number
  title
  body
  url
  repository {{ nameWithOwner }}
  comments(first: {COMMENTS_PER_ISSUE}) {{ nodes {{ body createdAt }} }}
}}
"""

Batched = TypeVar("Batched")

# A query in, its answer's ``data`` out (``GithubClient.graphql``: limits and errors handled).
GraphqlCall = Callable[[str], dict[str, Any]]


class IssueRef(BaseModel):
    """An issue named by repository and number."""

    model_config = ConfigDict(frozen=True)

    repo: str  # owner/name
    number: int


class IssueComment(BaseModel):
    """A comment on an issue, with its time (hints are the comments before the fix)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    body: str
    created_at: datetime = Field(alias="createdAt")


class LinkedIssue(BaseModel):
    """An issue a PR resolves, as GraphQL returns it."""

    model_config = ConfigDict(frozen=True)

    repo: str
    number: int
    title: str
    body: str
    url: str
    comments: list[IssueComment] = Field(default_factory=list)

    @property
    def ref(self) -> IssueRef:
        """The issue's repository and number."""
        return IssueRef(repo=self.repo, number=self.number)

    @classmethod
    def from_node(cls, node: IssueNode) -> LinkedIssue:
        """The issue of a GraphQL node."""
        return cls(
            repo=node.repository.name_with_owner,
            number=node.number,
            title=node.title,
            body=node.body or "",
            url=node.url,
            comments=node.comments.nodes,
        )


class _Node(BaseModel):
    """A GraphQL object: fields by their GraphQL names; fields not asked for are ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class RepositoryName(_Node):
    """A repository's ``nameWithOwner``."""

    name_with_owner: str = Field(alias="nameWithOwner")


class CommentConnection(_Node):
    """An issue's comments."""

    nodes: list[IssueComment]


class IssueNode(_Node):
    """``...issueFields`` as GitHub answers it: every field asked for is required."""

    number: int
    title: str
    body: str | None
    url: str
    repository: RepositoryName
    comments: CommentConnection


class ClosingReferences(_Node):
    """A PR's ``closingIssuesReferences``."""

    nodes: list[IssueNode | None]


class PullNode(_Node):
    """A PR as the linked-issues query answers it."""

    closing: ClosingReferences = Field(alias="closingIssuesReferences")


def closing_references(text: str, repo: str) -> list[IssueRef]:
    """Issues that closing keywords in ``text`` name, in order, each once."""
    found: dict[IssueRef, None] = {}
    for match in CLOSING_REFERENCE.finditer(text):
        if match["url_number"]:
            ref = IssueRef(
                repo=f"{match['url_owner']}/{match['url_name']}", number=int(match["url_number"])
            )
        else:
            owner, name = match["owner"], match["name"]
            ref = IssueRef(repo=f"{owner}/{name}" if owner else repo, number=int(match["number"]))
        found.setdefault(ref, None)
    return list(found)


def linked_issues(
    graphql: GraphqlCall, repo: str, texts: dict[int, str]
) -> dict[int, list[LinkedIssue]]:
    """The issues each PR resolves, for the PRs of ``texts`` (number -> title, body, commits).

    GitHub's links first; for PRs without any, the closing keywords of their text.
    """
    found = closing_issues_of_pulls(graphql, repo, sorted(texts))
    keyword_refs = {
        number: [
            r for r in closing_references(text, repo) if r != IssueRef(repo=repo, number=number)
        ]
        for number, text in texts.items()
        if not found.get(number)
    }
    wanted = list(dict.fromkeys(r for refs in keyword_refs.values() for r in refs))
    fetched = fetch_issues(graphql, wanted)
    for number, refs in keyword_refs.items():
        found[number] = [fetched[r] for r in refs if r in fetched]
    return found


def closing_issues_of_pulls(
    graphql: GraphqlCall, repo: str, numbers: list[int]
) -> dict[int, list[LinkedIssue]]:
    """GitHub's own PR → issue links, ``BATCH`` PRs per request.

    A PR whose node is of the wrong shape gets no links (one line says so): its closing
    keywords are read instead. An answer without ``repository`` is a ``GithubAnswerError``.
    """
    owner, name = repo.split("/")
    found: dict[int, list[LinkedIssue]] = {}
    for batch in _batches(numbers):
        fields = "\n".join(
            f"    pr{n}: pullRequest(number: {int(n)}) {{\n"
            f"      closingIssuesReferences(first: {ISSUES_PER_PULL}) "
            "{ nodes { ...issueFields } }\n    }"
            for n in batch
        )
        query = (
            f"query {{\n  repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) {{\n"
            f"{fields}\n  }}\n}}\n{ISSUE_FIELDS}"
        )
        request = f"GraphQL request 'closingIssues({repo}, {len(batch)} PRs)'"
        data = graphql(query)
        repository = mapping(child(data, "repository", request), request, "repository")
        for n in batch:
            try:
                found[n] = _closing_issues(repository, n, request)
            except GithubAnswerError as error:
                announce(f"{error}; PR #{n} falls back to its closing keywords")
                found[n] = []
    return found


def _closing_issues(repository: dict[str, Any], number: int, request: str) -> list[LinkedIssue]:
    at = f"repository.pullRequest(number: {number})"  # aliased pr<N> in the query
    if f"pr{number}" not in repository:
        raise GithubAnswerError(request, at, "without field")
    pull = repository[f"pr{number}"]
    if pull is None:
        return []  # no such PR (GitHub says NOT_FOUND beside the data)
    node = parse(PullNode, pull, request, at)
    return [LinkedIssue.from_node(issue) for issue in node.closing.nodes if issue]


def fetch_issues(graphql: GraphqlCall, refs: list[IssueRef]) -> dict[IssueRef, LinkedIssue]:
    """The issues of ``refs`` that exist and are issues (not PRs), ``BATCH`` per request.

    An issue whose node is of the wrong shape is skipped, with one line naming the field.
    """
    fetched: dict[IssueRef, LinkedIssue] = {}
    for batch in _batches(refs):
        fields = []
        for index, ref in enumerate(batch):
            owner, name = ref.repo.split("/")
            fields.append(
                f"  i{index}: repository(owner: {json.dumps(owner)}, name: {json.dumps(name)}) "
                f"{{\n    issueOrPullRequest(number: {int(ref.number)}) "
                "{ __typename ...issueFields }\n  }"
            )
        data = graphql("query {\n" + "\n".join(fields) + "\n}\n" + ISSUE_FIELDS)
        request = f"GraphQL request 'issues({len(batch)} issues)'"
        for index, ref in enumerate(batch):
            try:
                issue = _issue(data, index, ref, request)
            except GithubAnswerError as error:
                announce(f"{error}; issue {ref.repo}#{ref.number} skipped")
                continue
            if issue is not None:
                fetched[ref] = issue
    return fetched


def _issue(data: dict[str, Any], index: int, ref: IssueRef, request: str) -> LinkedIssue | None:
    alias, at = f"i{index}", f"repository({ref.repo})"  # aliased i<N> in the query
    if alias not in data:
        raise GithubAnswerError(request, at, "without field")
    repository = mapping(data[alias], request, at)
    if not repository:
        return None  # no such repository, or not visible to the credentials
    at += f".issueOrPullRequest(number: {ref.number})"
    if "issueOrPullRequest" not in repository:
        raise GithubAnswerError(request, at, "without field")
    node = mapping(repository["issueOrPullRequest"], request, at)
    if not node or child(node, "__typename", request, at) != "Issue":
        return None  # no such issue, or a pull request
    return LinkedIssue.from_node(parse(IssueNode, node, request, at))


def problem_statement(issues: Iterable[LinkedIssue]) -> str:
    """The issues' titles and bodies, as SWE-bench writes them."""
    return "".join(f"{issue.title}\n{issue.body}\n" for issue in issues)


def hints_text(issues: Iterable[LinkedIssue], before: datetime) -> str:
    """The issues' comments written before ``before`` (the PR's first commit), oldest first."""
    comments = sorted(
        (c for issue in issues for c in issue.comments if c.created_at < before),
        key=lambda c: c.created_at,
    )
    return "\n".join(c.body for c in comments)


def _batches(items: list[Batched]) -> Iterable[list[Batched]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
