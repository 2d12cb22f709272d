"""A backfill with nothing new says so and stops before Prefect, Docker or any write.

The dataset is made finished by hand (every PR of the sample repository written, manifest and
card final), then ``taskforge backfill`` runs as a user runs it, with the Docker engine pointed
at a socket that does not exist: it must print the summary, exit 0, import no Prefect module
and leave every file of the output, the work folder and the cache as it was.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipeline.backfill.request import BackfillRequest
from pipeline.backfill.up_to_date import dataset_final, mark_final, nothing_new
from pipeline.dataset.card import finalize
from pipeline.dataset.location import dataset_location
from pipeline.dataset.shards import write_tasks
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES, SAMPLE_REPO_NAME
from tests.conftest import S3Bucket
from tests.pipeline.factories import make_task

WATCHED = (
    "import atexit, sys\n"
    "def report():\n"
    "    loaded = sorted(m for m in sys.modules if m == 'prefect' or m.startswith('prefect.'))\n"
    "    print('PREFECT-MODULES', len(loaded), file=sys.stderr)\n"
    "atexit.register(report)\n"
    "from pipeline.cli.main import main\n"
    "main()\n"
)


def files(*roots: Path) -> dict[Path, tuple[int, int]]:
    return {
        path: (path.stat().st_size, path.stat().st_mtime_ns)
        for root in roots
        for path in [root, *root.rglob("*")]
    }


def finished(source: Path, out: Path, work: Path, cache: Path) -> BackfillRequest:
    request = BackfillRequest(
        source=str(source), repo=SAMPLE_REPO_NAME, out=out, work_dir=work, cache_dir=cache
    )
    layout = request.layout()
    tasks = [make_task(n, o, repo=SAMPLE_REPO_NAME) for n, o in DESIGNED_OUTCOMES.items()]
    write_tasks(layout, tasks[:4])
    write_tasks(layout, tasks[4:])
    finalize(layout)
    mark_final(layout)  # as the flow does once the run is finished
    return request


def test_nothing_new_imports_no_prefect_and_writes_nothing(
    sample_repo_path: Path, tmp_path: Path
) -> None:
    out, work, cache = tmp_path / "out", tmp_path / "work", tmp_path / "cache"
    cache.mkdir()
    finished(sample_repo_path, out, work, cache)
    before = files(out, work, cache)
    result = subprocess.run(
        [sys.executable, "-c", WATCHED, "backfill", str(sample_repo_path), "--repo",
         SAMPLE_REPO_NAME, "--out", str(out), "--work-dir", str(work), "--cache-dir", str(cache)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "150", "DOCKER_HOST": f"unix://{tmp_path}/no.sock",
             "PREFECT_API_URL": ""},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "PREFECT-MODULES 0" in result.stderr
    assert "9 │ merged PRs selected" in result.stdout
    assert "9 │ already in the output (skipped)" in result.stdout
    assert f"nothing new: the 9 merged PRs selected are all in {out}" in result.stdout
    assert files(out, work, cache) == before  # no file, folder, lock or log written


def test_anything_unfinished_is_left_to_the_run(sample_repo_path: Path, tmp_path: Path) -> None:
    out, work, cache = tmp_path / "out", tmp_path / "work", tmp_path / "cache"
    request = finished(sample_repo_path, out, work, cache)
    assert nothing_new(request) is not None
    layout = request.layout()

    write_tasks(layout, [make_task(1, repo=SAMPLE_REPO_NAME)])  # a run killed before finalize
    assert not dataset_final(layout) and nothing_new(request) is None
    finalize(layout)
    assert not dataset_final(layout)  # finalized by `compact`, say: not by a finished run
    mark_final(layout)
    assert dataset_final(layout) and nothing_new(request) is not None

    other = request.model_copy(update={"repo": "taskforge/other"})  # no PR of it written
    assert nothing_new(other) is None
    unlisted = out / "data" / "train-20990101T000000000000-0123abcd.parquet"
    unlisted.write_bytes(b"")  # a shard the manifest does not list: a writer was killed
    assert not dataset_final(layout)
    unlisted.unlink()
    (out / "manifest.json").write_text("{}")  # the previous layout, waiting to be moved
    assert not dataset_final(layout)


def test_the_demo_writes_its_repository_again_only_when_it_changed(tmp_path: Path) -> None:
    from pipeline.demo.sample_repo import is_current, write_sample_repo

    repo = write_sample_repo(tmp_path / "repo")
    assert is_current(repo)
    (repo / "README.md").write_text("edited\n")
    assert not is_current(repo)  # a user's edit: written again
    assert not is_current(tmp_path / "missing")


def test_nothing_new_behind_a_url(sample_repo_path: Path, tmp_path: Path, s3: S3Bucket) -> None:
    request = BackfillRequest(
        source=str(sample_repo_path),
        repo=SAMPLE_REPO_NAME,
        out=dataset_location(s3.url()),
        work_dir=tmp_path / "work",
        cache_dir=tmp_path / "cache",
    )
    layout = request.layout()
    layout.prepare()
    tasks = [make_task(n, o, repo=SAMPLE_REPO_NAME) for n, o in DESIGNED_OUTCOMES.items()]
    write_tasks(layout, tasks)
    finalize(layout)
    assert nothing_new(request) is None  # not marked final by a finished run
    mark_final(layout)
    done = nothing_new(request)
    assert done is not None and (done.mined, done.skipped) == (9, 9)
    write_tasks(layout, tasks[:1])  # a later write: the manifest changed
    assert nothing_new(request) is None
