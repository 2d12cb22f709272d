"""A dataset folder is fit to publish: it holds the shards and the card, and nothing else.

The writers' files (manifest, logs, Prefect results, cursors, lock) live in the dataset's work
folder. The folder is checked the way Hugging Face sees it: ``HfApi.upload_folder``'s own
listing and filter, and ``datasets.load_dataset`` offline. A dataset of the previous layout is
moved into the work folder by its next writer, losing nothing.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from huggingface_hub import DatasetCard
from huggingface_hub.hf_api import DEFAULT_IGNORE_PATTERNS
from huggingface_hub.utils import filter_repo_objects

from pipeline.backfill.cursor import Cursor, write_cursor
from pipeline.core.errors import UserInputError
from pipeline.core.records import Outcome
from pipeline.dataset.card import finalize
from pipeline.dataset.manifest import load_manifest, manifest_problems
from pipeline.dataset.shards import read_tasks, write_tasks
from pipeline.dataset.storage import DatasetLayout, default_work_dir
from tests.pipeline.factories import make_task


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DatasetLayout[Path]:
    """A dataset written by the project's writers, its work folder where it goes by default."""
    monkeypatch.setenv("TASKFORGE_CACHE", str(tmp_path / "cache"))
    written = DatasetLayout(tmp_path / "out")
    written.prepare()
    write_tasks(written, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    write_tasks(written, [make_task(4, repo="p/q"), make_task(5, Outcome.DOCS_ONLY)])
    (written.logs_dir / "build-taskforge-env__o__n-abc.log").write_text("Successfully built\n")
    (written.logs_dir / "prefect-server.log").write_text("INFO: Uvicorn running\n")
    written.results_dir.mkdir()
    (written.results_dir / "validation-0123").write_bytes(b"\x80\x04 a pickle")
    cursor = Cursor(repo="o/n", merged_through=datetime(2024, 1, 2, tzinfo=UTC), pulls=[2])
    write_cursor(written, cursor)
    finalize(written)
    return written


def uploaded(folder: Path) -> list[str]:
    """The files ``HfApi.upload_folder(folder_path=folder)`` would commit, as it finds them."""
    relpaths = [
        p.relative_to(folder).as_posix() for p in sorted(folder.glob("**/*")) if p.is_file()
    ]
    return list(filter_repo_objects(relpaths, ignore_patterns=list(DEFAULT_IGNORE_PATTERNS)))


def published(layout: DatasetLayout[Path]) -> list[str]:
    """What should be published: the shards and the card."""
    return sorted([*(layout.relative(shard) for shard in layout.shards()), "README.md"])


def test_upload_folder_would_publish_the_shards_and_the_card_only(
    layout: DatasetLayout[Path],
) -> None:
    assert sorted(uploaded(layout.root)) == published(layout)
    assert len(published(layout)) == 5  # four shards and README.md
    digest = hashlib.sha256(os.fsencode(layout.root.resolve())).hexdigest()[:8]
    assert layout.work == layout.work.parent / f"out-{digest}"
    assert layout.work.parent == Path(os.environ["TASKFORGE_CACHE"]) / "work"
    kept = sorted(p.name for p in layout.work.iterdir())
    assert kept == ["cursors", "logs", "manifest.json", "results", "writer.lock"]
    assert manifest_problems(layout, verify_checksums=True) == []
    configs = DatasetCard(layout.card_path.read_text()).data.get("configs")
    assert [c["config_name"] for c in configs] == ["default", "rejected"]


def test_datasets_loads_the_verified_rows_and_the_rejected_config(
    layout: DatasetLayout[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    import datasets

    tasks = read_tasks(layout)
    verified = datasets.load_dataset(str(layout.root))
    rejected = datasets.load_dataset(str(layout.root), "rejected")
    assert list(verified) == list(rejected) == ["train"]
    assert sorted(verified["train"]["instance_id"]) == sorted(
        t.instance_id for t in tasks if t.verified
    )
    assert sorted(rejected["train"]["instance_id"]) == sorted(
        t.instance_id for t in tasks if not t.verified
    )
    assert verified["train"][0]["FAIL_TO_PASS"] == make_task(1).FAIL_TO_PASS
    assert sorted(uploaded(layout.root)) == published(layout)  # loading left nothing behind


def previous_layout(layout: DatasetLayout[Path]) -> None:
    """Turn ``layout``'s dataset into one the previous layout wrote: the writers' files in OUT."""
    for old, new in layout.previous_layout():
        old.parent.mkdir(parents=True, exist_ok=True)
        new.rename(old)
    layout.lock_path.rename(layout.root / ".taskforge.lock")
    layout.work.rmdir()  # the previous layout had none
    huggingface = layout.root / ".cache" / "huggingface"  # what hf download --local-dir leaves
    huggingface.mkdir()
    (huggingface / ".gitignore").write_text("*\n")


def test_the_next_write_moves_the_previous_layout_into_the_work_folder(
    layout: DatasetLayout[Path],
) -> None:
    listed = load_manifest(layout)
    previous_layout(layout)
    assert manifest_problems(layout) == []  # no work folder yet: nothing to check, no warning
    assert len(read_tasks(layout)) == 5  # readers read it as it is
    (moved,) = layout.prepare()
    assert moved == (
        f"moved manifest.json, logs, cursors, .cache/results of the previous layout from "
        f"{layout.root} into its work folder {layout.work}"
    )
    assert sorted(uploaded(layout.root)) == published(layout)
    assert sorted(p.name for p in layout.root.iterdir()) == [
        ".cache",
        "README.md",
        "data",
        "rejected",
    ]
    assert (layout.logs_dir / "prefect-server.log").read_text() == "INFO: Uvicorn running\n"
    assert (layout.results_dir / "validation-0123").read_bytes() == b"\x80\x04 a pickle"
    assert (layout.cursors_dir / "o__n.json").is_file()
    assert load_manifest(layout) == listed
    write_tasks(layout, [make_task(6)])
    assert manifest_problems(layout, verify_checksums=True) == []
    assert layout.prepare() == []  # once moved, nothing more to say


def test_what_the_work_folder_already_has_stays_in_place_and_is_named(
    layout: DatasetLayout[Path],
) -> None:
    (layout.root / "logs").mkdir()
    (layout.root / "logs" / "prefect-server.log").write_text("an older run\n")
    (layout.root / "logs" / "build-other.log").write_text("built\n")
    moved, stayed = layout.prepare()
    assert moved.startswith(f"moved logs of the previous layout from {layout.root}")  # partly
    assert stayed.startswith(f"left logs/prefect-server.log in {layout.root}: {layout.work} has")
    assert (layout.root / "logs" / "prefect-server.log").read_text() == "an older run\n"
    assert (layout.logs_dir / "prefect-server.log").read_text() == "INFO: Uvicorn running\n"
    assert (layout.logs_dir / "build-other.log").read_text() == "built\n"


def test_one_folder_has_one_work_folder_however_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "out")
    cache = tmp_path / "cache"
    spellings = [Path("out"), tmp_path / "out", tmp_path / "link", Path("./link/")]
    locks = {DatasetLayout(p, cache_dir=cache).lock_path for p in spellings}
    assert len(locks) == 1  # one lock serializes every writer of the folder
    assert default_work_dir(tmp_path / "other" / "out", cache) != default_work_dir(
        Path("out"), cache
    )


def test_a_work_folder_inside_the_dataset_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match=r"inside the dataset folder .* published whole"):
        DatasetLayout(tmp_path / "out", tmp_path / "out" / ".work").prepare()
    (tmp_path / "work").write_text("a file")
    with pytest.raises(UserInputError, match=r"work folder .* is a file; give a folder"):
        DatasetLayout(tmp_path / "out", tmp_path / "work").prepare()
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_validations_the_previous_layout_persisted_still_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect import flow, task
    from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH, temporary_settings

    from pipeline.orchestration.prefect_server import local_api
    from pipeline.orchestration.tasks import results_in

    runs: list[int] = []

    @task(cache_key_fn=lambda *_: "validation-replayed", persist_result=True)
    def validate(number: int) -> int:  # persisted and keyed as tasks.validate is
        runs.append(number)
        return number * 2

    @flow
    def backfill() -> int:
        return validate(21)

    layout = DatasetLayout(tmp_path / "out", tmp_path / "work")
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_LOGGING_TO_API_ENABLED", "false")  # the server stops first
    with local_api(tmp_path / "server.log", home=tmp_path / "prefect") as wait_ready:
        wait_ready()
        previous = (tmp_path / "out" / ".cache" / "results").resolve()
        with temporary_settings(updates={PREFECT_RESULTS_LOCAL_STORAGE_PATH: previous}):
            assert backfill() == 42  # a run of the previous layout, killed before writing
        assert layout.prepare()[0].startswith("moved .cache/results of the previous layout")
        with results_in(layout):
            assert backfill() == 42
    assert runs == [21]  # replayed from the moved record, not run again
    assert [p.name for p in layout.results_dir.iterdir()] == ["validation-replayed"]
    assert not (tmp_path / "out" / ".cache").exists()
