"""Validate one candidate: prepare its two states, run their tests in the sandbox, grade.

The states are built on the host from the git objects — the base commit's tree (no ``.git``,
so nothing newer than the base commit can leak into the container), then the test patch
(*before*), then the fix patch as well (*after*) — and copied into a fresh container of the
repository's environment image for each run. The tests run are the test modules the test
patch touches, with pytest writing JUnit XML; grading is ``validators.grading``.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

import docker
import git

from extractors.paths import is_test_module
from pipeline.records import ImageRef, Outcome, Task, TestRun
from validators.grading import RunResult, grade
from validators.junit import parse_report
from validators.sandbox import SandboxLimits, SandboxRun, run_sandboxed

REPORT_PATH = "/tmp/taskforge-report.xml"
# The image holds the dependencies; the project itself is installed from the task's own tree.
# Where that fails (an unusual build backend), PYTHONPATH still puts the tree first.
REINSTALL = (
    "uv pip install --quiet --offline --no-deps --no-build-isolation -e . "
    ">/tmp/taskforge-install.log 2>&1 "
    "|| echo 'taskforge: project not reinstalled; running from PYTHONPATH' >&2"
)
SANDBOX_UID = 1000


class PatchDoesNotApply(Exception):
    pass


def validate_candidate(
    task: Task,
    repo: git.Repo,
    client: docker.DockerClient,
    image: ImageRef,
    limits: SandboxLimits,
) -> Task:
    """The task with its verdict, test lists and runs filled in."""
    task = task.model_copy(update={"image": image})
    try:
        before_tree, after_tree, targets, python_path = prepare_states(repo, task)
    except PatchDoesNotApply as error:
        return _rejected(task, Outcome.PATCH_DOES_NOT_APPLY, str(error))
    if not targets:
        return _rejected(task, Outcome.TESTS_NOT_COLLECTED, "the test patch leaves no test file")
    runs: list[tuple[SandboxRun, RunResult]] = []
    for state, tree in (("before", before_tree), ("after", after_tree)):
        sandbox_run = run_tests(client, image.tag, tree, targets, python_path, limits)
        result = _run_result(sandbox_run, targets)
        runs.append((sandbox_run, result))
        task.runs = [*task.runs, _test_run(state, sandbox_run, result)]
        if sandbox_run.timed_out:
            return _rejected(task, Outcome.TIMEOUT, f"{state} the fix: over {limits.timeout_s} s")
    verdict = grade(runs[0][1], runs[1][1])
    return task.model_copy(
        update={
            "outcome": verdict.outcome,
            "outcome_detail": verdict.detail,
            "FAIL_TO_PASS": verdict.fail_to_pass,
            "PASS_TO_PASS": verdict.pass_to_pass,
            "PASS_TO_FAIL": verdict.pass_to_fail,
        }
    )


def export_tree(repo: git.Repo, commit: str, tree: Path) -> None:
    """The files of ``commit`` under ``tree``, without any git history."""
    tree.mkdir()
    archive = io.BytesIO()
    repo.archive(archive, commit, format="tar")
    archive.seek(0)
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(tree, filter="data")


def python_path_for(tree: Path) -> str:
    return ":".join(["/repo/src"] * (tree / "src").is_dir() + ["/repo"])


def prepare_states(repo: git.Repo, task: Task) -> tuple[bytes, bytes, list[str], str]:
    """Tars of the before and after trees, the test targets, and the PYTHONPATH to use."""
    with tempfile.TemporaryDirectory(prefix="taskforge-tree-") as work:
        tree = Path(work) / "repo"
        export_tree(repo, task.base_commit, tree)
        _apply(tree, task.test_patch, "test patch")
        before = tar_tree(tree)
        _apply(tree, task.patch, "fix patch")
        after = tar_tree(tree)
        targets = test_targets(task, tree)
        python_path = python_path_for(tree)
    return before, after, targets, python_path


def test_targets(task: Task, tree: Path) -> list[str]:
    """The test modules the test patch touches that exist after it; else their folders."""
    present = [p for p in task.test_files if (tree / p).is_file()]
    modules = [p for p in present if is_test_module(p)]
    if modules:
        return modules
    return sorted({str(Path(p).parent) for p in present if (tree / p).parent.is_dir()})


def run_tests(
    client: docker.DockerClient,
    image: str,
    tree: bytes,
    targets: list[str],
    python_path: str,
    limits: SandboxLimits,
    extra_args: tuple[str, ...] = (),
) -> SandboxRun:
    """Reinstall the project from the tree (no dependencies, offline), then run pytest."""
    pytest_args = [
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        f"--junitxml={REPORT_PATH}",
        "--continue-on-collection-errors",
        "-q",
        *extra_args,
        "--",
        *targets,
    ]
    command = ["sh", "-c", f'{REINSTALL}; exec python -m pytest "$@"', "pytest", *pytest_args]
    environment = {"PYTHONPATH": python_path, "HOME": "/home/taskforge"}
    return run_sandboxed(client, image, tree, command, environment, [REPORT_PATH], limits)


def tar_tree(tree: Path) -> bytes:
    """A tar of ``tree`` as ``repo/...``, owned by the sandbox user."""

    def owned(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = SANDBOX_UID
        info.uname = info.gname = "taskforge"
        return info

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(tree, arcname="repo", filter=owned)
    return buffer.getvalue()


def _apply(tree: Path, patch: str, name: str) -> None:
    if not patch:
        return
    result = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", "-"],
        cwd=tree,
        input=patch.encode(),
        capture_output=True,
        check=False,
        env={**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)},  # not in any repo
    )
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise PatchDoesNotApply(f"{name}: {message[0] if message else 'git apply failed'}")


def _run_result(run: SandboxRun, targets: list[str]) -> RunResult:
    xml = run.files.get(REPORT_PATH)
    if xml is None:
        return RunResult(run.exit_code, None)
    try:
        return RunResult(run.exit_code, parse_report(xml, targets))
    except ValueError:
        return RunResult(run.exit_code, None)


def _test_run(state: str, run: SandboxRun, result: RunResult) -> TestRun:
    report = result.report
    return TestRun(
        state=state,
        exit_code=run.exit_code,
        duration_s=round(run.duration_s, 3),
        tests=len(report.statuses) if report else 0,
        collection_errors=report.collection_errors if report else [],
    )


def _rejected(task: Task, outcome: Outcome, detail: str) -> Task:
    return task.model_copy(update={"outcome": outcome, "outcome_detail": detail})
