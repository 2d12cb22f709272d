"""A task's base commit read out of its instance image, where no repository holds it.

An instance image (``--instance-images``) carries the repository at the base commit in
``/testbed``: a git repository of one commit whose tree is the base commit's. A consumer on a
machine with no clone of the task's repository copies that folder out once, into
``CACHE/testbeds/<instance id>/``, and uses it as the task's ``BaseCommit`` — the files are the
same, only the commit id differs. The image is pulled by digest where this engine lacks it
(``pipeline.core.images``). The copy is written to a temporary folder and renamed, so a killed
copy leaves nothing that passes for one.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import tempfile
from contextlib import closing
from pathlib import Path

import docker.errors
import git
import requests

from pipeline.core.engine import docker_client
from pipeline.core.errors import TransientError, UserInputError
from pipeline.core.images import ensure_image
from pipeline.core.records import Task
from validators.regrade import BaseCommit

TESTBED = "/testbed"


def testbed_commit(task: Task, cache_dir: Path) -> BaseCommit:
    """The base tree of ``task`` as its instance image holds it, copied out once."""
    if task.instance_image is None:
        raise UserInputError(f"{task.instance_id} has no instance image to read its base from")
    folder = cache_dir / "testbeds" / task.instance_id
    if not (folder / ".git").is_dir():
        _copy_out(task, folder)
    repo = git.Repo(folder)
    try:
        return BaseCommit(Path(repo.git_dir), repo.head.commit.hexsha)
    finally:
        repo.close()


def _owned_here(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo:
    """The ``tar`` filter's checks, owned by whoever extracts (git refuses another's repo)."""
    return tarfile.tar_filter(member, path).replace(uid=None, gid=None, uname=None, gname=None)  # type: ignore[arg-type]


def _copy_out(task: Task, folder: Path) -> None:
    assert task.instance_image is not None
    folder.parent.mkdir(parents=True, exist_ok=True)
    with closing(docker_client()) as client:
        image = ensure_image(client, task.instance_image)
        try:
            container = client.containers.create(image, command=["true"], network_disabled=True)
            try:
                stream, _ = container.get_archive(TESTBED)
                archive = io.BytesIO(b"".join(stream))
            finally:
                container.remove(force=True)
        except (docker.errors.APIError, requests.RequestException) as error:
            raise TransientError(f"reading {TESTBED} of {image} failed: {error}") from None
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".testbed-") as scratch:
        with tarfile.open(fileobj=archive) as tar:
            tar.extractall(scratch, filter=_owned_here)
        shutil.move(str(Path(scratch) / "testbed"), folder)
