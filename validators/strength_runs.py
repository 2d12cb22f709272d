"""The strength check of a verified task: its wrong patches run in its image, once each.

Each wrong patch (``validators.wrong_patches``) becomes a tree on the host as the states do
(``validators.states``): the base commit's files, the test patch, then the wrong fix instead
of the fix; a wrong fix that does not apply is recorded as ``not_applied`` and never run. The
trees run through the validation's own ``TestRuns``, in fresh containers of the same image,
with the same runner, test files and PYTHONPATH as the *after* runs, each once (the first
repeat's order). The fates and the strength are graded by ``validators.strength``.

The cost stays bounded: at most ``MAX_HUNKS`` + ``MAX_MUTATIONS`` runs, each prepared while
the one before runs, and each with a time limit of ``TIMEOUT_FACTOR`` times the slowest
*after* run plus ``TIMEOUT_GRACE_S`` (never more than the validation's): a mutation that
loops forever costs that, not the whole limit. Such a kill is a catch. The check's wall
time is recorded (``strength_seconds``). An engine failure raises ``InfrastructureError``:
it is never a verdict.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

import docker
import git

from pipeline.core.languages import Language
from pipeline.core.records import ImageRef, RunState, Task, WrongPatch, WrongPatchFate
from validators.grading import RunResult
from validators.language_runs import manifests_of
from validators.sandbox import SandboxLimits, SandboxRun
from validators.states import (
    applies,
    apply_patch,
    python_path_for,
    tar_tree,
    test_targets,
    tree_before_fix,
)
from validators.strength import fate_of, graded
from validators.test_runs import PlannedRun, TestRuns
from validators.wrong_patches import WrongFix, wrong_fixes

TIMEOUT_FACTOR = 3
TIMEOUT_GRACE_S = 60


@dataclass(frozen=True)
class _WrongRun(PlannedRun):
    index: int  # of the wrong patch, in the order they were made
    before: Path  # base + test patch, which the wrong fix is applied to in a copy
    fix: WrongFix

    def archive(self) -> bytes:
        tree = self.before.with_name(f"wrong-{self.index}")
        shutil.copytree(self.before, tree, symlinks=True)
        try:
            apply_patch(tree, self.fix.patch, f"wrong patch {self.fix.name}")
            return tar_tree(tree)
        finally:
            shutil.rmtree(tree)


def measure_strength(
    task: Task,
    repo: git.Repo,
    client: docker.DockerClient,
    image: ImageRef,
    limits: SandboxLimits,
    test_runner: str = "pytest",
) -> Task:
    """The verified ``task`` with its strength: its wrong patches run against FAIL_TO_PASS."""
    started = time.monotonic()
    wrong = wrong_fixes(task.patch, task.instance_id, task.test_patch)
    fates: dict[int, tuple[WrongPatchFate, str]] = {}
    if not wrong:  # a fix of one hunk with nothing to mutate: nothing to run
        return task.with_strength(None, 0, 0, [], [], round(time.monotonic() - started, 3))
    with tree_before_fix(repo, task) as before:
        targets, python_path, manifests = _after_state(task, before)
        runs = TestRuns(
            client, image.tag, strength_limits(task, limits), test_runner, python_path, manifests
        )
        planned = []
        for index, fix in enumerate(wrong):
            problem = applies(before, fix.patch)
            if problem:
                fates[index] = (WrongPatchFate.NOT_APPLIED, problem)
            else:
                planned.append(_WrongRun(targets, 0, index, before, fix))

        def record(run: _WrongRun, finished: SandboxRun, result: RunResult) -> None:
            stopped = _stopped(finished, runs.limits)
            fates[run.index] = fate_of(result, task.FAIL_TO_PASS, stopped)

        runs.run_all(planned, record)
    found = graded(
        [
            WrongPatch(kind=w.kind, name=w.name, fate=fates[i][0], detail=fates[i][1])
            for i, w in enumerate(wrong)
        ]
    )
    return task.with_strength(
        found.strength,
        found.tried,
        found.caught,
        found.uncovered_hunks,
        found.wrong_patches,
        round(time.monotonic() - started, 3),
    )


def strength_limits(task: Task, limits: SandboxLimits) -> SandboxLimits:
    """The validation's limits, with the time limit the module states."""
    after = [run.duration_s for run in task.runs if run.state is RunState.AFTER]
    if not after:
        return limits
    bound = math.ceil(TIMEOUT_FACTOR * max(after)) + TIMEOUT_GRACE_S
    return replace(limits, timeout_s=min(limits.timeout_s, bound))


def _after_state(task: Task, before: Path) -> tuple[list[str], str, dict[str, str]]:
    """The test files, PYTHONPATH and manifests of the *after* state, as the validation had
    them (``validators.states.prepare_states``)."""
    after = before.with_name("after")
    shutil.copytree(before, after, symlinks=True)
    try:
        apply_patch(after, task.patch, "fix patch")
        manifests = manifests_of(after) if task.language is not Language.PYTHON else {}
        return test_targets(task, after), python_path_for(after), manifests
    finally:
        shutil.rmtree(after)


def _stopped(run: SandboxRun, limits: SandboxLimits) -> str:
    """How a killed run ended ("" for one that ended by itself)."""
    if run.timed_out:
        return f"over {limits.timeout_s} s, killed"
    if run.oom_killed:
        return f"out of memory (limit {limits.memory})"
    return ""
