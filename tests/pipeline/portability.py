"""What the portability tests share: a dataset's images removed, predictions, SWE-bench runs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import docker
import docker.errors

from pipeline.core.records import Task
from pipeline.dataset.shards import DatasetLayout, read_tasks


def verified_tasks(out: Path) -> list[Task]:
    return sorted(
        (t for t in read_tasks(DatasetLayout(out)) if t.verified), key=lambda t: t.instance_id
    )


def remove_images(client: docker.DockerClient, tasks: list[Task]) -> list[str]:
    """Remove every image the tasks run in, children first: instance images, testbed bases
    (any run's), then the environment images."""
    env_ids = {t.image.id for t in tasks if t.image}
    children = [
        image.id
        for label in ("taskforge=instance", "taskforge=testbed")
        for image in client.images.list(filters={"label": label})
    ]
    removed = []
    for image_id in [*children, *env_ids]:
        try:
            client.images.remove(image_id, force=True)
            removed.append(image_id)
        except docker.errors.ImageNotFound:
            continue
    for task in tasks:
        for image in (task.image, task.instance_image):
            if image is not None and client.images.list(name=image.tag):
                raise AssertionError(f"{image.tag} is still in the engine")
    return removed


def write_predictions(path: Path, tasks: list[Task], gold: bool) -> Path:
    lines = [
        json.dumps(
            {
                "instance_id": t.instance_id,
                "model_name_or_path": "gold" if gold else "empty",
                "model_patch": t.patch if gold else "",
            }
        )
        for t in tasks
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def swebench_report(
    python: Path, dataset: Path, predictions: str, run_id: str, cwd: Path, env: dict[str, str]
) -> dict[str, Any]:
    """Run SWE-bench's own harness on ``dataset``; its run report."""
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            str(python),
            "-m",
            "swebench.harness.run_evaluation",
            "--dataset_name",
            str(dataset),
            "--predictions_path",
            predictions,
            "--run_id",
            run_id,
            "--max_workers",
            "2",
            "--timeout",
            "600",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (report,) = cwd.glob(f"*.{run_id}.json")
    found: dict[str, Any] = json.loads(report.read_text())
    return found
