"""``taskforge`` commands on a dataset behind an ``s3://`` URL (moto's server), as a user runs them.

Every reader command takes the URL where it takes a folder; bad input is one line and exit 2
(an unknown scheme, credentials in the URL, a bucket that does not exist, credentials the
server refuses), a storage that does not answer is infrastructure (exit 3). Credentials come
from the environment and appear in no output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.core.records import Outcome
from pipeline.dataset.card import finalize
from pipeline.dataset.location import dataset_location
from pipeline.dataset.shards import DatasetLayout, write_tasks
from tests.conftest import S3Bucket
from tests.pipeline.factories import make_task
from tests.pipeline.test_cli import assert_one_line_error, taskforge
from tests.services import S3_CREDENTIALS, S3Service, free_port

WIDE = {"COLUMNS": "200"}


@pytest.fixture
def layout(s3: S3Bucket, tmp_path: Path) -> DatasetLayout:
    written = DatasetLayout.of(dataset_location(s3.url()), tmp_path / "work")
    written.prepare()
    write_tasks(written, [make_task(1), make_task(2), make_task(3, Outcome.TIMEOUT)])
    write_tasks(written, [make_task(3), make_task(4, Outcome.DOCS_ONLY)])
    finalize(written)
    return written


def on(layout: DatasetLayout, command: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = taskforge(command, str(layout.root), *args, "--work-dir", str(layout.work), env=WIDE)
    assert S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in result.stdout + result.stderr
    return result


def test_stats_show_export_compact(layout: DatasetLayout, s3: S3Bucket, tmp_path: Path) -> None:
    result = on(layout, "stats")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # the manifest in the local work folder agrees with the bucket
    assert f"{s3.url()}: 1 repository, 3 verified, 1 rejected (4 shards" in result.stdout
    shown = on(layout, "show", "o__n-3")
    assert shown.returncode == 0 and "o__n-3 verified" in shown.stdout, shown.stderr
    target = tmp_path / "swebench"
    exported = on(layout, "export", "--to", str(target))
    assert exported.returncode == 0, exported.stderr
    lines = (target / "test.jsonl").read_text().splitlines()
    assert [json.loads(line)["instance_id"] for line in lines] == ["o__n-1", "o__n-2", "o__n-3"]
    assert pq.read_table(target / "test.parquet").num_rows == 3
    compacted = on(layout, "compact")
    assert "compacted 5 rows in 4 shards into 4 rows in 2 shards" in compacted.stdout
    assert "already compact: 4 rows in 2 shards" in on(layout, "compact").stdout
    assert len(layout.shards()) == 2
    after = on(layout, "stats")
    assert after.stderr == "" and "3 verified, 1 rejected (2 shards" in after.stdout


def test_a_changed_object_is_named_by_its_url(layout: DatasetLayout, s3: S3Bucket) -> None:
    shard = layout.shards()[0]
    filesystem = s3.service.filesystem()
    key = f"{s3.name}/dataset/{layout.relative(shard)}"
    data = bytearray(filesystem.open_input_stream(key).read())
    data[len(data) // 2] ^= 0xFF  # same size: only the checksum tells
    with filesystem.open_output_stream(key) as out:
        out.write(bytes(data))
    assert_one_line_error(on(layout, "stats"), f"{shard}: does not match its sha256", 5)


def test_another_machine_reads_the_url_without_a_work_folder(
    layout: DatasetLayout, tmp_path: Path
) -> None:
    elsewhere = {**WIDE, "TASKFORGE_CACHE": str(tmp_path / "elsewhere")}
    result = taskforge("stats", str(layout.root), env=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and "3 verified, 1 rejected" in result.stdout
    assert not (tmp_path / "elsewhere").exists()  # a reader creates nothing


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("nosuch://bucket/p", "unknown scheme nosuch://"),
        ("s3://AKIAEXAMPLE:wJalrSECRET@bucket/p", "holds credentials before its host"),
        ("s3://bucket/p?secret_key=wJalrSECRET", "holds credentials in its query (secret_key)"),
        ("s3://no-such-bucket/p", "the bucket no-such-bucket does not exist"),
    ],
)
@pytest.mark.parametrize("command", ["stats", "backfill"])
def test_bad_urls_are_one_line(
    s3: S3Bucket, sample_repo_path: Path, url: str, says: str, command: str
) -> None:
    if command == "stats":
        result = taskforge("stats", url)
    else:  # refused before Docker is asked, before Prefect starts
        result = taskforge("backfill", str(sample_repo_path), "--repo", "o/n", "--out", url)
    assert_one_line_error(result, says, 2)
    assert "wJalrSECRET" not in result.stdout + result.stderr


def test_a_prefix_without_a_dataset(s3: S3Bucket) -> None:
    result = taskforge("stats", s3.url("nothing-here"))
    assert_one_line_error(result, "is not a taskforge dataset", 2)


def test_an_endpoint_that_does_not_answer_is_infrastructure(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    result = taskforge("stats", s3.url())
    assert_one_line_error(result, "the storage does not answer", 3)


@pytest.fixture(scope="module")
def checking_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Service]:
    from tests.services import moto_s3

    with moto_s3(tmp_path_factory.mktemp("moto-auth"), authenticate=True) as service:
        yield service


def test_credentials_the_storage_refuses(
    checking_server: S3Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in checking_server.env.items():
        monkeypatch.setenv(name, value)
    result = taskforge("stats", "s3://bucket/dataset")
    assert_one_line_error(result, "access denied", 2)
    assert "AWS_ACCESS_KEY_ID" in result.stderr  # where to look
    assert checking_server.env["AWS_SECRET_ACCESS_KEY"] not in result.stderr
