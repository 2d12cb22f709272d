"""Mining a GitHub repository end to end without Docker: requests per PR, mirror, cursor, token.

A "run" here is what ``taskforge backfill OWNER/NAME`` does before validation: the CLI's
preflight check, the ``mine`` task's own function, a write of its candidates, and the cursor
step the flow takes after its writes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import git
import pytest

from pipeline.backfill.cursor import read_cursor
from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.steps import advance_cursor, check_github_source
from pipeline.core.records import ProblemSource, SourceKind
from pipeline.dataset.shards import read_tasks, write_tasks
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME, History
from pipeline.orchestration.tasks import Mined, mine
from tests.fakes.github_server import FakeGithub, FakeIssue
from tests.fakes.sample_github import SAMPLE_TOKEN, sample_github


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", SAMPLE_TOKEN)


def run(request: BackfillRequest) -> Mined:
    check_github_source(request)
    mined: Mined = mine.fn(request)
    write_tasks(request.layout(), mined.candidates)
    advance_cursor(request, mined.merged_at, mined.candidates)
    return mined


def request_for(fake: FakeGithub, tmp_path: Path, **changes: object) -> BackfillRequest:
    fields: dict[str, object] = {
        "source": fake.repo,
        "repo": fake.repo,
        "out": tmp_path / "out",
        "cache_dir": tmp_path / "cache",
        "api_url": fake.api_url,
        "allow_no_issue": True,
    }
    return BackfillRequest.model_validate(fields | changes)


@pytest.fixture
def sample_copy(sample_repo_path: Path, tmp_path: Path) -> Path:
    """A clone of the sample with its PR refs, which a test may add PRs to."""
    copy = tmp_path / "upstream"
    git.Repo.clone_from(sample_repo_path, copy)
    upstream = git.Repo(copy)
    upstream.git.fetch("origin", "+refs/pull/*/head:refs/pull/*/head")
    return copy


@pytest.fixture
def fake(sample_copy: Path) -> Iterator[FakeGithub]:
    server = sample_github(sample_copy)
    yield server
    server.stop()


@pytest.mark.usefixtures("token_env")
def test_a_run_mines_every_pull_through_the_api(fake: FakeGithub, tmp_path: Path) -> None:
    request = request_for(fake, tmp_path)
    mined = run(request)
    tasks = {t.pull_number: t for t in mined.candidates}
    assert sorted(tasks) == sorted(DESIGNED_OUTCOMES)
    assert {t.source_kind for t in tasks.values()} == {SourceKind.GITHUB_API}
    assert tasks[9].problem_source is ProblemSource.PR_DESCRIPTION
    assert tasks[8].problem_statement.startswith("An ellipsis option for truncate")
    mirror = git.Repo(mined.repo_path)
    assert mirror.bare and Path(mined.repo_path).parent == tmp_path / "cache" / "repos"
    assert mirror.git.symbolic_ref("HEAD") == "refs/heads/main"
    assert "refs/pull/8/head" in mirror.git.for_each_ref("refs/pull/")
    written = {t.pull_number for t in read_tasks(request.layout())}
    assert written == set(DESIGNED_OUTCOMES)


@pytest.mark.usefixtures("token_env")
def test_requests_per_merged_pull(fake: FakeGithub, tmp_path: Path) -> None:
    run(request_for(fake, tmp_path))
    calls = [(r.method, r.path) for r in fake.requests]
    repo = f"/repos/{SAMPLE_REPO_NAME}"
    assert sorted(calls) == sorted(
        [("GET", repo)] * 2  # the CLI's preflight and the mining task
        + [("GET", f"{repo}/pulls")]  # one page holds every PR
        + [("POST", "/graphql")] * 2  # GitHub's links, then issues named by keywords
    )
    per_pull = len(calls) / len(DESIGNED_OUTCOMES)
    assert per_pull == pytest.approx(5 / 9)
    assert per_pull <= 3


def write_many_pulls(path: Path, count: int) -> dict[int, tuple[str, str]]:
    """A repository with ``count`` PRs merged by merge commits: number -> (head, merge)."""
    repo = git.Repo.init(path, initial_branch="main")
    history = History(repo)
    history.commit("Initial", {"pkg/__init__.py": "", "tests/__init__.py": ""})
    shas = {}
    for number in range(1, count + 1):
        history.branch(f"b{number}")
        head = history.commit(
            f"Change {number}",
            {f"pkg/m{number}.py": f"X = {number}\n", f"tests/test_m{number}.py": "X = 1\n"},
        )
        history.checkout("main")
        history.merge(f"b{number}", f"Merge pull request #{number} from dev/b{number}")
        repo.git.branch("-D", f"b{number}")
        shas[number] = (head, repo.head.commit.hexsha)
    return shas


@pytest.mark.slow
@pytest.mark.usefixtures("token_env")
def test_requests_per_merged_pull_at_scale(tmp_path: Path) -> None:
    """150 PRs: two pages, three GraphQL batches of links, one of keyword issues."""
    count = 150
    shas = write_many_pulls(tmp_path / "many", count)
    server = FakeGithub("acme/many", (tmp_path / "many").as_uri(), SAMPLE_TOKEN).start()
    try:
        for number, (head, merge_sha) in shas.items():
            moment = datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=number)
            server.add_pull(
                number,
                title=f"Change {number}",
                body=f"Fixes #{1000 + number}" if number % 3 == 1 else None,
                head_sha=head,
                base_sha=head,
                merge_commit_sha=merge_sha,
                created_at=moment - timedelta(hours=1),
                merged_at=moment,
            )
            linked = (number,) if number % 3 == 0 else ()
            server.add_issue(FakeIssue("acme/many", 1000 + number, "Bug", "Text."), linked)
        mined = run(request_for(server, tmp_path))
        assert len(mined.candidates) == count
        counted = {path: server.count(path) for path in ("/repos/acme/many/pulls", "/graphql", "/")}
    finally:
        server.stop()
    assert counted == {"/repos/acme/many/pulls": 2, "/graphql": 4, "/": 8}
    assert counted["/"] / count <= 3


@pytest.mark.usefixtures("token_env")
def test_rerun_after_completion_only_looks(fake: FakeGithub, tmp_path: Path) -> None:
    request = request_for(fake, tmp_path)
    run(request)
    cursor = read_cursor(request.layout(), request.repo)
    newest = max(
        datetime.fromisoformat(p["merged_at"])
        for p in fake.pulls.values()
        if p["merged_at"] and p["base"]["ref"] == "main"
    )
    assert cursor is not None and cursor.merged_through == newest
    shards = sorted(p.name for p in Path(request.out).rglob("*.parquet"))
    fake.requests.clear()
    again = run(request)
    assert again.candidates == [] and again.selected == 0
    assert [(r.method, r.path) for r in fake.requests] == [
        ("GET", f"/repos/{SAMPLE_REPO_NAME}"),  # the CLI's preflight
        ("GET", f"/repos/{SAMPLE_REPO_NAME}"),  # the mining task: clone URL, default branch
        ("GET", f"/repos/{SAMPLE_REPO_NAME}/pulls"),  # page 1: nothing merged after the cursor
    ]
    assert sorted(p.name for p in Path(request.out).rglob("*.parquet")) == shards


@pytest.mark.usefixtures("token_env")
def test_rerun_mines_only_what_was_merged_since(
    fake: FakeGithub, sample_copy: Path, tmp_path: Path
) -> None:
    request = request_for(fake, tmp_path)
    run(request)
    upstream = git.Repo(sample_copy)
    history = History(upstream)
    history.clock = upstream.head.commit.committed_datetime + timedelta(days=1)
    history.branch("late")
    head = history.commit(
        "Late fix", {"tinytext/late.py": "LATE = 1\n", "tests/test_late.py": "def test(): pass\n"}
    )
    history.checkout("main")
    history.merge("late", "Merge pull request #30 from dev/late")
    merge = upstream.head.commit
    merged_at = merge.committed_datetime.astimezone(UTC)
    fake.add_pull(
        30,
        title="Late fix",
        body="Fixes #11",
        head_sha=head,
        base_sha=merge.parents[0].hexsha,
        merge_commit_sha=merge.hexsha,
        created_at=merged_at - timedelta(minutes=1),
        merged_at=merged_at,
    )
    fake.requests.clear()
    again = run(request)
    assert [t.pull_number for t in again.candidates] == [30]
    assert again.candidates[0].referenced_issues == [11]
    assert fake.count("/graphql") == 2 and len(fake.requests) == 5
    cursor = read_cursor(request.layout(), request.repo)
    assert cursor is not None and cursor.merged_through == merged_at and cursor.pulls == [30]


@pytest.mark.usefixtures("token_env")
def test_windows_and_lists_leave_the_cursor_alone(fake: FakeGithub, tmp_path: Path) -> None:
    listed = request_for(fake, tmp_path, prs=[1, 2])
    assert sorted(t.pull_number for t in run(listed).candidates) == [1, 2]
    assert read_cursor(listed.layout(), listed.repo) is None
    limited = request_for(fake, tmp_path, limit=2)
    run(limited)
    assert read_cursor(limited.layout(), limited.repo) is None


@pytest.mark.usefixtures("token_env")
def test_an_unwritten_task_holds_the_cursor_back(fake: FakeGithub, tmp_path: Path) -> None:
    request = request_for(fake, tmp_path)
    check_github_source(request)
    mined: Mined = mine.fn(request)
    by_merge = sorted(mined.candidates, key=lambda t: mined.merged_at[t.pull_number])
    lost = by_merge[5]  # e.g. an infrastructure failure: never written
    write_tasks(request.layout(), [t for t in mined.candidates if t is not lost])
    advance_cursor(request, mined.merged_at, mined.candidates)
    cursor = read_cursor(request.layout(), request.repo)
    assert cursor is not None
    assert cursor.merged_through < mined.merged_at[lost.pull_number]
    fake.requests.clear()
    retried = run(request)
    assert [t.pull_number for t in retried.candidates] == [lost.pull_number]
    final = read_cursor(request.layout(), request.repo)
    assert final is not None and final.merged_through == max(mined.merged_at.values())


@pytest.mark.usefixtures("token_env")
def test_the_token_is_nowhere_in_the_output_or_the_cache(
    fake: FakeGithub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    request = request_for(fake, tmp_path)
    run(request)
    assert SAMPLE_TOKEN not in request.model_dump_json()
    assert SAMPLE_TOKEN not in repr(request)
    captured = capsys.readouterr()
    assert SAMPLE_TOKEN not in captured.out + captured.err
    for root in (Path(request.out), request.cache_dir):
        for path in root.rglob("*"):
            if path.is_file():
                assert SAMPLE_TOKEN.encode() not in path.read_bytes(), path
    assert os.environ["GITHUB_TOKEN"] == SAMPLE_TOKEN  # it was there to be leaked


@pytest.mark.usefixtures("token_env")
def test_the_mirror_is_fetched_incrementally(
    fake: FakeGithub, sample_copy: Path, tmp_path: Path
) -> None:
    request = request_for(fake, tmp_path)
    first = mine.fn(request)
    marker = Path(first.repo_path) / "taskforge-marker"
    marker.write_text("kept")  # a re-clone would lose it
    History(git.Repo(sample_copy)).commit("Later", {"LATER.md": "x\n"})
    second = mine.fn(request)
    assert second.repo_path == first.repo_path and marker.exists()
    assert git.Repo(second.repo_path).commit("main").summary == "Later"
