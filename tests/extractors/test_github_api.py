"""The PyGithub client against the fake GitHub: paging, limits, faults, credentials, endpoints."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from extractors.github_api import GithubAccess, GithubClient
from extractors.github_limits import rate_limit
from extractors.linked_issues import IssueRef, fetch_issues
from pipeline.core.errors import TransientError, UserInputError
from tests.extractors.conftest import WIDGETS
from tests.fakes.github_server import FAKE_TOKEN, FakeGithub, Fault, quick_access

REPO = WIDGETS
START = datetime(2024, 1, 1, tzinfo=UTC)


def add_pulls(widgets: FakeGithub, count: int) -> None:
    """``count`` merged PRs, #1 oldest; every fifth closed without merging."""
    for number in range(1, count + 1):
        widgets.add_placeholder_pull(number, START + timedelta(hours=number), number % 5 != 0)


def test_list_pages_by_100_and_reads_no_pull_twice(widgets: FakeGithub, token_file: Path) -> None:
    add_pulls(widgets, 250)
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        pulls = list(client.merged_pulls("main", None, None))
    assert len(pulls) == 200  # 250 closed, 50 of them not merged
    assert [p.number for p in pulls[:3]] == [249, 248, 247]  # most recently updated first
    pages = [r for r in widgets.requests if r.path == f"/repos/{REPO}/pulls"]
    assert [r.query.get("page", ["1"])[0] for r in pages] == ["1", "2", "3"]
    assert {r.query["per_page"][0] for r in pages} == {"100"}
    assert {(r.query["state"][0], r.query["sort"][0], r.query["direction"][0]) for r in pages} == {
        ("closed", "updated", "desc")
    }
    assert len(widgets.requests) == 3  # no request per PR: every field came from the list
    first = pulls[0]
    assert (first.title, first.base_ref, first.author_association) == (
        "PR 249",
        "main",
        "CONTRIBUTOR",
    )
    assert first.merge_commit_sha == "c" * 40 and first.head_sha == "a" * 40


def test_a_window_stops_paging_at_the_first_pull_updated_before_it(
    widgets: FakeGithub, token_file: Path
) -> None:
    add_pulls(widgets, 250)
    since, until = START + timedelta(hours=140), START + timedelta(hours=200)
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        pulls = list(client.merged_pulls("main", since, until))
    assert {p.number for p in pulls} == {n for n in range(140, 201) if n % 5}
    assert widgets.count(f"/repos/{REPO}/pulls") == 2  # page 3 holds only older PRs


def test_primary_limit_waits_for_the_reset_and_says_so(
    widgets: FakeGithub, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets.faults.append(Fault("primary", path="/repos", reset_in_s=1))
    started = time.monotonic()
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        assert client.repository().full_name == REPO
    assert time.monotonic() - started >= 1
    assert [r.status for r in widgets.requests] == [403, 200]
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "rate limit reached: waiting" in lines[0] and "UTC" in lines[0]


def test_primary_limit_as_429_waits_too(widgets: FakeGithub, token_file: Path) -> None:
    widgets.faults.append(Fault("primary429", path="/repos", reset_in_s=1))
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        client.repository()
    assert [r.status for r in widgets.requests] == [429, 200]


def test_a_reset_beyond_the_cap_stops_at_once_saying_to_rerun(
    widgets: FakeGithub, token_file: Path
) -> None:
    widgets.faults.append(Fault("primary", path="/repos", reset_in_s=3600))
    started = time.monotonic()
    with (
        GithubClient(quick_access(widgets, token_file, max_rate_wait_s=60), REPO) as client,
        pytest.raises(TransientError, match="--max-rate-wait 60 s; rerun") as raised,
    ):
        client.repository()
    assert time.monotonic() - started < 10
    assert len(widgets.requests) == 1
    assert FAKE_TOKEN not in str(raised.value)


def test_secondary_limit_waits_retry_after(
    widgets: FakeGithub, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets.faults.append(Fault("secondary", path="/repos", retry_after_s=1))
    started = time.monotonic()
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        client.repository()
    assert time.monotonic() - started >= 1
    assert [r.status for r in widgets.requests] == [403, 200]
    assert "secondary rate limit: retrying in 1 s" in capsys.readouterr().err


def test_server_errors_are_retried_with_backoff(widgets: FakeGithub, token_file: Path) -> None:
    widgets.faults.append(Fault("server", path="/repos", times=2))
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        assert client.repository().default_branch == "main"
    assert [r.status for r in widgets.requests] == [502, 502, 200]


def test_server_errors_that_persist_are_transient(widgets: FakeGithub, token_file: Path) -> None:
    widgets.faults.append(Fault("server", path="/repos", times=100))
    with (
        GithubClient(quick_access(widgets, token_file, retries=2), REPO) as client,
        pytest.raises(TransientError, match="kept failing"),
    ):
        client.repository()
    assert len(widgets.requests) == 3


def test_every_call_has_a_timeout(widgets: FakeGithub, token_file: Path) -> None:
    widgets.faults.append(Fault("slow", path="/repos", times=2, delay_s=3))
    started = time.monotonic()
    with (
        GithubClient(quick_access(widgets, token_file, timeout_s=1, retries=1), REPO) as client,
        pytest.raises(TransientError, match="cannot reach the GitHub API at http"),
    ):
        client.repository()
    assert time.monotonic() - started < 3 * 2  # two tries of one second, not two of three
    assert widgets.count("/repos") == 2


def test_bad_token_is_one_line_about_the_token(widgets: FakeGithub, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("ghp_wrongTokenValue")
    with (
        GithubClient(quick_access(widgets, wrong), REPO) as client,
        pytest.raises(UserInputError, match=r"rejected the token in .*wrong \(HTTP 401") as raised,
    ):
        client.repository()
    assert "ghp_wrongTokenValue" not in str(raised.value)
    assert len(widgets.requests) == 1  # a 401 is not retried


def test_unknown_repository_is_named(widgets: FakeGithub, token_file: Path) -> None:
    with (
        GithubClient(quick_access(widgets, token_file), "acme/missing") as client,
        pytest.raises(UserInputError, match="repository acme/missing not found at http"),
    ):
        client.repository()


def test_missing_credentials_say_where_to_put_them(
    widgets: FakeGithub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with pytest.raises(UserInputError, match=r"set \$GITHUB_TOKEN, or pass --token-file"):
        GithubClient(GithubAccess(api_url=widgets.api_url), REPO)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(UserInputError, match=r"--token-file .*empty is empty"):
        GithubClient(GithubAccess(api_url=widgets.api_url, token_file=empty), REPO)
    monkeypatch.setenv("GITHUB_TOKEN", FAKE_TOKEN)
    with GithubClient(GithubAccess(api_url=widgets.api_url), REPO) as client:
        assert client.repository().full_name == REPO


def test_graphql_rate_limited_answer_waits_and_asks_again(
    widgets: FakeGithub, token_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    widgets.faults.append(Fault("graphql_rate_limited", path="/graphql", reset_in_s=1))
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        found = fetch_issues(client.graphql, [IssueRef(repo=REPO, number=5)])
    assert found == {}  # answered at last: NOT_FOUND beside the data is no failure
    assert [r.status for r in widgets.requests] == [200, 200]
    assert "rate limit reached: waiting" in capsys.readouterr().err


def test_enterprise_layout_puts_graphql_at_api_graphql(token_file: Path) -> None:
    server = FakeGithub(REPO, "file:///nowhere", FAKE_TOKEN, prefix="/api/v3").start()
    try:
        with GithubClient(quick_access(server, token_file), REPO) as client:
            assert client.graphql_url == server.host_url + "/api/graphql"
            assert client.repository().full_name == REPO
            fetch_issues(client.graphql, [IssueRef(repo=REPO, number=1)])
        assert [r.path for r in server.requests] == [f"/api/v3/repos/{REPO}", "/api/graphql"]
    finally:
        server.stop()
    with GithubClient(GithubAccess(token_file=token_file), REPO) as client:
        assert client.graphql_url == "https://api.github.com/graphql"


def test_github_app_installation_token(widgets: FakeGithub, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "app.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    widgets.apps["4242"] = public.decode()
    widgets.installation_tokens[77] = "ghs_installationToken"
    app = GithubAccess(
        api_url=widgets.api_url, app_id="4242", app_key_file=key_file, installation_id=77
    )
    with GithubClient(app, REPO) as client:
        assert client.repository().full_name == REPO
        assert "ghs_installationToken" not in str(client.git_environment("file:///x"))
    assert [(r.method, r.path) for r in widgets.requests] == [
        ("POST", "/app/installations/77/access_tokens"),
        ("GET", f"/repos/{REPO}"),
    ]
    wrong = GithubAccess(
        api_url=widgets.api_url, app_id="4242", app_key_file=key_file, installation_id=78
    )
    with (
        GithubClient(wrong, REPO) as client,
        pytest.raises(UserInputError, match="installation 78 of GitHub App 4242 not found"),
    ):
        client.repository()


def test_git_gets_the_token_for_https_clone_hosts_only(
    widgets: FakeGithub, token_file: Path
) -> None:
    with GithubClient(quick_access(widgets, token_file), REPO) as client:
        assert client.git_environment("file:///srv/widgets") == {}
        assert client.git_environment("http://example.org/acme/widgets.git") == {}
        env = client.git_environment("https://git.example.org/acme/widgets.git")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://git.example.org/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert FAKE_TOKEN not in str(env)  # encoded, and only in the git process's environment


def test_rate_limit_rules_follow_githubs_documentation() -> None:
    soon = str(int(time.time()) + 10)
    primary = rate_limit(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": soon}, 60)
    assert primary is not None and primary.primary and 9 <= primary.wait_s <= 12
    secondary = rate_limit(429, {"Retry-After": "7", "x-ratelimit-remaining": "0"}, 60)
    assert secondary is not None and not secondary.primary and secondary.wait_s == 7
    assert rate_limit(429, {}, 60) == rate_limit(429, {"x-ratelimit-remaining": "12"}, 60)
    assert rate_limit(403, {"x-ratelimit-remaining": "12"}, 60) is None  # left to the message
    assert rate_limit(500, {"x-ratelimit-remaining": "0"}, 60) is None
