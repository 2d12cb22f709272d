"""Where a dataset is: local paths stay paths, URLs are normalised and never hold credentials."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from pipeline.backfill.request import BackfillRequest
from pipeline.core.errors import UserInputError
from pipeline.dataset.location import DatasetUrl, dataset_location
from pipeline.dataset.objects import ObjectPath
from pipeline.dataset.storage import DatasetLayout, default_work_dir


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        ("S3://bucket//a///b/", "s3://bucket/a/b"),
        ("gs://bucket", "gs://bucket"),
        (
            "s3://bucket/p?scheme=http&region=eu-west-1",
            "s3://bucket/p?region=eu-west-1&scheme=http",
        ),
        ("abfs://container@account.dfs.core.windows.net/p", None),  # Azure's container, no key
        ("memory://x/y", "memory://x/y"),
        ("local:///tmp/x/", "local:///tmp/x"),  # no host: the // stays
    ],
)
def test_urls_are_normalised(given: str, expected: str | None) -> None:
    location = dataset_location(given)
    assert isinstance(location, DatasetUrl)
    assert location == (expected or given)


@pytest.mark.parametrize("given", ["out", "data/demo", "/abs/out", "./s3:/not-a-url"])
def test_paths_stay_paths(given: str) -> None:
    assert dataset_location(given) == Path(given)
    assert type(dataset_location(given)) is type(Path(given))


def test_a_file_url_is_the_local_folder() -> None:
    assert dataset_location("file:///tmp/data%20set") == Path("/tmp/data set")
    with pytest.raises(UserInputError, match="folder on this machine"):
        dataset_location("file://otherhost/tmp/x")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("s3://AKIAEXAMPLE:wJalrSECRET@bucket/p", "s3://***@bucket/p"),
        ("s3://AKIAEXAMPLE@bucket/p", "s3://***@bucket/p"),
        ("hdfs://user:hunter2@namenode:8020/p", "hdfs://***@namenode:8020/p"),
        ("s3://bucket/p?secret_key=wJalrSECRET", "secret_key"),
        ("s3://bucket/p?access_key=AKIA&region=x", "access_key"),
        ("gs://bucket/p?X-Goog-Signature=abc", "X-Goog-Signature"),
        ("abfs://c@account.dfs.core.windows.net/p?sas=sv%3D2020", "sas"),
        ("s3://bucket/p?session_token=FwoG", "session_token"),
    ],
)
def test_a_url_holding_credentials_is_refused_without_printing_them(url: str, named: str) -> None:
    with pytest.raises(UserInputError) as refused:
        dataset_location(url)
    message = str(refused.value)
    assert named in message and "environment" in message and "\n" not in message
    for secret in ("wJalrSECRET", "hunter2", "AKIAEXAMPLE", "abc", "FwoG", "sv%3D2020"):
        assert secret not in message


def test_one_url_has_one_default_work_folder_however_spelled(tmp_path: Path) -> None:
    first = DatasetLayout.of(dataset_location("s3://bucket/runs/demo/"), cache_dir=tmp_path)
    second = DatasetLayout.of(dataset_location("S3://bucket//runs/demo"), cache_dir=tmp_path)
    other = DatasetLayout.of(dataset_location("s3://other/runs/demo"), cache_dir=tmp_path)
    assert first.work == second.work != other.work
    assert first.work.parent == tmp_path / "work" and first.work.name.startswith("demo-")
    assert isinstance(first.root, ObjectPath) and str(first.root) == "s3://bucket/runs/demo"
    # the local rule is unchanged
    assert default_work_dir(tmp_path / "out", tmp_path).name.startswith("out-")


def test_a_url_request_survives_prefect_and_dask(tmp_path: Path) -> None:
    """A Prefect parameter is the request's JSON; a Dask worker gets it pickled."""
    request = BackfillRequest(source="x", repo="o/n", out="s3://bucket/p", cache_dir=tmp_path)
    assert isinstance(request.out, DatasetUrl)
    again = BackfillRequest.model_validate_json(request.model_dump_json())
    assert again == request and isinstance(again.out, DatasetUrl)
    assert request.model_dump(mode="json")["out"] == "s3://bucket/p"
    unpickled = pickle.loads(pickle.dumps(request))
    assert unpickled == request and isinstance(unpickled.out, DatasetUrl)
    assert unpickled.layout().work == request.layout().work
    local = BackfillRequest(source="x", repo="o/n", out="out", cache_dir=tmp_path)
    assert local.out == Path("out") and isinstance(local.out, Path)
    assert BackfillRequest.model_validate_json(local.model_dump_json()).out == Path("out")


def test_object_paths_name_their_files_by_url() -> None:
    root = ObjectPath(DatasetUrl.parse("s3://bucket/p?region=eu-west-1"))
    shard = root / "data" / "train-1-a.parquet"
    assert str(shard) == "s3://bucket/p/data/train-1-a.parquet"
    assert shard.name == "train-1-a.parquet" and shard.parent == root / "data"
    assert shard.relative_to(root).as_posix() == "data/train-1-a.parquet"
    assert shard.with_name("x").relative == "data/x"
    assert root.name == "p" and root.parent == root
    assert pickle.loads(pickle.dumps(shard)) == shard
