"""Objects a repository lacks cost the PRs that need them, never the run.

A damaged mirror (a blob deleted), and a blobless partial clone with and without its promisor
remote: mining gives the PR whose diff needs the blob a ``missing_object`` outcome naming git's
line, reading a tree names the path and the object, and a partial clone whose promisor answers
fetches what it lacks on demand.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from pathlib import Path

import git
import pytest

from dockerfiles.recipe import dependency_files
from extractors.candidates import build_candidates
from extractors.git_history import find_merged_pulls
from pipeline.backfill.source import open_source
from pipeline.core.errors import MissingObjectError, UserInputError
from pipeline.core.git_trees import archive_tree
from pipeline.core.records import Outcome
from pipeline.demo.sample_repo import CORE_V0, DESIGNED_OUTCOMES, write_sample_repo


def blob_id(text: str) -> str:
    """The id git gives a blob of ``text``."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _delete_loose(repo: git.Repo, sha: str) -> None:
    (Path(repo.git_dir) / "objects" / sha[:2] / sha[2:]).unlink()


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[git.Repo, str]:
    """The sample repository without the first version of ``tinytext/core.py``."""
    repo = git.Repo(write_sample_repo(tmp_path / "tinytext"))
    blob = blob_id(CORE_V0)
    _delete_loose(repo, blob)
    return repo, blob


def test_a_pull_whose_diff_needs_a_missing_blob_is_rejected_alone(
    damaged: tuple[git.Repo, str],
) -> None:
    repo, blob = damaged
    candidates = {
        c.pull_number: c for c in build_candidates(repo, "o/n", find_merged_pulls(repo, "main"))
    }
    assert set(candidates) == set(DESIGNED_OUTCOMES)
    missing = {n for n, c in candidates.items() if c.outcome is Outcome.MISSING_OBJECT}
    assert missing  # the PRs changing core.py from its first version
    for number in missing:
        detail = candidates[number].outcome_detail
        assert blob in detail and "tinytext/core.py" in detail, detail
    readable = [c for n, c in candidates.items() if n not in missing]
    assert readable
    for candidate in readable:  # what the extractor decides is decided as before
        assert candidate.outcome in {None, DESIGNED_OUTCOMES[candidate.pull_number]}


def test_reading_a_tree_names_the_missing_path_and_object(damaged: tuple[git.Repo, str]) -> None:
    repo, blob = damaged
    initial = next(repo.iter_commits("main", reverse=True)).hexsha
    with pytest.raises(MissingObjectError) as raised:
        archive_tree(repo, initial, io.BytesIO())
    assert raised.value.path == "tinytext/core.py"
    assert raised.value.object_id == blob
    assert "tinytext/core.py" in str(raised.value) and "\n" not in str(raised.value)
    archive_tree(repo, "main", io.BytesIO())  # a later tree has the later version: readable


def _served(tmp_path: Path) -> Path:
    """A source repository that lets clients filter blobs (as GitHub does)."""
    source = write_sample_repo(tmp_path / "served")
    git.Repo(source).git.config("uploadpack.allowFilter", "true")
    return source


def _missing(repo: git.Repo) -> list[str]:
    listed = repo.git.rev_list("--objects", "--all", "--missing=print")
    return [line[1:] for line in listed.splitlines() if line.startswith("?")]


def test_a_blobless_mirror_fetches_blobs_on_demand(tmp_path: Path) -> None:
    source = _served(tmp_path)
    mirror = open_source(f"file://{source}", tmp_path / "cache", blobless=True)
    assert _missing(mirror), "the mirror holds no blob"
    pulls = find_merged_pulls(mirror, "main")  # commits and trees suffice for mining
    assert {p.number for p in pulls} == set(DESIGNED_OUTCOMES)
    tree = io.BytesIO()
    archive_tree(mirror, "main", tree)  # blobs fetched from the promisor remote
    assert tree.getvalue()
    assert "pyproject.toml" in dependency_files(mirror.commit("main"))


def test_a_blobless_mirror_without_its_remote_names_what_it_lacks(tmp_path: Path) -> None:
    source = _served(tmp_path)
    mirror = open_source(f"file://{source}", tmp_path / "cache", blobless=True)
    shutil.rmtree(source)  # the promisor remote is gone
    initial = next(mirror.iter_commits("main", reverse=True)).hexsha
    with pytest.raises(MissingObjectError) as raised:
        archive_tree(mirror, initial, io.BytesIO())
    assert raised.value.path and raised.value.object_id
    with pytest.raises(MissingObjectError):
        dependency_files(mirror.commit(initial))
    # mining still works from commits and trees; the diffs it cannot read are rejected
    candidates = build_candidates(mirror, "o/n", find_merged_pulls(mirror, "main"))
    assert {c.outcome for c in candidates} == {Outcome.MISSING_OBJECT}


def test_a_mirror_without_its_config_file_is_named(tmp_path: Path) -> None:
    source = write_sample_repo(tmp_path / "tinytext")
    bare = tmp_path / "copy"
    subprocess.run(["git", "clone", "-q", "--mirror", str(source), str(bare)], check=True)
    (bare / "config").unlink()
    with pytest.raises(UserInputError, match="without its config file; run `git init --bare"):
        open_source(str(bare), tmp_path / "cache")
