"""An image that failed its check is removed even while a container still uses it."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator

import docker
import pytest

from dockerfiles.base import DEFAULT_PYTHON, ensure_base_image
from dockerfiles.discard import DISCARDED, discard_image, remove_discarded
from pipeline.core.records import ImageRef

pytestmark = pytest.mark.docker


@pytest.fixture
def failed_image(engine: docker.DockerClient) -> Iterator[ImageRef]:
    """A small image standing for an environment that failed its check."""
    base = ensure_base_image(engine, DEFAULT_PYTHON)
    tag = f"taskforge-env/test__discard:{uuid.uuid4().hex[:12]}"
    dockerfile = f"FROM {base}\nLABEL taskforge.test={tag.split(':')[1]}\n"
    image, _ = engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True)
    yield ImageRef(tag=tag, id=image.id, fingerprint="")
    for leftover in engine.containers.list(all=True, filters={"ancestor": image.id}):
        leftover.remove(force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(image.id)  # every test leaves nothing behind


def _running(
    engine: docker.DockerClient, image: ImageRef, pid: int
) -> docker.models.containers.Container:
    labels = {"taskforge": "test-run", "taskforge.pid": str(pid)}
    return engine.containers.run(
        image.id, ["sleep", "300"], detach=True, labels=labels, network_mode="none"
    )


def test_an_image_in_use_by_another_run_is_untagged_and_removed_later(
    engine: docker.DockerClient, failed_image: ImageRef
) -> None:
    other_run = _running(engine, failed_image, pid=2**22 + 1)  # a run stopped earlier
    assert discard_image(engine, failed_image) is False
    assert not engine.images.list(name=failed_image.tag)  # no later run can reuse it
    kept = engine.images.get(failed_image.id)
    assert any(t.startswith(f"{DISCARDED}:") for t in kept.tags)
    assert remove_discarded(engine) == 0  # still in use: left for later
    other_run.remove(force=True)
    assert remove_discarded(engine) == 1


def test_our_own_container_of_the_image_is_removed_first(
    engine: docker.DockerClient, failed_image: ImageRef
) -> None:
    own = _running(engine, failed_image, pid=os.getpid())  # our check container, still there
    assert discard_image(engine, failed_image) is True
    with pytest.raises(docker.errors.NotFound):
        own.reload()
