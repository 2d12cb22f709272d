"""An image's ENV as Docker reads it: values with spaces, quotes and dollars arrive as given."""

from __future__ import annotations

import io
from pathlib import Path

import docker
import pytest

from dockerfiles.base import BASES
from dockerfiles.language_image import env_instruction
from pipeline.core.languages import CARGO_FEATURES, MAVEN_FLAGS

pytestmark = pytest.mark.docker

ITEMS = [
    f"{MAVEN_FLAGS}=-Dmaven.compiler.source=8 -Dmaven.compiler.target=8",
    f"{CARGO_FEATURES}=--features std,serde",
    'ODD=a "quoted" $HOME \\ value',
    "PLAIN=1",
]


def test_env_values_reach_the_container_exactly(
    engine: docker.DockerClient, tmp_path: Path
) -> None:
    base = BASES["3.11"].bootstrap_tag
    dockerfile = f"FROM {base}\n{env_instruction(ITEMS)}\n"
    image, _ = engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), rm=True)
    try:
        printed = engine.containers.run(image.id, ["env"], remove=True, network_disabled=True)
    finally:
        engine.images.remove(image.id, force=True)
    lines = set(printed.decode().splitlines())
    assert set(ITEMS) <= lines
