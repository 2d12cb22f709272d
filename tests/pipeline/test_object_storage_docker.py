"""`taskforge demo --out s3://BUCKET/demo` end to end against moto's S3 server: the same tasks as
the local demo (tests/pipeline/test_demo_docker.py), the bucket holding only what is published,
the work folder local, and a rerun that skips everything."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.dataset.filesystems import filesystem_of
from pipeline.dataset.location import dataset_location
from pipeline.dataset.manifest import manifest_problems
from pipeline.dataset.storage import DatasetLayout
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES
from tests.pipeline.test_demo_docker import EXPECTED_FAIL_TO_PASS, EXPECTED_PASS_TO_PASS
from tests.services import S3Service
from tests.taskforge_cli import outcomes, parquet_frame, run, verified_lists

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class S3Demo:
    folder: Path  # the working folder of the run (its cache: data/cache)
    url: str
    bucket: str
    service: S3Service
    stdout: str

    @property
    def layout(self) -> DatasetLayout:
        return DatasetLayout.of(dataset_location(self.url), cache_dir=self.folder / "data/cache")

    def published(self) -> list[str]:
        prefix = f"{self.bucket}/demo"
        return [k.removeprefix(f"{prefix}/") for k in self.service.keys(prefix)]

    def run_demo(self) -> subprocess.CompletedProcess[str]:
        return run("demo", "--out", self.url, cwd=self.folder, timeout=600, env=self.service.env)


@pytest.fixture(scope="module")
def s3_demo(
    s3_server: S3Service,
    tmp_path_factory: pytest.TempPathFactory,
    prefect_api: str,
) -> Iterator[S3Demo]:
    bucket = s3_server.create_bucket(f"tf-demo-{uuid.uuid4().hex[:8]}")
    folder = tmp_path_factory.mktemp("demo-s3")
    demo = S3Demo(folder, f"s3://{bucket}/demo", bucket, s3_server, "")
    result = demo.run_demo()
    assert result.returncode == 0, result.stderr[-3000:]
    with pytest.MonkeyPatch.context() as environment:  # this process reads the bucket too
        for name, value in s3_server.env.items():
            environment.setenv(name, value)
        filesystem_of.cache_clear()
        yield S3Demo(folder, demo.url, bucket, s3_server, result.stdout)
    filesystem_of.cache_clear()


def test_the_tasks_are_those_of_the_local_demo(s3_demo: S3Demo) -> None:
    assert verified_lists(s3_demo.url, "FAIL_TO_PASS") == EXPECTED_FAIL_TO_PASS
    assert verified_lists(s3_demo.url, "PASS_TO_PASS") == EXPECTED_PASS_TO_PASS
    assert outcomes(s3_demo.url) == {n: o.value for n, o in DESIGNED_OUTCOMES.items()}
    verified = parquet_frame(s3_demo.url, "data")
    assert verified is not None and verified["image"].struct.field("tag").n_unique() == 1
    assert f"output: {s3_demo.url}" in s3_demo.stdout.replace("\n", "")


def test_the_bucket_holds_only_what_is_published(s3_demo: S3Demo) -> None:
    layout = s3_demo.layout  # the default work folder, local, under the run's cache folder
    assert sorted(s3_demo.published()) == sorted(
        ["README.md", *(layout.relative(s) for s in layout.shards())]
    )
    assert layout.work.is_relative_to(s3_demo.folder / "data" / "cache" / "work")
    assert layout.manifest_path.is_file() and any(layout.results_dir.iterdir())
    assert manifest_problems(layout, verify_checksums=True) == []
    assert s3_demo.service.uploads_in_progress(s3_demo.bucket) == []


def test_a_rerun_skips_everything(s3_demo: S3Demo) -> None:
    before = s3_demo.published()
    result = s3_demo.run_demo()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "already in the output" in result.stdout
    shards = [k for k in s3_demo.published() if k.endswith(".parquet")]
    assert shards == [k for k in before if k.endswith(".parquet")]  # no shard written again
    assert manifest_problems(s3_demo.layout, verify_checksums=True) == []
