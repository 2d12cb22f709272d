"""Benchmark of the strength check: its extra wall time per verified task, as a ratio of the
validation's; figures, never timed asserts.

Each verified task of the sample (Python) and of the strength tests' generated repository
(``tests.validators.strength_repo``) is validated and then measured in the same engine and
image, one after the other, and both wall times are taken; the ratio is their sums' quotient.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker
import git
import pytest

from dockerfiles.environment import prepare_environment
from extractors.candidates import build_candidates
from extractors.git_history import find_merged_pulls
from pipeline.core.engine import docker_client
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, write_sample_repo
from tests.validators.strength_repo import REPO_NAME, write_strength_repo
from validators.sandbox import SandboxLimits
from validators.strength_runs import measure_strength
from validators.validate import validate_candidate

pytestmark = pytest.mark.docker
LIMITS = SandboxLimits()  # the pipeline's


def timed(client: docker.DockerClient, repo: git.Repo, name: str, logs: Path) -> dict[str, float]:
    """Validation and strength seconds summed over the verified tasks of ``repo``."""
    env = prepare_environment(client, repo, name, repo.head.commit.hexsha, logs)
    validation = strength = 0.0
    verified = tried = 0
    for candidate in build_candidates(repo, name, find_merged_pulls(repo, "main")):
        if candidate.decided:
            continue
        started = time.monotonic()
        task = validate_candidate(candidate, repo, client, env.image, LIMITS)
        if not task.verified:
            continue
        validation += time.monotonic() - started
        started = time.monotonic()
        task = measure_strength(task, repo, client, env.image, LIMITS, env.config.test_runner)
        strength += time.monotonic() - started
        verified += 1
        tried += task.strength_tried
    return {
        "verified": verified,
        "wrong_patches_per_task": round(tried / max(1, verified), 1),
        "validation_s_per_task": round(validation / max(1, verified), 2),
        "strength_s_per_task": round(strength / max(1, verified), 2),
        "ratio": round(strength / validation, 2) if validation else float("nan"),
    }


@pytest.mark.parametrize("sample", ["sample", "shapes"])
def test_strength_cost(figures: dict[str, Any], tmp_path: Path, sample: str) -> None:
    if sample == "sample":
        repo, name = git.Repo(write_sample_repo(tmp_path / "tinytext")), SAMPLE_REPO_NAME
    else:
        repo, name = write_strength_repo(tmp_path / "shapes"), REPO_NAME
    measured = timed(docker_client(), repo, name, tmp_path / "logs")
    print(f"\nstrength check, {sample}: {measured}")
    figures[f"strength_overhead_{sample}"] = measured["ratio"]
    figures[f"{sample}_strength_s_per_task"] = measured["strength_s_per_task"]
    figures[f"{sample}_wrong_patches_per_task"] = measured["wrong_patches_per_task"]
