"""Payloads shaped as GitHub's REST reference documents them ("Get a repository", "List pull
requests"), for the fake server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol


class Site(Protocol):
    """What a payload needs to know about the fake serving it."""

    repo: str
    clone_url: str
    default_branch: str

    @property
    def api_url(self) -> str: ...

    @property
    def web_url(self) -> str: ...


def repository_payload(fake: Site) -> dict[str, Any]:
    owner, name = fake.repo.split("/")
    api = f"{fake.api_url}/repos/{fake.repo}"
    return {
        "id": 1296269,
        "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
        "name": name,
        "full_name": fake.repo,
        "owner": {"login": owner, "id": 1, "type": "Organization"},
        "private": False,
        "html_url": f"{fake.web_url}/{fake.repo}",
        "description": "Small text helpers.",
        "fork": False,
        "url": api,
        "pulls_url": api + "/pulls{/number}",
        "clone_url": fake.clone_url,
        "git_url": f"git://example.invalid/{fake.repo}.git",
        "ssh_url": f"git@example.invalid:{fake.repo}.git",
        "default_branch": fake.default_branch,
        "created_at": "2024-02-01T00:00:00Z",
        "updated_at": "2024-03-02T00:00:00Z",
        "pushed_at": "2024-03-02T00:00:00Z",
    }


def pull_payload(
    fake: Site,
    number: int,
    *,
    title: str,
    body: str | None,
    head_sha: str,
    base_sha: str,
    merge_commit_sha: str | None,
    created_at: datetime,
    merged_at: datetime | None,
    updated_at: datetime | None = None,
    base_ref: str = "main",
    labels: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A pull request as ``GET /repos/{owner}/{repo}/pulls`` lists it."""
    api = f"{fake.api_url}/repos/{fake.repo}"
    closed = merged_at or created_at + timedelta(hours=1)
    return {
        "url": f"{api}/pulls/{number}",
        "id": 1000 + number,
        "node_id": f"PR_{number}",
        "html_url": f"{fake.web_url}/{fake.repo}/pull/{number}",
        "issue_url": f"{api}/issues/{number}",
        "number": number,
        "state": "closed",
        "locked": False,
        "title": title,
        "user": {"login": "contributor", "id": 2, "type": "User"},
        "body": body,
        "labels": [
            {"id": i, "name": n, "color": "ededed", "default": False} for i, n in enumerate(labels)
        ],
        "milestone": None,
        "created_at": iso(created_at),
        "updated_at": iso(updated_at or closed),
        "closed_at": iso(closed),
        "merged_at": iso(merged_at) if merged_at else None,
        "merge_commit_sha": merge_commit_sha,
        "assignees": [],
        "requested_reviewers": [],
        "head": {"label": f"contributor:pr-{number}", "ref": f"pr-{number}", "sha": head_sha},
        "base": {
            "label": f"{fake.repo.split('/')[0]}:{base_ref}",
            "ref": base_ref,
            "sha": base_sha,
        },
        "author_association": "CONTRIBUTOR",
        "auto_merge": None,
        "draft": False,
    }


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
