"""Tasks carried to an engine that never built them, without a registry: one image archive.

The demo is built with ``--instance-images`` and no registry; ``taskforge images export``
saves its images (environment and instance images) as one ``docker save`` archive, and
``taskforge images import`` loads it into a second Docker engine with its own data root. There,
SWE-bench's own harness resolves every exported task with the gold patches and none with
empty ones, and ``taskforge evaluate`` does the same with no clone of the repository.
"""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import docker
import pytest

from tests.pipeline.portability import swebench_report, verified_tasks, write_predictions
from tests.taskforge_cli import run as taskforge

pytestmark = pytest.mark.docker


def test_an_archive_carries_the_demo_to_another_engine(
    engine: docker.DockerClient,
    second_engine: str,
    swebench_python: Path,
    prefect_api: str,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    built = taskforge(
        "demo", "--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--instance-images"
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tasks = verified_tasks(out)
    assert len(tasks) == 4 and all(t.image and not t.image.pull_ref for t in tasks)

    archive = tmp_path / "images.tar"
    saved = taskforge("images", "export", str(out), "--to", str(archive))
    assert saved.returncode == 0, saved.stderr
    assert "5 images saved" in saved.stdout  # one environment image, four instance images
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()  # docker save's format

    other = {"DOCKER_HOST": second_engine}
    fresh = docker.DockerClient(base_url=second_engine)
    try:
        assert fresh.images.list() == []  # it has never built or pulled anything
        loaded = taskforge("images", "import", str(archive), env=other)
        assert loaded.returncode == 0, loaded.stderr
        for task in tasks:
            assert task.image and task.instance_image
            assert fresh.images.get(task.image.tag).id == task.image.id
            assert fresh.images.get(task.instance_image.tag).id == task.instance_image.id
    finally:
        fresh.close()

    exported = taskforge("export", str(out), "--format", "swebench", "--to", str(tmp_path / "sb"))
    assert exported.returncode == 0, exported.stderr
    ids = sorted(t.instance_id for t in tasks)
    harness, dataset = tmp_path / "harness", tmp_path / "sb" / "test.jsonl"
    env = {**os.environ, **other}
    gold = swebench_report(swebench_python, dataset, "gold", "gold", harness, env)
    assert sorted(gold["resolved_ids"]) == ids, gold
    empty_predictions = write_predictions(tmp_path / "empty.jsonl", tasks, gold=False)
    empty = swebench_report(swebench_python, dataset, str(empty_predictions), "empty", harness, env)
    assert empty["resolved_ids"] == [] and sorted(empty["empty_patch_ids"]) == ids

    for name, predictions, resolved in (
        ("gold", "gold", ids),
        ("empty", str(empty_predictions), []),
    ):
        report = tmp_path / f"report-{name}"
        graded = taskforge(
            "evaluate",
            str(out),
            "--predictions",
            predictions,
            "--report",
            str(report),
            "--cache-dir",
            str(tmp_path / "no-clones"),
            "--workers",
            "2",
            env=other,
        )
        assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-2000:]
        summary = json.loads((report / "summary.json").read_text())
        assert sorted(summary["resolved_ids"]) == resolved, summary
