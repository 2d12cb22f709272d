"""Instance images: a task's environment image with its repository at the base commit.

SWE-bench's harness runs each instance in an image whose ``/testbed`` holds the repository;
``build_instance_image`` makes that image for a verified task in two layers over its
environment image:

1. a **testbed base**, once per environment image (``taskforge-testbed/<repo>:<fingerprint>``):
   git (the harness applies patches with ``git apply``) and ``patch`` from the image's Debian,
   and ``safe.directory`` set so root may use a repository the sandbox user owns;
2. the **instance layer** (``taskforge-instance/<instance id>:<hash>``): the files of the base
   commit, owned by the sandbox user, in a new repository of one commit. It holds no later
   history, no refs, no remote and no test patch: nothing an agent in the container could read
   the fix or the hidden tests from.

The bytes of the instance layer alone are recorded (``ImageRef.size_bytes``): the cost per
task, since the two layers below it are shared. Both images are labelled ``taskforge`` so the
project's clean-ups find them. A build that fails raises ``ImageBuildError`` naming its log.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import tempfile
from pathlib import Path

import docker
import docker.errors
import git

from dockerfiles.builder import build_logged
from pipeline.core.errors import ImageBuildError
from pipeline.core.git_trees import archive_tree
from pipeline.core.records import ImageRef, Task

SANDBOX_UID = 1000
TESTBED_BASE = """\
FROM {env_id}
USER root
RUN apt-get update -qq \\
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends git patch \\
    && rm -rf /var/lib/apt/lists/* \\
    && git config --system safe.directory '*' \\
    && git config --system user.name taskforge \\
    && git config --system user.email taskforge@localhost
LABEL taskforge=testbed taskforge.env={env_id}
"""
INSTANCE = """\
FROM {base_id}
COPY --chown={uid}:{uid} testbed/ /testbed/
WORKDIR /testbed
LABEL taskforge=instance taskforge.instance={instance_id} taskforge.base_commit={commit}
"""


def build_instance_image(
    client: docker.DockerClient, repo: git.Repo, task: Task, log_dir: Path
) -> ImageRef:
    """The instance image of ``task``, built over its environment image (or found built)."""
    if task.image is None:
        raise ValueError(f"{task.instance_id} has no environment image; is it verified?")
    base = testbed_base(client, task.image, log_dir)
    key = hashlib.sha256(f"{base.id}\n{task.base_commit}".encode()).hexdigest()[:16]
    tag = f"taskforge-instance/{task.instance_id.lower()}:{key}"
    if not client.images.list(name=tag):
        with tempfile.TemporaryDirectory(prefix="taskforge-testbed-") as scratch:
            context = Path(scratch)
            _write_testbed(repo, task.base_commit, context / "testbed")
            dockerfile = INSTANCE.format(
                base_id=base.id,
                uid=SANDBOX_UID,
                instance_id=task.instance_id,
                commit=task.base_commit,
            )
            (context / "Dockerfile").write_text(dockerfile)
            _build(client, context, tag, log_dir / f"instance-{task.instance_id}.log")
    built = client.images.get(tag)
    own = int(built.attrs.get("Size", 0)) - int(client.images.get(base.id).attrs.get("Size", 0))
    return ImageRef(tag=tag, id=str(built.id), fingerprint=key, size_bytes=max(own, 0))


def testbed_base(client: docker.DockerClient, env: ImageRef, log_dir: Path) -> ImageRef:
    """The environment image with git, built once per environment image."""
    name = env.tag.split(":", 1)[0].replace("taskforge-env/", "taskforge-testbed/", 1)
    tag = f"{name}:{env.id.removeprefix('sha256:')[:16]}"
    if not client.images.list(name=tag):
        with tempfile.TemporaryDirectory(prefix="taskforge-testbed-") as scratch:
            context = Path(scratch)
            (context / "Dockerfile").write_text(TESTBED_BASE.format(env_id=env.id))
            _build(client, context, tag, log_dir / f"testbed-{tag.replace('/', '_')}.log")
    return ImageRef(tag=tag, id=str(client.images.get(tag).id))


def _write_testbed(repo: git.Repo, commit: str, folder: Path) -> None:
    """The files of ``commit`` in ``folder``, as a repository of one commit dated like it."""
    archive = io.BytesIO()
    archive_tree(repo, commit, archive)
    archive.seek(0)
    folder.mkdir()
    with tarfile.open(fileobj=archive) as tar:
        tar.extractall(folder, filter="tar")
    when = repo.commit(commit).committed_datetime.isoformat()
    testbed = git.Repo.init(folder, initial_branch="main")
    try:
        with testbed.git.custom_environment(GIT_AUTHOR_DATE=when, GIT_COMMITTER_DATE=when):
            testbed.git.add("-A", "-f")  # a tracked file the .gitignore names is still the tree's
            testbed.git.execute(
                [
                    "git",
                    "-c",
                    "user.name=taskforge",
                    "-c",
                    "user.email=taskforge@localhost",
                    "commit",
                    "-q",
                    "--no-verify",
                    "--allow-empty",
                    "-m",
                    f"base commit {commit}",
                ]
            )
            testbed.git.gc("-q", "--prune=now")
    finally:
        testbed.close()


def _build(client: docker.DockerClient, context: Path, tag: str, log_path: Path) -> None:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    kind = tag.split("/", 1)[0].removeprefix("taskforge-")  # "testbed" or "instance"
    try:
        error = build_logged(client, context, tag, log_path, kind)
    except docker.errors.APIError as failure:
        error = str(failure)
    if error:
        raise ImageBuildError(tag, error.splitlines()[-1][:200], str(log_path))
