"""GitHub's REST and GraphQL APIs through PyGithub, with GitHub's rate-limit rules and timeouts.

- **Credentials** are a token (``GITHUB_TOKEN``, or a file named by ``GithubAccess``) or a
  GitHub App installation; they are read here, when a client is made, and never stored in a
  request, a message or a record. Only the endpoint and the paths of secret files travel.
- **Every call** has a timeout and goes through ``extractors.github_limits.RateLimitRetry``
  (PyGithub's ``GithubRetry`` with GitHub's documented rate-limit rules): limits wait for
  their reset, 5xx back off; a wait longer than ``GithubAccess.max_rate_wait_s`` is not waited
  but ends the run with a ``TransientError`` that says to rerun. GraphQL's primary limit
  (HTTP 200 with a ``RATE_LIMITED`` error) follows the same rules, here.
- **Pull requests** come from the list endpoint, 100 per page, most recently updated first,
  so a date window stops paging at the first PR updated before it; each PR is read only
  through attributes the list payload carries, so none costs a request of its own.
- **Answers of the wrong shape** (a field missing or of another type) are one line naming the
  request and the field (``extractors.github_answers.GithubAnswerError``); a PR in a listing
  that is malformed is left out with that line, the rest of the listing is read.
- PyGithub's exceptions end here: 401 is a ``UserInputError`` about the credentials, 404 one
  that names what was not found, exhausted retries and unreachable servers ``TransientError``.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import github
import requests
from github.Auth import AppInstallationAuth as AppInstallation
from github.GithubException import (
    GithubException,
    RateLimitExceededExceedsMaxWait,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.PullRequest import PullRequest
from pydantic import BaseModel, ConfigDict, Field

from extractors.github_access import DEFAULT_API_URL as DEFAULT_API_URL
from extractors.github_access import TOKEN_VARIABLE
from extractors.github_access import GithubAccess as GithubAccess
from extractors.github_answers import GithubAnswerError, mapping, parse
from extractors.github_limits import RateLimit, RateLimitRetry, announce, rate_limit
from pipeline.core.errors import TransientError, UserInputError

PER_PAGE = 100
GRAPHQL_ATTEMPTS = 5  # GraphQL answers rate limited with HTTP 200: retried here, not by urllib3
NULLABLE_PULL_FIELDS = frozenset({"merged_at", "merge_commit_sha"})  # null for unmerged PRs
TOLERATED_GRAPHQL_ERRORS = frozenset({"NOT_FOUND", "FORBIDDEN"})  # an issue we cannot see


class UnknownObject(UserInputError):
    """GitHub answered 404: what was asked for does not exist (or the credentials cannot see it)."""


class ApiRepository(BaseModel):
    """The repository as GitHub's API describes it."""

    model_config = ConfigDict(frozen=True)

    full_name: str
    clone_url: str
    default_branch: str
    html_url: str


class ApiPull(BaseModel):
    """A pull request as the list endpoint describes it."""

    number: int
    state: str  # open or closed
    title: str
    body: str
    labels: list[str]
    author_association: str
    created_at: datetime
    updated_at: datetime
    merged_at: datetime | None
    base_ref: str = Field(alias="base.ref")
    base_sha: str = Field(alias="base.sha")
    head_sha: str = Field(alias="head.sha")
    merge_commit_sha: str | None
    html_url: str

    @classmethod
    def from_pull(cls, pull: PullRequest, request: str) -> ApiPull:
        """Read only attributes the list payload carries: any other would cost a request.

        A field GitHub left out (or sent null where a value is due) is a ``GithubAnswerError``
        naming it as the REST payload spells it.
        """
        base, head = pull.base, pull.head
        fields = {
            "number": pull.number,
            "state": pull.state,
            "title": pull.title,
            "body": pull.body or "",
            "labels": [label.name for label in pull.labels or []],
            "author_association": pull.author_association,
            "created_at": pull.created_at,
            "updated_at": pull.updated_at,
            "merged_at": pull.merged_at,
            "base.ref": base.ref if base else None,
            "base.sha": base.sha if base else None,
            "head.sha": head.sha if head else None,
            "merge_commit_sha": pull.merge_commit_sha,
            "html_url": pull.html_url,
        }
        present = {k: v for k, v in fields.items() if v is not None or k in NULLABLE_PULL_FIELDS}
        return parse(cls, present, request)  # PyGithub reads an absent field as None

    model_config = ConfigDict(frozen=True, populate_by_name=True)


class GithubClient:
    """One repository on one GitHub (or GitHub Enterprise) server."""

    def __init__(self, access: GithubAccess, repo: str) -> None:
        self.access = access
        self.repo = repo
        retry = RateLimitRetry(
            total=access.retries,
            backoff_factor=access.backoff_s,
            secondary_rate_wait=access.secondary_wait_s,
            max_rate_limit_wait=access.max_rate_wait_s,
        )
        self._github = github.Github(
            base_url=access.api_url.rstrip("/"),
            auth=credentials(access),
            timeout=access.timeout_s,
            per_page=PER_PAGE,
            retry=retry,
            user_agent="taskforge",
            lazy=True,  # objects are fetched when first read, so get_repo costs nothing
        )
        self._repository = self._github.get_repo(repo)

    @property
    def graphql_url(self) -> str:
        """``<base>/graphql``, or ``<host>/api/graphql`` for Enterprise's ``<host>/api/v3``."""
        return self._github.requester.graphql_url

    def __enter__(self) -> GithubClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._github.close()

    def git_environment(self, clone_url: str) -> dict[str, str]:
        """Git settings that send the credentials to the clone URL's host, for HTTPS only.

        They travel in the environment of the git process (``GIT_CONFIG_*``), so the token is
        in no URL, no command line, no config file of the mirror and no error message.
        """
        parts = urlsplit(clone_url)
        auth = self._github.requester.auth
        if parts.scheme != "https" or not isinstance(auth, github.Auth.Token | AppInstallation):
            return {}
        basic = base64.b64encode(f"x-access-token:{auth.token}".encode()).decode()
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.https://{parts.netloc}/.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }

    def repository(self) -> ApiRepository:
        """The repository, read once (checks the credentials and that they see it)."""
        auth = self._github.requester.auth
        if isinstance(auth, AppInstallation):  # fetch its token first, so errors name the app
            with self.errors(f"installation {auth.installation_id} of GitHub App {auth.app_id}"):
                _ = auth.token
        with self.errors(f"repository {self.repo}"):
            found = self._repository
            return ApiRepository(
                full_name=found.full_name,
                clone_url=found.clone_url,
                default_branch=found.default_branch,
                html_url=found.html_url,
            )

    def merged_pulls(
        self, branch: str | None, since: datetime | None, until: datetime | None
    ) -> Iterator[ApiPull]:
        """PRs merged into ``branch`` (None: into any branch) within the window, most recently
        updated first.

        A PR's ``updated_at`` is never before its ``merged_at``, so paging stops at the first
        PR updated before ``since``.
        """
        with self.errors(f"pull requests of {self.repo}"):
            into = {"base": branch} if branch is not None else {}
            listing = self._repository.get_pulls(
                state="closed", sort="updated", direction="desc", **into
            )
            for found in listing:
                try:
                    pull = ApiPull.from_pull(found, f"REST request 'pull requests of {self.repo}'")
                except GithubAnswerError as error:
                    announce(f"{error}; PR #{found.number} left out")
                    continue
                if since is not None and pull.updated_at < since:
                    return
                if pull.merged_at is None:
                    continue
                if since is not None and pull.merged_at < since:
                    continue
                if until is not None and pull.merged_at > until:
                    continue
                yield pull

    def pull(self, number: int) -> ApiPull:
        """Pull request ``number`` of the repository."""
        with self.errors(f"pull request #{number} of {self.repo}"):
            found = self._repository.get_pull(number)  # lazy: read in from_pull
            return ApiPull.from_pull(found, f"REST request 'pull request #{number} of {self.repo}'")

    def graphql(self, query: str) -> dict[str, Any]:
        """The ``data`` of a GraphQL answer; issues that do not exist or cannot be seen are
        null in it. Rate-limited answers wait (within the cap) and are asked again."""
        requester = self._github.requester
        for _attempt in range(GRAPHQL_ATTEMPTS):
            with self.errors("GitHub's GraphQL API"):
                headers, answer = requester.requestJsonAndCheck(
                    "POST", requester.graphql_url, input={"query": query, "variables": {}}
                )
            request = f"GraphQL request to {requester.graphql_url}"
            answer = mapping(answer, request, "the answer")
            errors = [mapping(e, request, "errors") for e in answer.get("errors") or []]
            if any(e.get("type") == "RATE_LIMITED" for e in errors):
                limit = rate_limit(429, headers, self.access.secondary_wait_s)
                assert limit is not None  # a 429 always is one
                if limit.wait_s > self.access.max_rate_wait_s:
                    raise TransientError(limit.too_long(self.access.max_rate_wait_s))
                announce(limit.waiting())
                time.sleep(limit.wait_s)
                continue
            unexpected = [e for e in errors if e.get("type") not in TOLERATED_GRAPHQL_ERRORS]
            if unexpected:
                raise UserInputError(
                    f"GitHub's GraphQL API at {requester.graphql_url} cannot answer for "
                    f"{self.repo}: {str(unexpected[0].get('message', unexpected[0]))[:200]}"
                )
            return mapping(answer.get("data"), request, "data")
        raise TransientError(
            f"GitHub's GraphQL API stayed rate limited for {self.repo}; rerun the same command "
            "later to resume"
        )

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
        """PyGithub's and requests' exceptions as taskforge's, naming ``what`` and the server."""
        api = self.access.api_url
        try:
            yield
        except RateLimitExceededExceedsMaxWait as error:
            limit = rate_limit(error.status, error.headers or {}, self.access.secondary_wait_s)
            limit = limit or RateLimit(primary=False, wait_s=error.wait or 0.0)
            raise TransientError(limit.too_long(self.access.max_rate_wait_s)) from None
        except RateLimitExceededException:
            raise TransientError(
                f"GitHub API at {api} stayed rate limited while reading {what}; rerun the same "
                "command later to resume"
            ) from None
        except GithubException as error:
            raise _translated(error, what, self.access) from None
        except requests.exceptions.RetryError:
            raise TransientError(
                f"GitHub API at {api} kept failing while reading {what}; rerun later"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            raise TransientError(
                f"cannot reach the GitHub API at {api} ({type(error).__name__}); check "
                "--api-url and the network, then rerun"
            ) from None


def credentials(access: GithubAccess) -> github.Auth.Auth:
    """The token or the GitHub App installation; a ``UserInputError`` when there is none."""
    if access.app_id is not None:
        if access.app_key_file is None or access.installation_id is None:
            raise UserInputError(
                "GitHub App authentication needs --app-id, --app-key-file and --installation-id"
            )
        key = _read_secret(access.app_key_file, "--app-key-file")
        return github.Auth.AppAuth(access.app_id, key).get_installation_auth(access.installation_id)
    if access.token_file is not None:
        return github.Auth.Token(_read_secret(access.token_file, "--token-file"))
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        raise UserInputError(
            f"mining GitHub needs credentials: set ${TOKEN_VARIABLE}, or pass --token-file, or "
            "the GitHub App options (--app-id, --app-key-file, --installation-id)"
        )
    return github.Auth.Token(token)


def _read_secret(path: Path, option: str) -> str:
    try:
        text = path.read_text().strip()
    except OSError as error:
        raise UserInputError(f"cannot read {option} {path}: {error.strerror}") from None
    if not text:
        raise UserInputError(f"{option} {path} is empty")
    return text


def _translated(error: GithubException, what: str, access: GithubAccess) -> Exception:
    api = access.api_url
    message = error.data.get("message", "") if isinstance(error.data, dict) else ""
    if error.status == 401:
        return UserInputError(
            f"GitHub at {api} rejected {access.describe_credentials()} (HTTP 401 "
            f"{message or 'Unauthorized'}): check that it is valid and not expired"
        )
    if error.status == 404 or isinstance(error, UnknownObjectException):
        return UnknownObject(
            f"{what} not found at {api} (or {access.describe_credentials()} cannot see it)"
        )
    if error.status >= 500:
        return TransientError(f"GitHub API at {api} failed on {what} (HTTP {error.status}); rerun")
    return UserInputError(f"GitHub at {api} refused {what} (HTTP {error.status}: {message[:200]})")
