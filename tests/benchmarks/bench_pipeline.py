"""Benchmarks of the whole pipeline against its physical limit; figures, never timed asserts.

- validation overhead: a backfill's wall time per validated task (one worker, images warm) ÷
  the raw cost of the same test commands run with ``docker exec`` in one warm container, for
  the sample (Python), each language's generated repository and a real repository;
- image economy (real repository): images built ÷ distinct dependency fingerprints, and image
  bytes per verified task (layers counted once however many images share them);
- rerun cost: a second identical backfill ÷ the first, with the containers it created (image
  build steps and test runs) counted from the engine's event stream;
- nothing-new cost (sample): a rerun of a finished backfill, which stops before Prefect
  (``pipeline.backfill.up_to_date``), ÷ the first backfill into a fresh output;
- mining: whole-ancestry mining ÷ ``git log -p`` (first-parent mining ÷ ``git log
  --first-parent -p`` beside it);
- throughput: verified tasks per hour.

The sample repository is always measured; a real one when ``--bench-repo`` names a clone.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docker
import git
import polars as pl
import pytest

from extractors.candidates import build_candidates
from extractors.git_history import find_merged_pulls, target_branch
from pipeline.core.engine import docker_client
from pipeline.core.records import Task
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME, write_sample_repo
from tests import taskforge_cli
from tests.pipeline.language_repos import SAMPLES, write_language_repo
from validators.language_runs import language_command, runner_spec
from validators.runner import pytest_command, run_environment
from validators.sandbox import SandboxLimits
from validators.states import prepare_states
from validators.validate import Repeats

pytestmark = pytest.mark.docker
LIMITS = SandboxLimits()  # the pipeline's, for the raw runs too


def work_of(out: Path) -> Path:
    """The work folder the benchmark gives the dataset ``out`` (its logs, results, manifest)."""
    return out.with_name(f"{out.name}-work")


def backfill(source: Path, repo: str, out: Path, *args: str) -> float:
    started = time.monotonic()
    result = taskforge_cli.run(
        "backfill",
        str(source),
        "--repo",
        repo,
        "--out",
        str(out),
        "--work-dir",
        str(work_of(out)),
        *args,
        timeout=7200,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return time.monotonic() - started


def tasks_of(out: Path) -> list[Task]:
    frames = [
        pl.read_parquet(p) for p in [*out.glob("data/*.parquet"), *out.glob("rejected/*.parquet")]
    ]
    return [Task.model_validate(row) for frame in frames for row in frame.to_dicts()]


def validated(tasks: list[Task]) -> list[Task]:
    return [t for t in tasks if t.runs]


def raw_cost(client: docker.DockerClient, repo: git.Repo, tasks: list[Task]) -> float:
    """Seconds the same test commands take with ``docker exec`` in one warm container.

    The container has the CPU and memory limits and the path (``/repo``) of the pipeline's
    runs, so a build cache keyed by path (Go's, cargo's) serves both alike; each run's tree
    replaces the last.
    """
    repeats, total = Repeats(), 0.0
    for task in tasks:
        assert task.image is not None and task.install_config is not None
        spec = runner_spec(task.install_config.test_runner)
        states = prepare_states(repo, task)
        box = client.containers.run(
            task.image.tag,
            ["sleep", "infinity"],
            detach=True,
            remove=True,
            network_mode="none",
            mem_limit=LIMITS.memory,
            nano_cpus=int(LIMITS.cpus * 1e9),
        )
        try:
            plan = [
                (states.base, states.base_targets, 1 if states.base_targets else 0),
                (states.before, states.targets, repeats.before),
                (states.after, states.targets, repeats.after),
            ]
            for tree, targets, count in plan:
                box.exec_run(["rm", "-rf", "/repo"], user="root")
                box.put_archive("/", tree)
                for repeat in range(count):
                    if spec is None:
                        command = pytest_command(targets, repeat=repeat)
                        environment = run_environment(states.python_path, repeat)
                    else:
                        selection = spec.targets(targets, states.manifests)
                        command = language_command(spec, selection, repeat)
                        environment = {"HOME": "/home/taskforge", "CI": "true"}
                    started = time.monotonic()
                    box.exec_run(command, workdir="/repo", environment=environment)
                    total += time.monotonic() - started
        finally:
            box.kill()
    return total


def overhead(
    source: Path, repo_name: str, out: Path, extra: tuple[str, ...], warm: bool = False
) -> dict[str, float]:
    """Pipeline per validated task (one worker, warm images) ÷ raw per validated task.

    ``warm`` says the images are built already (by the backfill measured before); otherwise a
    first backfill builds them.
    """
    if not warm:
        backfill(source, repo_name, out / "warm", *extra)  # builds what is missing
    wall = backfill(source, repo_name, out / "timed", "--workers", "1", *extra)
    done = validated(tasks_of(out / "timed"))
    # every validated task, not a sample of them: test costs vary tenfold between PRs
    raw = raw_cost(docker_client(), git.Repo(source), done) / max(1, len(done))
    per_task = wall / max(1, len(done))
    return {
        "pipeline_s_per_task": round(per_task, 2),
        "raw_s_per_task": round(raw, 2),
        "ratio": round(per_task / raw, 2) if raw else float("nan"),
        "verified_per_hour": round(
            sum(t.verified for t in tasks_of(out / "timed")) / (wall / 3600), 1
        ),
    }


def test_sample(figures: dict[str, Any], tmp_path: Path) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    measured = overhead(source, SAMPLE_REPO_NAME, tmp_path, ())
    print(f"\nsample: {measured}")
    figures["validation_overhead_sample"] = measured["ratio"]
    figures["sample_pipeline_s_per_task"] = measured["pipeline_s_per_task"]
    figures["sample_raw_s_per_task"] = measured["raw_s_per_task"]
    figures["verified_per_hour_sample"] = measured["verified_per_hour"]


@pytest.mark.parametrize("language", sorted(k for k, s in SAMPLES.items() if k == s.language))
def test_language(figures: dict[str, Any], tmp_path: Path, language: str) -> None:
    """The overhead of each language's runs, on the generated repository its Docker test uses
    (``tests.pipeline.language_repos``): a fix PR and a refactor PR, both validated."""
    source = write_language_repo(tmp_path / "calc", SAMPLES[language])
    measured = overhead(source, f"example/calc-{language}", tmp_path, ())
    print(f"\n{language}: {measured}")
    figures[f"validation_overhead_{language}"] = measured["ratio"]
    figures[f"{language}_pipeline_s_per_task"] = measured["pipeline_s_per_task"]
    figures[f"{language}_raw_s_per_task"] = measured["raw_s_per_task"]


def rerun(source: Path, out: Path) -> tuple[float, int]:
    """A backfill of the sample into ``out``: its wall time, and its process id."""
    started = time.monotonic()
    args = ["--repo", SAMPLE_REPO_NAME, "--out", str(out), "--work-dir", str(work_of(out))]
    run = taskforge_cli.start("backfill", str(source), *args)
    _, stderr = run.communicate(timeout=600)
    assert run.returncode == 0, stderr[-3000:]
    return time.monotonic() - started, run.pid


def test_nothing_new(figures: dict[str, Any], tmp_path: Path) -> None:
    """A finished backfill of the sample run again: its wall time ÷ the first run's.

    Three reruns; the ratio takes their median (the first, right after the first run, is
    reported beside it). Their test containers are counted by the label of their process, so
    another job's on a shared engine are not.
    """
    source = write_sample_repo(tmp_path / "tinytext")
    out = tmp_path / "nothing-new"
    first = backfill(source, SAMPLE_REPO_NAME, out)
    since = datetime.now(UTC)
    reruns = [rerun(source, out) for _ in range(3)]
    seconds = [wall for wall, _pid in reruns]
    median = sorted(seconds)[1]
    print(f"\nnothing new: first {first:.1f} s, reruns {', '.join(f'{r:.2f}' for r in seconds)} s")
    figures["nothing_new_first_s"] = round(first, 1)
    figures["nothing_new_rerun_s"] = round(median, 2)
    figures["nothing_new_first_rerun_s"] = round(seconds[0], 2)
    figures["nothing_new_ratio"] = round(median / first, 3)
    figures["nothing_new_containers_created"] = sum(
        containers_created(docker_client(), since, f"taskforge.pid={pid}") for _, pid in reruns
    )


def image_bytes(client: docker.DockerClient, tags: set[str], base_tags: set[str]) -> int:
    """Bytes the images add over their bases, each layer counted once however often shared.

    Locally built images list their intermediate image ids in their history; a layer two
    images share has the same id in both.
    """
    base_ids = {h["Id"] for tag in base_tags for h in client.api.history(tag)}
    sizes: dict[str, int] = {}
    for tag in tags:
        for entry in client.api.history(tag):
            if entry["Id"] not in base_ids and entry["Id"] != "<missing>":
                sizes[entry["Id"]] = int(entry["Size"])
    return sum(sizes.values())


def containers_created(client: docker.DockerClient, since: datetime, label: str = "") -> int:
    """Containers created on the engine since ``since`` (with ``label`` only, when given)."""
    filters: dict[str, Any] = {"type": "container", "event": "create"}
    if label:
        filters["label"] = label
    events = client.events(since=since, until=datetime.now(UTC), decode=True, filters=filters)
    try:
        return len(list(events))
    finally:
        events.close()


def test_real_repository(
    figures: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    source = request.config.getoption("--bench-repo")
    name = request.config.getoption("--bench-repo-name")
    if not source or not name:
        pytest.skip("no real repository given (make bench REPO=... REPO_NAME=owner/name)")
    prs = request.config.getoption("--bench-prs")
    client = docker_client()
    prefix = f"taskforge-env/{name.replace('/', '__').lower()}"
    for image in client.images.list(name=prefix):
        client.images.remove(image.id, force=True)  # measure the economy from nothing
    out = tmp_path / "real"
    first = backfill(Path(source), name, out, "--limit", str(prs))
    tasks = tasks_of(out)
    verified = sum(t.verified for t in tasks)
    tags = {image_tag for image in client.images.list(name=prefix) for image_tag in image.tags}
    fingerprints = {t.image.fingerprint for t in tasks if t.image is not None}
    bases = {t.install_config.base_image for t in tasks if t.install_config is not None}
    figures["real_repository"] = f"{name}, {prs} newest merged PRs"
    figures["real_verified"] = verified
    figures["real_candidates_validated"] = len(validated(tasks))
    figures["real_first_backfill_s"] = round(first, 1)
    figures["images_per_fingerprint"] = round(len(tags) / max(1, len(fingerprints)), 2)
    figures["build_attempts"] = len(list((work_of(out) / "logs").glob("build-*.log")))
    figures["image_mb_per_verified_task"] = round(
        image_bytes(client, tags, bases) / 1e6 / max(1, verified), 1
    )
    figures["verified_per_hour_real"] = round(verified / (first / 3600), 1)

    since = datetime.now(UTC)
    second = backfill(Path(source), name, out, "--limit", str(prs))
    figures["rerun_ratio"] = round(second / first, 3)
    figures["rerun_images_built"] = len(
        {t for image in client.images.list(name=prefix) for t in image.tags} - tags
    )
    figures["rerun_containers_created"] = containers_created(client, since)

    # the same PRs, images warm from the first backfill, one worker as the raw runs have
    measured = overhead(Path(source), name, tmp_path / "overhead", ("--limit", str(prs)), True)
    figures["validation_overhead_real"] = measured["ratio"]
    figures["real_pipeline_s_per_task"] = measured["pipeline_s_per_task"]
    figures["real_raw_s_per_task"] = measured["raw_s_per_task"]


def mining_seconds(
    repo: git.Repo, name: str, branch: str, first_parent: bool = False
) -> tuple[int, float]:
    """Mining as the pipeline does it: every merged PR found and split."""
    started = time.monotonic()
    candidates = build_candidates(repo, name, find_merged_pulls(repo, branch, first_parent))
    return len(candidates), time.monotonic() - started


def git_log_seconds(git_dir: str, branch: str, *options: str) -> float:
    started = time.monotonic()
    log = ["git", "--git-dir", git_dir, "log", *options, "-p", branch]
    subprocess.run(log, stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def test_mining(figures: dict[str, Any], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """Mining ÷ ``git log -p`` over the same commits, with and without the PR refs.

    Mining reads the branch's whole ancestry, so its reference is ``git log -p`` of the
    branch; first-parent mining (``--first-parent``) is measured against ``git log
    --first-parent -p``. The references read the branch only; a mirror also holds
    ``refs/pull/*`` (2,022 for click), which mining searches for local and rebase merges. So
    the ratios the target speaks of are measured on a clone of the branch alone, and the
    mirror's figure is given beside them.
    """
    source = request.config.getoption("--bench-repo")
    name = request.config.getoption("--bench-repo-name")
    if not source or not name:
        pytest.skip("no real repository given")
    mirror = git.Repo(source)
    branch = target_branch(mirror, None)
    alone = tmp_path / "branch.git"
    clone = ["git", "clone", "--quiet", "--bare", "--single-branch", "--no-tags", "--branch"]
    subprocess.run([*clone, branch, str(Path(mirror.git_dir).resolve()), str(alone)], check=True)
    found, mining = mining_seconds(git.Repo(alone), name, branch)
    found_first, mining_first = mining_seconds(git.Repo(alone), name, branch, first_parent=True)
    found_with_refs, mining_with_refs = mining_seconds(mirror, name, branch)
    log = git_log_seconds(str(mirror.git_dir), branch)
    log_first = git_log_seconds(str(mirror.git_dir), branch, "--first-parent")
    figures["mining_prs"] = found
    figures["mining_s"] = round(mining, 2)
    figures["git_log_p_s"] = round(log, 2)
    figures["mining_ratio"] = round(mining / log, 2)
    figures["mining_first_parent_prs"] = found_first
    figures["mining_first_parent_s"] = round(mining_first, 2)
    figures["git_log_first_parent_p_s"] = round(log_first, 2)
    figures["mining_first_parent_ratio"] = round(mining_first / log_first, 2)
    figures["mining_pull_refs"] = len(mirror.git.for_each_ref("refs/pull/").splitlines())
    figures["mining_prs_with_pull_refs"] = found_with_refs
    figures["mining_with_pull_refs_s"] = round(mining_with_refs, 2)
    figures["mining_ratio_with_pull_refs"] = round(mining_with_refs / log, 2)
