"""A local fake of GitHub's REST and GraphQL APIs, for PyGithub to talk to over real HTTP.

It answers as GitHub documents: ``GET /repos/{owner}/{repo}``, ``GET .../pulls`` (filters
``state``, ``base``, ``sort=updated``, ``direction``; ``per_page`` and ``page`` with a ``Link``
header), ``GET .../pulls/{n}``, ``POST /graphql`` (aliased ``pullRequest`` lookups with
``closingIssuesReferences``, aliased ``repository { issueOrPullRequest }`` lookups, ``NOT_FOUND``
errors beside partial data), ``POST /app/installations/{id}/access_tokens`` (a GitHub App's
JWT checked with its public key), and the ``x-ratelimit-*`` headers on every answer.

Faults are queued (``Fault``): primary limits (403 or 429 with ``x-ratelimit-remaining: 0``),
secondary limits (403 with ``retry-after``), 5xx, GraphQL's HTTP-200 ``RATE_LIMITED``, and
answers slower than a client's timeout.
Answers of the wrong shape: ``graphql_edits`` change each GraphQL answer's ``data`` before it
is sent (drop a field, change its type), and a PR's REST payload is a dict in ``pulls`` that a
test may edit the same way.
Credentials that do not match get 401 ``Bad credentials``, an unknown repository 404. Every
request is recorded, so tests count them. With ``prefix="/api/v3"`` it is laid out as GitHub
Enterprise (REST under ``/api/v3``, GraphQL at ``/api/graphql``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from extractors.github_api import GithubAccess
from tests.fakes.github_payloads import iso, pull_payload, repository_payload

FAKE_TOKEN = "ghp_fakeToken0123456789SECRETvalue"  # distinctive: tests grep output for it
DOCS = "https://docs.github.com/rest"
PRIMARY_MESSAGE = "API rate limit exceeded for user ID 1."
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
PULL_ALIAS = re.compile(r"(pr\d+): pullRequest\(number: (\d+)\)")
ISSUE_ALIAS = re.compile(
    r'(i\d+): repository\(owner: "([^"]+)", name: "([^"]+)"\) \{\s*'
    r"issueOrPullRequest\(number: (\d+)\)"
)


@dataclass
class Fault:
    """The next ``times`` requests whose path starts with ``path`` get this answer instead."""

    kind: str  # primary, primary429, secondary, server, graphql_rate_limited, slow
    path: str = "/"
    times: int = 1
    reset_in_s: int = 2  # primary limits: seconds until x-ratelimit-reset
    retry_after_s: int = 1  # secondary limits
    delay_s: float = 3.0  # slow: seconds before an answer comes


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int = 0


@dataclass
class FakeIssue:
    repo: str
    number: int
    title: str
    body: str
    comments: list[tuple[datetime, str]] = field(default_factory=list)

    def node(self, base_url: str) -> dict[str, Any]:
        return {
            "__typename": "Issue",
            "number": self.number,
            "title": self.title,
            "body": self.body,
            "url": f"{base_url}/{self.repo}/issues/{self.number}",
            "repository": {"nameWithOwner": self.repo},
            "comments": {
                "nodes": [{"body": b, "createdAt": iso(t)} for t, b in sorted(self.comments)]
            },
        }


class FakeGithub:
    """The server's state; ``start()`` serves it on 127.0.0.1 at a free port."""

    def __init__(self, repo: str, clone_url: str, token: str, prefix: str = "") -> None:
        self.repo = repo
        self.clone_url = clone_url
        self.token = token
        self.prefix = prefix
        self.default_branch = "main"
        self.pulls: dict[int, dict[str, Any]] = {}
        self.closing: dict[int, list[tuple[str, int]]] = {}  # PR -> GitHub's issue links
        self.issues: dict[tuple[str, int], FakeIssue] = {}
        self.faults: list[Fault] = []
        self.graphql_edits: list[Callable[[dict[str, Any]], None]] = []  # applied to ``data``
        self.requests: list[Recorded] = []
        self.apps: dict[str, str] = {}  # app id -> public key (PEM)
        self.installation_tokens: dict[int, str] = {}  # installation id -> its token
        self.remaining = 5000
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    # -- serving ---------------------------------------------------------------------------

    def start(self) -> FakeGithub:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def host_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.host_url + self.prefix

    def count(self, path: str = "/", method: str | None = None) -> int:
        return sum(
            1
            for r in self.requests
            if r.path.startswith(path) and (method is None or r.method == method)
        )

    # -- data ------------------------------------------------------------------------------

    def add_pull(self, number: int, **fields: Any) -> None:
        self.pulls[number] = pull_payload(self, number, **fields)

    def add_placeholder_pull(self, number: int, closed_at: datetime, merged: bool = True) -> None:
        """A PR whose commits no repository has: for tests of the API alone."""
        self.add_pull(
            number,
            title=f"PR {number}",
            body=None,
            head_sha="a" * 40,
            base_sha="b" * 40,
            merge_commit_sha="c" * 40 if merged else None,
            created_at=closed_at - timedelta(minutes=5),
            merged_at=closed_at if merged else None,
        )

    def add_issue(self, issue: FakeIssue, closed_by: tuple[int, ...] = ()) -> None:
        self.issues[(issue.repo, issue.number)] = issue
        for number in closed_by:
            self.closing.setdefault(number, []).append((issue.repo, issue.number))

    # -- answers ---------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        fault = self._take_fault(path)
        if fault is not None:
            return self._fault_answer(fault)
        if method == "POST" and path.startswith("/app/installations/"):
            return self._installation_token(path, headers)
        if not self._authorized(headers.get("Authorization", "")):
            return 401, {}, {"message": "Bad credentials", "documentation_url": DOCS}
        rest = path.removeprefix(self.prefix)
        if method == "POST" and path == self._graphql_path():
            return 200, {"x-ratelimit-resource": "graphql"}, self._graphql(json.loads(body))
        own = f"/repos/{self.repo}"
        if rest == own:
            return 200, {}, repository_payload(self)
        if rest == f"{own}/pulls":
            return self._pull_list(query)
        match = re.fullmatch(rf"{re.escape(own)}/pulls/(\d+)", rest)
        if match and int(match[1]) in self.pulls:
            return 200, {}, {**self.pulls[int(match[1])], "merged": True, "commits": 1}
        return 404, {}, {"message": "Not Found", "documentation_url": DOCS}

    def _graphql_path(self) -> str:
        return self.prefix.removesuffix("/v3") + "/graphql"

    def _authorized(self, header: str) -> bool:
        scheme, _, credential = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return False
        return credential == self.token or credential in self.installation_tokens.values()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _fault_answer(self, fault: Fault) -> tuple[int, dict[str, str], Any]:
        if fault.kind in ("primary", "primary429", "graphql_rate_limited"):
            headers = {
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": str(int(time.time()) + fault.reset_in_s),
            }
            if fault.kind == "graphql_rate_limited":
                errors = [{"type": "RATE_LIMITED", "message": PRIMARY_MESSAGE}]
                return 200, headers, {"data": None, "errors": errors}
            status = 403 if fault.kind == "primary" else 429
            return status, headers, {"message": PRIMARY_MESSAGE, "documentation_url": DOCS}
        if fault.kind == "secondary":
            headers = {"retry-after": str(fault.retry_after_s)}
            return 403, headers, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS}
        if fault.kind == "slow":
            time.sleep(fault.delay_s)
            return 200, {}, {"message": "too late"}
        return 502, {}, {"message": "Server Error"}

    def _installation_token(self, path: str, headers: Any) -> tuple[int, dict[str, str], Any]:
        match = re.fullmatch(
            r"/app/installations/(\d+)/access_tokens", path.removeprefix(self.prefix)
        )
        scheme, _, token = headers.get("Authorization", "").partition(" ")
        installation = int(match[1]) if match else -1
        if scheme.lower() != "bearer" or installation not in self.installation_tokens:
            return 404, {}, {"message": "Not Found", "documentation_url": DOCS}
        issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss"))
        try:
            jwt.decode(token, self.apps[issuer], algorithms=["RS256"])
        except (KeyError, jwt.InvalidTokenError):
            return 401, {}, {"message": "A JSON web token could not be decoded"}
        expires = datetime.now(UTC) + timedelta(hours=1)
        return (
            201,
            {},
            {"token": self.installation_tokens[installation], "expires_at": iso(expires)},
        )

    def _pull_list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, str], Any]:
        def one(name: str, default: str) -> str:
            return query.get(name, [default])[0]

        state, base = one("state", "open"), one("base", "")
        pulls = [
            p
            for p in self.pulls.values()
            if (state == "all" or p["state"] == state) and (not base or p["base"]["ref"] == base)
        ]
        key = "updated_at" if one("sort", "created") == "updated" else "created_at"
        pulls.sort(key=lambda p: (p[key], p["number"]), reverse=one("direction", "desc") == "desc")
        per_page, page = int(one("per_page", "30")), int(one("page", "1"))
        pages = max(1, -(-len(pulls) // per_page))
        links = []
        for rel, target in (("next", page + 1), ("last", pages)):
            if page < pages:
                params = {k: v[0] for k, v in query.items()} | {"page": str(target)}
                url = f"{self.api_url}/repos/{self.repo}/pulls?{urlencode(params)}"
                links.append(f'<{url}>; rel="{rel}"')
        headers = {"Link": ", ".join(links)} if links else {}
        return 200, headers, pulls[(page - 1) * per_page : page * per_page]

    def _graphql(self, request: dict[str, Any]) -> dict[str, Any]:
        query = request["query"]
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        pulls = {alias: int(n) for alias, n in PULL_ALIAS.findall(query)}
        if pulls:
            data["repository"] = {
                alias: {"closingIssuesReferences": {"nodes": self._closing_nodes(n)}}
                if n in self.pulls
                else None
                for alias, n in pulls.items()
            }
        for alias, owner, name, number in ISSUE_ALIAS.findall(query):
            data[alias], error = self._issue_or_pull(f"{owner}/{name}", int(number), alias)
            if error:
                errors.append(error)
        data = json.loads(json.dumps(data))  # edits change this answer, never the state
        for edit in self.graphql_edits:
            edit(data)
        return {"data": data, "errors": errors} if errors else {"data": data}

    def _closing_nodes(self, number: int) -> list[dict[str, Any]]:
        links = self.closing.get(number, [])
        return [self.issues[link].node(self.web_url) for link in links]

    def _issue_or_pull(
        self, repo: str, number: int, alias: str
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        if repo != self.repo and not any(r == repo for r, _ in self.issues):
            message = f"Could not resolve to a Repository with the name '{repo}'."
            return None, {"type": "NOT_FOUND", "path": [alias], "message": message}
        if repo == self.repo and number in self.pulls:
            return {"issueOrPullRequest": {"__typename": "PullRequest"}}, None
        issue = self.issues.get((repo, number))
        if issue is None:
            message = f"Could not resolve to an issue or pull request with the number of {number}."
            error = {"type": "NOT_FOUND", "path": [alias, "issueOrPullRequest"], "message": message}
            return {"issueOrPullRequest": None}, error
        return {"issueOrPullRequest": issue.node(self.web_url)}, None

    @property
    def web_url(self) -> str:
        return self.host_url


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGithub
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        record = Recorded(method, parts.path, parse_qs(parts.query))
        self.fake.requests.append(record)
        status, headers, payload = self.fake.answer(
            method, parts.path, record.query, self.headers, body
        )
        record.status = status
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in {**self._rate_headers(headers), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _rate_headers(self, headers: dict[str, str]) -> dict[str, str]:
        self.fake.remaining = max(0, self.fake.remaining - 1)
        return {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": str(self.fake.remaining),
            "x-ratelimit-used": str(5000 - self.fake.remaining),
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-resource": headers.get("x-ratelimit-resource", "core"),
        }

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``fake.requests``


def quick_access(fake: FakeGithub, token_file: Path, **changes: Any) -> GithubAccess:
    """Access to ``fake`` with the token in ``token_file`` and short backoffs for tests."""
    quick = GithubAccess(
        api_url=fake.api_url,
        token_file=token_file,
        backoff_s=0.1,
        secondary_wait_s=1.0,
        max_rate_wait_s=30.0,
    )
    return dataclasses.replace(quick, **changes)
