"""Tasks that leave the machine that made them: images pushed to a registry, pulled by digest.

The demo is built with ``--registry`` (a real registry on this machine) and
``--instance-images``; then every local image of the demo is removed, as on a machine that
never built them. SWE-bench's own harness (the PyPI release, no code of taskforge) grades the
SWE-bench export, pulling each instance image by the digest the export names: the gold patches
resolve every task, empty patches none. ``taskforge evaluate`` does the same with no clone of
the repository on the host (an empty cache folder): it pulls the environment images by digest
and reads each base tree out of the task's instance image.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import docker
import pytest

from tests.pipeline.portability import (
    remove_images,
    swebench_report,
    verified_tasks,
    write_predictions,
)
from tests.taskforge_cli import run as taskforge

pytestmark = pytest.mark.docker


def test_a_registry_carries_the_demo_to_swebench_and_evaluate(
    engine: docker.DockerClient,
    registry: str,
    swebench_python: Path,
    prefect_api: str,
    tmp_path: Path,
) -> None:
    out, namespace = tmp_path / "out", f"{registry}/taskforge"
    built = taskforge(
        "demo",
        "--out",
        str(out),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--registry",
        namespace,
        "--instance-images",
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    tasks = verified_tasks(out)
    assert len(tasks) == 4
    for task in tasks:
        assert task.image is not None and task.instance_image is not None
        assert task.image.pull_ref.startswith(f"{namespace}/taskforge-env/")
        assert "@sha256:" in task.image.pull_ref
        assert task.instance_image.pull_ref.startswith(f"{namespace}/taskforge-instance/")
        assert 0 < task.instance_image.size_bytes < 1_000_000  # the tree only, not the env
    exported = taskforge("export", str(out), "--format", "swebench", "--to", str(tmp_path / "sb"))
    assert exported.returncode == 0, exported.stderr
    instances = [
        json.loads(line) for line in (tmp_path / "sb" / "test.jsonl").read_text().splitlines()
    ]
    assert {i["image"] for i in instances} == {t.instance_image.pull_ref for t in tasks}  # type: ignore[union-attr]

    assert remove_images(engine, tasks)
    ids = sorted(t.instance_id for t in tasks)
    harness = tmp_path / "harness"
    gold = swebench_report(
        swebench_python, tmp_path / "sb" / "test.jsonl", "gold", "gold", harness, dict(os.environ)
    )
    assert sorted(gold["resolved_ids"]) == ids, gold
    empty_predictions = write_predictions(tmp_path / "empty.jsonl", tasks, gold=False)
    empty = swebench_report(
        swebench_python,
        tmp_path / "sb" / "test.jsonl",
        str(empty_predictions),
        "empty",
        harness,
        dict(os.environ),
    )
    assert empty["resolved_ids"] == [] and sorted(empty["empty_patch_ids"]) == ids

    remove_images(engine, tasks)
    for name, predictions, resolved in (
        ("gold", "gold", ids),
        ("empty", str(empty_predictions), []),
    ):
        graded = taskforge(
            "evaluate",
            str(out),
            "--predictions",
            predictions,
            "--report",
            str(tmp_path / f"report-{name}"),
            "--cache-dir",
            str(tmp_path / "no-clones"),  # no repository here: bases come from the images
            "--workers",
            "2",
        )
        assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-2000:]
        summary = json.loads((tmp_path / f"report-{name}" / "summary.json").read_text())
        assert sorted(summary["resolved_ids"]) == resolved, summary
    assert not list((tmp_path / "no-clones").glob("repos/*"))  # nothing was cloned
