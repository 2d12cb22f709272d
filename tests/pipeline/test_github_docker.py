"""`taskforge backfill OWNER/NAME` against the fake GitHub, validated in Docker like any source.

One story, three runs of the real CLI in a subprocess: the first is SIGKILLed (with its whole
process group) once its first shard is written; the second finishes the job; the third finds
nothing new and only looks. Then: every PR is in the dataset exactly once, the verified tasks
carry GitHub's problem statements, the rerun made only the requests needed to see there is
nothing new, and the token is nowhere — not in the output, the cache, the console, or the
environment image.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import polars as pl
import pytest

from dockerfiles.environment import Environment
from pipeline.backfill.cursor import read_cursor
from pipeline.dataset.storage import DatasetLayout
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME
from tests.fakes.github_server import FakeGithub
from tests.fakes.sample_github import SAMPLE_TOKEN, sample_github

pytestmark = pytest.mark.docker

TASKFORGE = [sys.executable, "-c", "from pipeline.cli.main import main; main()"]
ROOT = Path(__file__).resolve().parents[2]


def start(fake: FakeGithub, cwd: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env |= {"GITHUB_TOKEN": SAMPLE_TOKEN, "COLUMNS": "120", "PYTHONPATH": str(ROOT)}
    command = [
        *TASKFORGE,
        "backfill",
        SAMPLE_REPO_NAME,
        "--api-url",
        fake.api_url,
        "--out",
        "out",
        "--allow-no-issue",
    ]
    with (cwd / f"{name}.stdout").open("wb") as out, (cwd / f"{name}.stderr").open("wb") as err:
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True
        )


def finish(process: subprocess.Popen[bytes], cwd: Path, name: str) -> str:
    assert process.wait(timeout=900) == 0, (cwd / f"{name}.stderr").read_text()[-3000:]
    return (cwd / f"{name}.stdout").read_text() + (cwd / f"{name}.stderr").read_text()


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeGithub]:
    from pipeline.demo.sample_repo import write_sample_repo

    upstream = write_sample_repo(tmp_path_factory.mktemp("upstream") / "tinytext")
    server = sample_github(upstream)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def runs(
    fake: FakeGithub, sample_env: Environment, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, int, str]:
    """The killed run, the finishing run and the idle rerun; (cwd, rerun's requests, output)."""
    cwd = tmp_path_factory.mktemp("github-run")
    killed = start(fake, cwd, "killed")
    deadline = time.monotonic() + 600
    while not list((cwd / "out").glob("*/*.parquet")) and killed.poll() is None:
        assert time.monotonic() < deadline, "no shard written in time"
        time.sleep(0.2)
    assert killed.poll() is None, "the first run ended before it could be killed"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=60)
    assert read_cursor(layout_of(cwd), SAMPLE_REPO_NAME) is None  # nothing finished, no cursor
    written_before = all_rows(cwd / "out")["pull_number"].to_list()
    assert 0 < len(written_before) < len(DESIGNED_OUTCOMES)  # killed mid-way
    output = finish(start(fake, cwd, "finishing"), cwd, "finishing")
    assert "already in the output" in output  # the rerun skipped what the first one wrote
    before_rerun = len(fake.requests)
    output += finish(start(fake, cwd, "idle"), cwd, "idle")
    idle_requests = [(r.method, r.path) for r in fake.requests[before_rerun:]]
    assert idle_requests == [
        ("GET", f"/repos/{SAMPLE_REPO_NAME}"),  # the CLI's preflight
        # one page: nothing after the cursor, so the run stops before Prefect, mining and the
        # mirror's fetch (pipeline.backfill.up_to_date)
        ("GET", f"/repos/{SAMPLE_REPO_NAME}/pulls"),
    ]
    output += (cwd / "killed.stdout").read_text() + (cwd / "killed.stderr").read_text()
    return cwd, len(idle_requests), output


def layout_of(cwd: Path) -> DatasetLayout:
    """The run's dataset, its work folder where the CLI puts it from ``cwd`` (the default)."""
    return DatasetLayout(cwd / "out", cache_dir=cwd / "data" / "cache")


def all_rows(out: Path) -> pl.DataFrame:
    return pl.concat(
        [pl.read_parquet(p) for p in sorted(out.glob("*/*.parquet"))], how="diagonal_relaxed"
    )


def test_every_pull_is_written_exactly_once(runs: tuple[Path, int, str]) -> None:
    cwd, _, _ = runs
    rows = all_rows(cwd / "out")
    ids = rows["instance_id"].to_list()
    assert sorted(ids) == sorted(f"taskforge__tinytext-{n}" for n in DESIGNED_OUTCOMES)
    outcomes = dict(zip(rows["pull_number"], rows["outcome"], strict=True))
    assert outcomes == {n: o.value for n, o in DESIGNED_OUTCOMES.items()}
    cursor = read_cursor(layout_of(cwd), SAMPLE_REPO_NAME)
    assert cursor is not None and cursor.pulls == [9]  # the newest merge, fully handled


def test_verified_tasks_carry_githubs_problem_statements(runs: tuple[Path, int, str]) -> None:
    cwd, _, _ = runs
    verified = pl.read_parquet(cwd / "out" / "data" / "*.parquet").sort("pull_number")
    rows = {r["pull_number"]: r for r in verified.to_dicts()}
    assert sorted(rows) == [1, 2, 8, 9]
    assert {r["source_kind"] for r in rows.values()} == {"github_api"}
    assert rows[1]["problem_statement"].startswith("word_count counts empty strings\n")
    assert rows[1]["hints_text"] == "Probably split() without an argument."
    assert rows[1]["problem_source"] == "linked_issues" and rows[1]["referenced_issues"] == [11]
    assert rows[2]["referenced_issues"] == [12] and rows[8]["referenced_issues"] == [17]
    assert rows[9]["problem_source"] == "pr_description"
    assert rows[8]["pr_url"].endswith("/taskforge/tinytext/pull/8")
    assert rows[1]["FAIL_TO_PASS"] == [
        "tests/test_core.py::test_word_count_collapses_spaces",
        "tests/test_words.py::TestWordCount::test_counts[ lead-1]",
        "tests/test_words.py::TestWordCount::test_counts[a  b-2]",
    ]


def test_the_token_is_nowhere(runs: tuple[Path, int, str], engine: docker.DockerClient) -> None:
    cwd, _, output = runs
    assert "merged PRs selected" in output
    assert SAMPLE_TOKEN not in output
    for path in cwd.rglob("*"):  # the dataset; its work folder and the mirror in data/cache
        if path.is_file():
            assert SAMPLE_TOKEN.encode() not in path.read_bytes(), path
    tags = set(pl.read_parquet(cwd / "out" / "data" / "*.parquet")["image"].struct.field("tag"))
    for tag in tags:
        image = engine.images.get(tag)
        assert SAMPLE_TOKEN not in json.dumps(image.attrs)
        assert SAMPLE_TOKEN not in json.dumps(image.history())
