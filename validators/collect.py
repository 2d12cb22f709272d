"""Check that an environment image can collect a repository's tests at a base commit.

Used by the environment fallback chain: an image that builds but cannot import what the tests
import (a missing extra, a too-new dependency) is not a working environment. The tests are
those the candidates touch that already exist at the base commit, collected with
``pytest --collect-only``; a collection error there is the environment's fault, not the task's.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import docker
import git

from pipeline.core.paths import is_test_module
from pipeline.core.records import ImageRef
from validators.language_runs import COLLECT as LANGUAGE_COLLECT
from validators.language_runs import (
    language_result,
    manifests_of,
    prepare_language_tests,
    runner_spec,
)
from validators.runner import PEAK_MARKER, run_tests
from validators.runners import RunnerSpec
from validators.sandbox import SandboxLimits, run_prepared
from validators.states import export_tree, python_path_for, tar_tree

MAX_FILES = 8
# the lines that name a build's failure, the most precise first: rustc and cargo, the Go
# compiler, javac through Maven, then Maven's own and a JavaScript runner's
ERROR_LINES = (
    re.compile(r"error(\[E\d+\])?: "),
    re.compile(r"\S+\.go:\d+:\d+: "),
    re.compile(r"\[ERROR\] \S+\.java:\[\d+"),
    re.compile(r"\[ERROR\] "),
    re.compile(r"(\w*Error:|FAIL) "),
)


def collection_problem(
    client: docker.DockerClient,
    repo: git.Repo,
    image: ImageRef,
    commit: str,
    test_files: list[str],
    limits: SandboxLimits,
    test_runner: str = "pytest",
) -> str | None:
    """None when the test files collect at ``commit`` in ``image``, else the reason; for a
    runner other than pytest, when they build and run and write a report."""
    with tempfile.TemporaryDirectory(prefix="taskforge-collect-") as work:
        tree = Path(work) / "repo"
        export_tree(repo, commit, tree)
        spec = runner_spec(test_runner)
        if spec is not None:
            return _language_problem(client, image, tree, commit, test_files, spec, limits)
        targets = [
            p for p in sorted(set(test_files)) if is_test_module(p) and (tree / p).is_file()
        ][:MAX_FILES]
        if not targets:
            return None
        run = run_tests(
            client,
            image.tag,
            tar_tree(tree),
            targets,
            python_path_for(tree),
            limits,
            extra_args=("--collect-only",),
        )
    if run.timed_out:
        return f"collecting {len(targets)} test files took over {limits.timeout_s} s"
    if run.exit_code in (0, 5):
        return None
    return f"tests do not collect at {commit[:10]}: {collection_error(run.output, run.exit_code)}"


def said_lines(output: str) -> list[str]:
    """The non-blank lines of a run's output, stripped, without our own markers."""
    return [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.startswith((PEAK_MARKER, "taskforge: "))
    ]


def collection_error(output: str, exit_code: int) -> str:
    """The most telling line of a failed collection: pytest's ``E`` line, else its summary."""
    lines = said_lines(output)
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:
        return errors[-1][:200]
    summary = [line for line in lines if line.startswith(("ERROR ", "FAILED ", "INTERNALERROR"))]
    if summary:
        return summary[-1][:200]
    return f"pytest exit code {exit_code}: {lines[-1][:160] if lines else 'no output'}"


def _language_problem(
    client: docker.DockerClient,
    image: ImageRef,
    tree: Path,
    commit: str,
    test_files: list[str],
    spec: RunnerSpec,
    limits: SandboxLimits,
) -> str | None:
    present = sorted({p for p in test_files if (tree / p).is_file()})
    targets = spec.targets(present, manifests_of(tree))
    if not targets.selection:
        return None
    container = prepare_language_tests(client, image.tag, tar_tree(tree), spec, targets, limits)
    run = run_prepared(container, LANGUAGE_COLLECT, limits)
    if run.timed_out:
        return f"running the tests at {commit[:10]} took over {limits.timeout_s} s"
    report = language_result(run, spec, targets).report
    said = first_error(run.output)
    if report is None:
        return f"tests at {commit[:10]} wrote no {spec.runner} report: {said}"
    if report.collection_errors and not report.statuses:
        units = ", ".join(report.collection_errors[:3])
        return f"tests do not build at {commit[:10]} ({units}): {said}"
    return None


def first_error(output: str) -> str:
    """What a build said first of its failure, by ``ERROR_LINES`` in turn, else its last
    line; never our own markers."""
    lines = said_lines(output)
    for pattern in ERROR_LINES:
        found = next((line for line in lines if pattern.match(line)), None)
        if found:
            return found[:160]
    return (lines[-1:] or ["no output"])[0][:160]
