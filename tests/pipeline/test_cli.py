"""Bad input: one clear line on stderr and a non-zero exit, before any work starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TASKFORGE = [sys.executable, "-c", "from pipeline.cli.main import main; main()"]


def taskforge(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TASKFORGE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], text: str, code: int) -> None:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and text in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_path_that_is_not_a_git_repository(tmp_path: Path) -> None:
    result = taskforge("backfill", str(tmp_path), "--repo", "o/n", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "is not a git repository", 2)


def test_path_that_does_not_exist(tmp_path: Path) -> None:
    result = taskforge(
        "backfill", str(tmp_path / "nope"), "--repo", "o/n", "--out", str(tmp_path / "o")
    )
    assert_one_line_error(result, "does not exist", 2)


def test_no_listed_pull_in_history(sample_repo_path: Path, tmp_path: Path) -> None:
    result = taskforge(
        "backfill",
        str(sample_repo_path),
        "--repo",
        "o/n",
        "--prs",
        "98,99",
        "--out",
        str(tmp_path / "o"),
    )
    assert_one_line_error(result, "none of the listed PRs can be mined from", 2)
    assert "#98: no merge of #98 in the history of main; #99: no merge of #99" in result.stderr
    assert not list((tmp_path / "o").rglob("*.parquet"))


def test_output_folder_is_a_file(sample_repo_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.parquet"
    target.write_text("keep me")
    result = taskforge("backfill", str(sample_repo_path), "--repo", "o/n", "--out", str(target))
    assert_one_line_error(result, "is a file", 2)
    assert target.read_text() == "keep me"


def test_docker_not_reachable(sample_repo_path: Path, tmp_path: Path) -> None:
    result = taskforge(
        "backfill",
        str(sample_repo_path),
        "--repo",
        "o/n",
        "--out",
        str(tmp_path / "o"),
        env={"DOCKER_HOST": f"unix://{tmp_path}/no.sock"},
    )
    assert_one_line_error(result, "Docker is not reachable", 3)


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--repo", "not-a-name"], "OWNER/NAME"),
        (["--prs", "1,x"], "--prs takes numbers"),
        (["--since", "yesterday"], "--since takes an ISO date"),
    ],
)
def test_bad_options(sample_repo_path: Path, tmp_path: Path, args: list[str], text: str) -> None:
    base = ["backfill", str(sample_repo_path), "--out", str(tmp_path / "o")]
    if "--repo" not in args:
        base += ["--repo", "o/n"]
    assert_one_line_error(taskforge(*base, *args), text, 2)


def test_the_summary_says_where_the_output_and_the_logs_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline.backfill.request import BackfillSummary
    from pipeline.cli.console import render_summary

    logs = tmp_path / "a-rather-long-folder-name-for-the-work-folder" / "logs"
    render_summary(BackfillSummary(repo="o/n", out=tmp_path / "out", logs_dir=logs))
    printed = capsys.readouterr().out
    assert f"output: {(tmp_path / 'out').resolve()}" in printed.replace("\n", "")
    assert f"logs: {logs.resolve()}" in printed.splitlines()  # one line, however long


WITHOUT = (
    "import sys\n"
    "sys.modules[{module!r}] = None  # as if the extra were not installed\n"
    "from pipeline.cli.main import main\n"
    "main()\n"
)


def without(module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT.format(module=module), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


@pytest.mark.parametrize("runner", ["dask", "dask://127.0.0.1:8786"])
def test_a_dask_runner_without_the_dask_extra(
    sample_repo_path: Path, tmp_path: Path, runner: str
) -> None:
    out = tmp_path / "o"
    result = without(
        "prefect_dask", "backfill", str(sample_repo_path), "--repo", "o/n", "--out", str(out),
        "--task-runner", runner, PREFECT_API_URL="",
    )  # fmt: skip
    assert_one_line_error(result, "pip install 'taskforge[dask]'", 2)
    assert f"--task-runner {runner} needs prefect-dask" in result.stderr
    assert not out.exists()  # before anything is written (and before Prefect starts)


def test_deploy_with_an_image_without_the_docker_extra() -> None:
    result = without("prefect_docker", "deploy", "--pool", "p", "--image", "tf:1")
    assert_one_line_error(result, "pip install 'taskforge[docker]'", 2)


def test_a_bad_memory_limit(sample_repo_path: Path, tmp_path: Path) -> None:
    base = ["backfill", str(sample_repo_path), "--repo", "o/n", "--out", str(tmp_path / "o")]
    assert_one_line_error(taskforge(*base, "--memory", "lots"), "--memory takes a size", 2)
