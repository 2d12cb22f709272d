"""``ensure_image``: an image used where present, pulled by digest where not, never another."""

from __future__ import annotations

import io
from collections.abc import Iterator

import docker
import pytest

from dockerfiles.environment import Environment
from dockerfiles.registry import Registry, push_image
from pipeline.core.images import ImageUnavailable, ensure_image
from pipeline.core.records import ImageRef

pytestmark = pytest.mark.docker


@pytest.fixture
def small_image(engine: docker.DockerClient, sample_env: Environment) -> Iterator[ImageRef]:
    """A one-label image over the sample environment: its own id, no layer of its own."""
    dockerfile = f"FROM {sample_env.image.id}\nLABEL taskforge=test-ensure-image\n"
    image, _ = engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="tf-ensure:one")
    yield ImageRef(tag="tf-ensure:one", id=str(image.id))
    for name in ("tf-ensure:one", str(image.id)):
        try:
            engine.images.remove(name, force=True)
        except docker.errors.ImageNotFound:
            continue


def test_present_absent_and_pulled_by_digest(
    engine: docker.DockerClient, registry: str, small_image: ImageRef
) -> None:
    assert ensure_image(engine, small_image) == "tf-ensure:one"
    with pytest.raises(ImageUnavailable, match="taskforge images import"):
        ensure_image(engine, small_image.revised(id="sha256:" + "0" * 64))  # the tag moved

    pushed = push_image(engine, small_image, Registry.parse(f"{registry}/unit"))
    assert pushed.pull_ref.startswith(f"{registry}/unit/tf-ensure@sha256:")
    assert push_image(engine, pushed, Registry.parse(f"{registry}/unit")) == pushed  # once only
    engine.images.remove(small_image.id, force=True)
    with pytest.raises(ImageUnavailable, match="never pushed"):
        ensure_image(engine, small_image)
    assert ensure_image(engine, pushed) == "tf-ensure:one"
    assert engine.images.get("tf-ensure:one").id == small_image.id  # the very image pushed
