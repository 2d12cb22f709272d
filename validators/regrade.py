"""Grade a source tree against a task: one path for ``taskforge evaluate`` and RL environments.

The tree holds a candidate change: a model's patch applied to the base commit
(``pipeline.consumers.evaluate``), or whatever an agent left in its container
(``pipeline.consumers.rollouts``).
``grade_tree``:

1. resets every file the test patch touches (both sides of a rename) to the base commit —
   deleted where the base commit lacks it — and applies the test patch: a change that edits or
   adds those tests cannot make them pass;
2. runs the test files FAIL_TO_PASS and PASS_TO_PASS live in, in a fresh sandbox container of
   the task's environment image (``validators.runner.run_tests``: the limits and hardening of
   validation);
3. gives each of those node ids its status (``None``: not in the report) and decides with the
   pure ``judge``: resolved iff every one passed in a run whose exit code agrees with its
   report (``validators.grading.run_problem``).

Invariants: the tree is changed in place (callers pass a scratch copy); the run is tried up
to ``attempts`` times in all (``attempts - 1`` retries after an engine failure, each pause
longer than the last), and a failure of the last try is raised as ``InfrastructureError``,
never a resolution;
``Resolution.INFRASTRUCTURE`` is only ever recorded by callers that catch it.
"""

from __future__ import annotations

import enum
import io
import shutil
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import docker
import git
from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from pipeline.core.git_trees import archive_tree
from pipeline.core.images import ensure_image
from pipeline.core.records import Task, TestStatus
from validators.grading import RunResult, run_problem, status_in
from validators.infra import InfrastructureError
from validators.runner import run_result, run_tests
from validators.sandbox import SandboxLimits, SandboxRun
from validators.states import PatchDoesNotApply, apply_patch, python_path_for, tar_tree


class Resolution(enum.StrEnum):
    """Why a graded change is resolved or not."""

    RESOLVED = "resolved"
    PATCH_DOES_NOT_APPLY = "patch_does_not_apply"  # the model's patch, or the test patch over it
    TESTS_FAIL = "tests_fail"  # a FAIL_TO_PASS or PASS_TO_PASS test did not pass
    TIMEOUT = "timeout"  # the test run exceeded its wall-clock limit
    INFRASTRUCTURE = "infrastructure"  # still failing after retries; never the model's fault


@dataclass(frozen=True)
class BaseCommit:
    """Where the base commit's files come from: a git repository (bare or not) and a commit."""

    repo_path: Path
    commit: str


@dataclass(frozen=True)
class Grade:
    """The verdict on one tree, with the status of every FAIL_TO_PASS and PASS_TO_PASS test."""

    resolution: Resolution
    detail: str
    fail_to_pass: dict[str, TestStatus | None] = field(default_factory=dict)
    pass_to_pass: dict[str, TestStatus | None] = field(default_factory=dict)
    duration_s: float = 0.0  # of the test run
    attempts: int = 0  # test runs started, infrastructure retries included
    output: str = ""  # the test run's output (capped by the sandbox)

    @property
    def resolved(self) -> bool:
        """Whether every FAIL_TO_PASS and PASS_TO_PASS test passed."""
        return self.resolution is Resolution.RESOLVED

    @property
    def reward(self) -> int:
        """The RL reward: 1 when resolved, else 0."""
        return int(self.resolved)


def unresolved(task: Task, resolution: Resolution, detail: str, attempts: int = 0) -> Grade:
    """A grade decided before any test ran: every test without a status."""
    return Grade(
        resolution,
        detail,
        dict.fromkeys(task.FAIL_TO_PASS),
        dict.fromkeys(task.PASS_TO_PASS),
        attempts=attempts,
    )


def grade_tree(
    client: docker.DockerClient,
    task: Task,
    tree: Path,
    base: BaseCommit,
    limits: SandboxLimits,
    attempts: int = 3,
    retry_pause_s: float = 5.0,
) -> Grade:
    """Reset the test patch's files, apply it, run the graded tests, and judge (see above)."""
    if task.image is None:
        raise ValueError(f"task {task.instance_id} has no environment image; is it verified?")
    reset_to_base(tree, base, paths_touched(task.test_patch))
    try:
        apply_patch(tree, task.test_patch, "test patch")
    except PatchDoesNotApply as error:
        return unresolved(task, Resolution.PATCH_DOES_NOT_APPLY, str(error))
    targets = graded_files(task)
    archive, python_path = tar_tree(tree), python_path_for(tree)
    image = ensure_image(client, task.image)  # pulled by digest where this engine lacks it
    for attempt in range(1, attempts + 1):
        try:
            run = run_tests(client, image, archive, targets, python_path, limits)
        except InfrastructureError:
            if attempt == attempts:
                raise
            time.sleep(retry_pause_s * attempt)
            continue
        grade = judge(task, run, run_result(run, targets), limits)
        return Grade(
            grade.resolution,
            grade.detail,
            grade.fail_to_pass,
            grade.pass_to_pass,
            round(run.duration_s, 3),
            attempt,
            run.output,
        )
    raise AssertionError("unreachable: the last attempt returns or raises")


def judge(task: Task, run: SandboxRun, result: RunResult, limits: SandboxLimits) -> Grade:
    """The verdict on one test run of the graded files: pure, no Docker."""
    if run.timed_out:
        return unresolved(task, Resolution.TIMEOUT, f"the test run took over {limits.timeout_s} s")
    report = result.report

    def statuses(tests: list[str]) -> dict[str, TestStatus | None]:
        return {t: status_in(report, t) if report is not None else None for t in tests}

    fail_to_pass, pass_to_pass = statuses(task.FAIL_TO_PASS), statuses(task.PASS_TO_PASS)
    failing = [t for t, s in {**fail_to_pass, **pass_to_pass}.items() if s is not TestStatus.PASSED]
    problem = run_problem(result)
    if run.oom_killed:
        detail = f"the test run ran out of memory (limit {limits.memory})"
    elif failing:
        shown = ", ".join(
            f"{t} ({fail_to_pass.get(t, pass_to_pass.get(t)) or 'missing'})" for t in failing[:3]
        )
        detail = f"{len(failing)} of {len(fail_to_pass) + len(pass_to_pass)} tests fail: {shown}"
    elif problem is not None:
        detail = f"the test run cannot be trusted: {problem}"
    else:
        detail = f"{len(fail_to_pass)} FAIL_TO_PASS and {len(pass_to_pass)} PASS_TO_PASS pass"
        return Grade(Resolution.RESOLVED, detail, fail_to_pass, pass_to_pass)
    return Grade(Resolution.TESTS_FAIL, detail, fail_to_pass, pass_to_pass)


def graded_files(task: Task) -> list[str]:
    """The test files FAIL_TO_PASS and PASS_TO_PASS live in, in a stable order."""
    return sorted({test.split("::", 1)[0] for test in [*task.FAIL_TO_PASS, *task.PASS_TO_PASS]})


def paths_touched(test_patch: str) -> list[str]:
    """Every path the test patch touches: both sides of a rename, added and deleted files."""
    if not test_patch.strip():
        return []
    try:
        files = PatchSet(test_patch)
    except UnidiffParseError as error:
        raise PatchDoesNotApply(f"test patch: not a unified diff ({error})") from None
    paths = set()
    for patched in files:
        for name in (patched.source_file, patched.target_file):
            if name and name != "/dev/null":
                paths.add(name.split("/", 1)[1] if name[:2] in ("a/", "b/") else name)
    return sorted(paths)


def reset_to_base(tree: Path, base: BaseCommit, paths: list[str]) -> None:
    """Put ``paths`` back as the base commit has them: its version, or absent."""
    safe = [p for p in paths if _inside(p)]
    for path in safe:
        _clear(tree, PurePosixPath(path))
    if not safe:
        return
    archive = io.BytesIO()
    repo = git.Repo(base.repo_path)
    try:
        with repo.git.custom_environment(GIT_LITERAL_PATHSPECS="1"):  # a path is never a glob
            listed = repo.git.ls_tree("-r", "-z", "--name-only", base.commit, "--", *safe)
            present = sorted(set(listed.split("\0")) & set(safe))
            if not present:
                return
            archive_tree(repo, base.commit, archive, present)
    finally:
        repo.close()
    archive.seek(0)
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(tree, filter="data")


def _inside(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts


def _clear(tree: Path, path: PurePosixPath) -> None:
    """Remove ``path`` and any symlink or file standing where one of its folders should be."""
    current = tree
    for part in path.parts:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
            return
        if not current.exists():
            return
    shutil.rmtree(current)  # the path is a folder in this tree: the base has a file there
