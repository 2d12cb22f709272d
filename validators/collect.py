"""Check that an environment image can collect a repository's tests at a base commit.

Used by the environment fallback chain: an image that builds but cannot import what the tests
import (a missing extra, a too-new dependency) is not a working environment. The tests are
those the candidates touch that already exist at the base commit, collected with
``pytest --collect-only``; a collection error there is the environment's fault, not the task's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker
import git

from pipeline.core.paths import is_test_module
from pipeline.core.records import ImageRef
from validators.runner import PEAK_MARKER, run_tests
from validators.sandbox import SandboxLimits
from validators.states import export_tree, python_path_for, tar_tree

MAX_FILES = 8


def collection_problem(
    client: docker.DockerClient,
    repo: git.Repo,
    image: ImageRef,
    commit: str,
    test_files: list[str],
    limits: SandboxLimits,
) -> str | None:
    """None when the test files collect at ``commit`` in ``image``, else the reason."""
    with tempfile.TemporaryDirectory(prefix="taskforge-collect-") as work:
        tree = Path(work) / "repo"
        export_tree(repo, commit, tree)
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


def collection_error(output: str, exit_code: int) -> str:
    """The most telling line of a failed collection: pytest's ``E`` line, else its summary."""
    lines = [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.startswith((PEAK_MARKER, "taskforge: "))
    ]
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    if errors:
        return errors[-1][:200]
    summary = [line for line in lines if line.startswith(("ERROR ", "FAILED ", "INTERNALERROR"))]
    if summary:
        return summary[-1][:200]
    return f"pytest exit code {exit_code}: {lines[-1][:160] if lines else 'no output'}"
