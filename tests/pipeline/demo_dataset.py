"""The demo dataset, produced once per session by ``taskforge demo``, for every test that needs it.

A module's fixture calls ``demo_dataset`` (with the ``prefect_api`` fixture active); the first
call runs the demo, later ones in the same session reuse it. The demo runs in its own folder,
which then holds ``out/`` (the dataset), ``data/cache/sample-repo`` (the repository that
``evaluate`` and environments read base commits from, found there by default when that folder
is the working folder) and ``data/cache/work/`` (the dataset's work folder: ``Demo.layout``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.core.records import Task
from pipeline.dataset.shards import DatasetLayout, read_tasks
from tests.taskforge_cli import run


@dataclass(frozen=True)
class Demo:
    folder: Path  # the working folder of the demo run
    tasks: list[Task]  # the verified tasks, by pull number
    stdout: str  # what the demo printed: the yield table and the output path

    @property
    def out(self) -> Path:
        return self.folder / "out"

    @property
    def cache(self) -> Path:
        return self.folder / "data" / "cache"

    @property
    def layout(self) -> DatasetLayout:
        """The dataset's paths, its work folder where the demo run put it (the default)."""
        return DatasetLayout(self.out, cache_dir=self.cache)


_PRODUCED: list[Demo] = []


def demo_dataset(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The session's demo dataset, produced at the first call."""
    if _PRODUCED:
        return _PRODUCED[0]
    folder = tmp_path_factory.mktemp("demo-consumers")
    result = run("demo", "--out", "out", cwd=folder, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = [
        t
        for t in read_tasks(DatasetLayout(folder / "out", cache_dir=folder / "data" / "cache"))
        if t.verified
    ]
    assert len(tasks) == 4
    _PRODUCED.append(Demo(folder, sorted(tasks, key=lambda t: t.pull_number), result.stdout))
    return _PRODUCED[0]
