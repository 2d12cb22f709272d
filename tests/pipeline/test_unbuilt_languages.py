"""Candidates of a language whose environments are not built yet are rejected, not validated."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pipeline.backfill.steps import held_back
from pipeline.core.languages import Language
from pipeline.core.records import Outcome, Toolchain, ToolchainSource
from pipeline.dataset.shards import TASK_SCHEMA, DatasetLayout, read_tasks, write_tasks
from tests.pipeline.factories import make_task


def test_only_languages_with_an_environment_builder_go_on() -> None:
    python, go = make_task(1, outcome=None), make_task(2, outcome=None, language=Language.GO)
    dropped = make_task(3, outcome=Outcome.DOCS_ONLY, language=Language.RUST)
    kept, held, already = held_back([python, go, dropped])
    assert kept == python
    assert held.outcome is Outcome.UNSUPPORTED_LANGUAGE
    assert held.outcome_detail == "a go pull request; its environments are not built yet"
    assert already == dropped  # the extractor's own verdict stands


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
