"""A dataset on S3 (moto's server, over HTTP) keeps a local folder's promises.

Shards, card and manifest are written and read back; a shard is an object whole or not at all
(a failure while it is produced sends nothing; a writer SIGKILLed mid-upload leaves only an
uncompleted multipart upload, which no listing shows); a rerun skips what the bucket holds;
polars and duckdb read the shards where they are. The same code path on fsspec filesystems:
``memory://`` (an object store: final keys written whole) and ``local://`` (a filesystem with a
rename: a hidden temporary file, then a move).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import BinaryIO

import duckdb
import huggingface_hub
import polars as pl
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from pipeline.backfill.request import BackfillRequest
from pipeline.core.errors import UnwritableTaskError
from pipeline.core.records import Outcome
from pipeline.dataset.browse import dataset_stats, find_task
from pipeline.dataset.card import finalize
from pipeline.dataset.compact import compact
from pipeline.dataset.filesystems import filesystem_of
from pipeline.dataset.location import DatasetUrl, dataset_location
from pipeline.dataset.manifest import load_manifest, manifest_problems
from pipeline.dataset.objects import ObjectPath
from pipeline.dataset.shards import finished_instance_ids, read_tasks, write_tasks
from pipeline.dataset.storage import DatasetLayout, replace_atomically
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME
from pipeline.orchestration.tasks import Mined, mine
from tests.conftest import S3Bucket
from tests.pipeline.factories import make_task

ROOT = Path(__file__).resolve().parents[2]


def s3_layout(s3: S3Bucket, tmp_path: Path, prefix: str = "dataset") -> DatasetLayout:
    layout = DatasetLayout.of(dataset_location(s3.url(prefix)), tmp_path / "work")
    layout.prepare()
    return layout


def keys(s3: S3Bucket, prefix: str = "dataset") -> list[str]:
    return [k.removeprefix(f"{s3.name}/{prefix}/") for k in s3.service.keys(f"{s3.name}/{prefix}")]


def test_pyarrow_reads_the_endpoint_from_the_environment(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """pyarrow 26's ``from_uri`` reads AWS_ENDPOINT_URL, and AWS_ENDPOINT_URL_S3 before it; the
    other variables are the SDK's own (``tests.services.S3_CREDENTIALS``)."""
    layout = s3_layout(s3, tmp_path)
    write_tasks(layout, [make_task(1)])
    assert [k.split("/")[0] for k in keys(s3)] == ["data"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing answers there
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3.service.endpoint)
    filesystem_of.cache_clear()
    assert {t.instance_id for t in read_tasks(layout)} == {"o__n-1"}


def test_shards_card_and_manifest(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    assert keys(s3) == []  # object stores need no folders: nothing until there is data
    first = write_tasks(layout, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(3), make_task(4, Outcome.DOCS_ONLY)])
    assert finalize(layout) == []
    assert all(isinstance(shard, ObjectPath) for shard in first)
    shards = [layout.relative(s) for s in layout.shards()]
    assert sorted(keys(s3)) == sorted(["README.md", *shards])  # and nothing else: no .tmp
    assert {t.instance_id: t.outcome for t in read_tasks(layout)} == {
        "o__n-1": Outcome.VERIFIED,
        "o__n-2": Outcome.VERIFIED,
        "o__n-3": Outcome.VERIFIED,  # the newest row wins
        "o__n-4": Outcome.DOCS_ONLY,
    }
    manifest = load_manifest(layout)  # local: in the work folder, never in the bucket
    assert manifest is not None and layout.manifest_path.is_relative_to(tmp_path)
    assert sorted(e.path for e in manifest.shards) == sorted(shards)
    assert manifest_problems(layout, verify_checksums=True) == []
    card = s3.service.filesystem().open_input_stream(f"{s3.name}/dataset/README.md").read()
    data = huggingface_hub.DatasetCard(card.decode()).data.to_dict()  # type: ignore[no-untyped-call]
    assert data["configs"][0]["data_files"][0]["path"] == "data/train-*.parquet"
    stats = dataset_stats(layout)
    assert (stats.verified, stats.rejected, stats.shards, stats.warnings) == (3, 1, 4, [])
    assert find_task(layout, "o__n-3")[0].verified


def test_a_shard_that_cannot_be_written_sends_nothing(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    bad = make_task(2, patch="+caf" + b"\xe9".decode("utf-8", "surrogateescape") + "\n")
    with pytest.raises(UnwritableTaskError):
        write_tasks(layout, [make_task(1), bad])
    final = layout.verified_dir / "train-x.parquet"

    def half_then_fail(handle: BinaryIO) -> None:
        handle.write(b"PAR1" + b"x" * 1000)
        raise KeyboardInterrupt  # what SIGINT raises in the middle of producing a file

    with pytest.raises(KeyboardInterrupt):
        replace_atomically(final, half_then_fail)
    assert keys(s3) == [] and s3.service.uploads_in_progress(s3.name) == []


def test_why_no_file_is_streamed_into_an_s3_upload(s3: S3Bucket) -> None:
    """pyarrow's NativeFile closes on an exception inside ``with`` (and when destroyed), and a
    close completes the upload: the half-written file becomes an object. Hence ``put``."""
    filesystem = s3.service.filesystem()
    with pytest.raises(RuntimeError), filesystem.open_output_stream(f"{s3.name}/half") as out:
        out.write(b"PAR1 and not the rest")
        raise RuntimeError("the writer failed")
    assert filesystem.get_file_info(f"{s3.name}/half").size == 21


WRITER = """
import os, sys
from pathlib import Path
from pipeline.dataset.location import DatasetUrl
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.pipeline.factories import make_task

layout = DatasetLayout.of(DatasetUrl.parse(sys.argv[1]), Path(sys.argv[2]))
# about 45 MB of Parquet (random patches do not compress): five parts of S3's multipart upload
big = [make_task(n, patch=os.urandom(6000).hex()) for n in range(100, 7600)]
print("ready", flush=True)
write_tasks(layout, big)
print("done", flush=True)
"""


def start_writer(layout: DatasetLayout) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(layout.root), str(layout.work)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


@pytest.mark.slow
def test_a_writer_killed_mid_upload_leaves_no_object(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    write_tasks(layout, [make_task(1), make_task(2, Outcome.TIMEOUT)])
    before = keys(s3)
    writer = start_writer(layout)
    deadline = time.monotonic() + 120
    while not s3.service.uploads_in_progress(s3.name):
        assert writer.poll() is None and time.monotonic() < deadline, "no upload seen"
        time.sleep(0.005)
    writer.send_signal(signal.SIGKILL)
    output, _ = writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    assert "done" not in output, "the writer finished before it was killed; write more"
    (pending,) = s3.service.uploads_in_progress(s3.name)  # begun, never completed
    assert pending.startswith("dataset/data/train-")
    assert keys(s3) == before  # no object, whole or partial, under any name
    assert {t.instance_id for t in read_tasks(layout)} == {"o__n-1", "o__n-2"}
    assert manifest_problems(layout, verify_checksums=True) == []
    rerun = start_writer(layout)
    assert "done" in rerun.communicate(timeout=300)[0] and rerun.returncode == 0
    new = [k for k in keys(s3) if k not in before]
    assert len(new) == 1 and new[0].startswith("data/train-")  # the shard, written once
    assert len(read_tasks(layout)) == 2 + 7500
    assert manifest_problems(layout, verify_checksums=True) == []


def test_a_rerun_skips_what_the_bucket_holds(
    s3: S3Bucket, sample_repo_path: Path, tmp_path: Path
) -> None:
    request = BackfillRequest(
        source=str(sample_repo_path),
        repo=SAMPLE_REPO_NAME,
        out=s3.url("mined"),
        cache_dir=tmp_path / "cache",
    )
    request.layout().prepare()
    first: Mined = mine.fn(request)
    assert first.candidates and first.skipped == 0
    write_tasks(request.layout(), first.candidates)
    assert finished_instance_ids(request.layout()) == {c.instance_id for c in first.candidates}
    again: Mined = mine.fn(request)  # as a rerun's mining task does: ids from the bucket
    assert again.candidates == [] and again.skipped == again.selected == first.selected


def test_compact(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    write_tasks(layout, [make_task(1), make_task(2, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(2), make_task(3)])
    old = set(keys(s3))
    report = compact(layout)
    assert (report.rows_before, report.rows_after) == (4, 3)
    assert (report.shards_before, report.shards_after) == (3, 1)
    assert not old & set(keys(s3)) - {"README.md"}  # the old shards are gone
    assert {t.instance_id: t.outcome for t in read_tasks(layout)} == {
        f"o__n-{n}": Outcome.VERIFIED for n in (1, 2, 3)
    }
    assert manifest_problems(layout, verify_checksums=True) == []
    assert not compact(layout).changed


def test_polars_and_duckdb_read_the_shards_where_they_are(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    write_tasks(layout, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    glob = f"{s3.url()}/data/*.parquet"
    options = s3.service.storage_options()
    frame = pl.read_parquet(glob, storage_options=options)
    assert sorted(frame["instance_id"]) == ["o__n-1", "o__n-2"]
    lazy = pl.scan_parquet(glob, storage_options=options).select(pl.col("FAIL_TO_PASS").list.len())
    assert lazy.collect().height == 2
    # duckdb through pyarrow's dataset of the same objects (no duckdb extension needed)
    connection = duckdb.connect()
    tasks = pads.dataset(f"{s3.name}/dataset/data", filesystem=s3.service.filesystem())
    connection.register("tasks", tasks)
    assert connection.execute("select count(*) from tasks").fetchall() == [(2,)]


def test_duckdb_httpfs_reads_the_shards(s3: S3Bucket, tmp_path: Path) -> None:
    layout = s3_layout(s3, tmp_path)
    write_tasks(layout, [make_task(1), make_task(2)])
    connection = duckdb.connect()
    try:
        connection.execute("LOAD httpfs")
    except duckdb.Error:
        try:
            connection.execute("INSTALL httpfs")  # a download from extensions.duckdb.org
            connection.execute("LOAD httpfs")
        except duckdb.Error as error:
            pytest.skip(f"duckdb's httpfs extension cannot be had here: {str(error)[:120]}")
    endpoint = s3.service.endpoint.removeprefix("http://")
    env = s3.service.env
    connection.execute(
        f"CREATE SECRET (TYPE s3, KEY_ID '{env['AWS_ACCESS_KEY_ID']}', SECRET "
        f"'{env['AWS_SECRET_ACCESS_KEY']}', ENDPOINT '{endpoint}', URL_STYLE 'path', "
        "USE_SSL false, REGION 'us-east-1')"
    )
    query = f"select count(*) from '{s3.url()}/data/*.parquet'"
    assert connection.execute(query).fetchall() == [(2,)]


@pytest.mark.parametrize("scheme", ["memory", "local"])
def test_fsspec_filesystems(scheme: str, tmp_path: Path) -> None:
    """``memory://`` is written like an object store, ``local://`` (fsspec's own local
    filesystem, not taskforge's local path) with a hidden temporary file and a move."""
    out = tmp_path / "out"
    where = f"memory://tf-{uuid.uuid4().hex}" if scheme == "memory" else f"local://{out}"
    layout = DatasetLayout.of(DatasetUrl.parse(where), tmp_path / "work")
    assert isinstance(layout.root, ObjectPath)
    assert layout.root.mode.value == ("put" if scheme == "memory" else "rename")
    layout.prepare()
    write_tasks(layout, [make_task(1), make_task(2, Outcome.TIMEOUT)])
    write_tasks(layout, [make_task(2)])
    finalize(layout)
    assert {t.instance_id: t.verified for t in read_tasks(layout)} == {
        "o__n-1": True,
        "o__n-2": True,
    }
    assert manifest_problems(layout, verify_checksums=True) == []
    assert compact(layout).shards_after == 1
    if scheme == "local":
        files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
        assert files == sorted(["README.md", *(layout.relative(s) for s in layout.shards())])
        assert pq.read_table(next(out.glob("data/*.parquet"))).num_rows == 2
