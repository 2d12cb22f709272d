"""Tasks with every field of the record filled, for dataset tests and the benchmark."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pipeline.core.records import (
    EnvAttempt,
    FlakyTest,
    ImageRef,
    InstallConfig,
    MergeKind,
    Outcome,
    ProblemSource,
    SourceKind,
    Task,
    TestRun,
    instance_id_for,
)

CRLF_PATCH = "diff --git a/x.py b/x.py\r\n--- a/x.py\r\n+++ b/x.py\r\n-old\r\n+new\r\n"
# Text that looks like another encoding or binary, all of it valid Unicode: Latin-1 and
# Windows-1252 look-alikes, a BOM, NUL and ESC, a lone CR, the replacement character, an emoji.
ODD_TEST_PATCH = (
    "diff --git a/tests/test_x.py b/tests/test_x.py\n"
    "+caf\u00e9 \u00ff\u00fe \x00 \x1b[31m \r \ufffd \ufeff \u20ac \U0001f600\n"
    "+name = 'M\u00c3\u00bcller'  # UTF-8 read as Latin-1\n"
)


def make_task(
    number: int, outcome: Outcome | None = Outcome.VERIFIED, repo: str = "o/n", **changes: Any
) -> Task:
    moment = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    task = Task(
        instance_id=instance_id_for(repo, number),
        repo=repo,
        base_commit="a" * 40,
        patch=CRLF_PATCH,
        test_patch=ODD_TEST_PATCH,
        problem_statement="Fix x\n\nDetails with [markup] and a\ttab",
        hints_text="see #3",
        created_at=moment,
        version="1.2",
        FAIL_TO_PASS=["tests/test_x.py::TestX::test_y[a b]", "tests/test_x.py::test_\u00e9"],
        PASS_TO_PASS=["tests/test_x.py::test_z", "tests/test_x.py::test_w[1-2]"],
        environment_setup_commit="c" * 40,
        pull_number=number,
        fix_commit="b" * 40,
        merge_kind=MergeKind.SQUASH,
        problem_source=ProblemSource.COMMIT_MESSAGE,
        referenced_issues=[3, 4],
        source_kind=SourceKind.BARE_MIRROR,
        pr_url=f"https://github.com/{repo}/pull/{number}",
        license="MIT",
        pipeline_version="0.1.0",
        mined_at=moment,
        test_files=["tests/test_x.py"],
        source_files=["x.py"],
        excluded_files=["CHANGES.md"],
        outcome=outcome,
        outcome_detail="" if outcome is Outcome.VERIFIED else "why it was rejected",
        image=ImageRef(tag=f"taskforge-env/{repo.replace('/', '__')}:abc", id="sha256:1"),
        instance_image=ImageRef(
            tag=f"taskforge-instance/{instance_id_for(repo, number).lower()}:k{number}",
            id="sha256:2",
            pull_ref=f"127.0.0.1:5000/tf/instance-{number}@sha256:{'d' * 64}",
            size_bytes=12345,
        ),
        install_config=InstallConfig(
            python="3.11", base_image="b", extras=["test"], exclude_newer=moment
        ),
        env_attempts=[EnvAttempt(python="3.12", succeeded=False, reason="no wheel")],
        runs=[
            TestRun(state="before", exit_code=1, duration_s=0.5, tests=3, peak_memory_bytes=2**20),
            TestRun(state="after", exit_code=0, duration_s=0.25, tests=3, repeat=1),
        ],
        flaky_tests=[FlakyTest(test="tests/test_x.py::test_flaky", flake_rate=0.25)],
    )
    return task.revised(**changes)
