"""Every language has a recipe and a runner; its language and toolchain are columns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq

from dockerfiles.language_image import render_language_dockerfile
from dockerfiles.language_recipes import detect_language_recipe
from pipeline.core.languages import Language, TestRunner
from pipeline.core.records import Toolchain, ToolchainSource
from pipeline.dataset.shards import TASK_SCHEMA, DatasetLayout, read_tasks, write_tasks
from tests.pipeline.factories import make_task
from validators.runners import RUNNERS

MANIFESTS = {
    Language.JAVASCRIPT: {"package.json": "{}"},
    Language.GO: {"go.mod": "module x\n"},
    Language.RUST: {"Cargo.toml": ""},
    Language.JAVA: {"pom.xml": ""},
}


def test_every_language_but_python_has_an_image_and_a_runner_spec() -> None:
    day = datetime(2024, 5, 1, tzinfo=UTC)
    assert set(MANIFESTS) == set(Language) - {Language.PYTHON}
    for language, files in MANIFESTS.items():
        config = detect_language_recipe(language, files, day, None)
        assert RUNNERS[TestRunner(config.test_runner)].language is language
        assert render_language_dockerfile(config).startswith("# The environment image")


def test_language_and_toolchain_are_columns() -> None:
    assert TASK_SCHEMA.field("language").type == "string"
    config = TASK_SCHEMA.field("install_config").type
    assert config.field("language").type == "string"
    toolchain = config.field("toolchain").type
    assert [f.name for f in toolchain] == [
        "language",
        "version",
        "source",
        "package",
        "requested",
        "evidence",
        "package_manager",
    ]


def test_a_task_with_a_toolchain_round_trips(tmp_path: Path) -> None:
    task = make_task(1)
    assert task.install_config is not None
    toolchain = Toolchain(
        language=Language.GO,
        version="1.22.12",
        source=ToolchainSource.GO_PROXY,
        package="golang.org/toolchain",
        requested="1.22",
        evidence="go.mod go",
        package_manager="go",
    )
    config = task.install_config.revised(python="", language=Language.GO, toolchain=toolchain)
    task = task.revised(language=Language.GO, install_config=config)
    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    layout.prepare()
    (shard,) = write_tasks(layout, [task])
    assert pq.read_schema(shard).field("language").type == "string"
    (back,) = read_tasks(layout)
    assert back == task
