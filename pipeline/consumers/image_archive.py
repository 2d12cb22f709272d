"""``taskforge images export`` / ``import``: a dataset's images moved as one archive.

Where no registry joins two machines, the images of a dataset's verified tasks — each
environment image, and each instance image where there is one — travel as one archive in
``docker save``'s format (the Docker engine's ``GET /images/get?names=...``), which ``docker
load`` and ``taskforge images import`` read. Images are saved by tag, so a loaded image keeps
the tag and the id its tasks record, and ``pipeline.core.images.ensure_image`` finds it there;
an image this engine lacks but a registry holds is pulled by digest first.

Invariants: the archive is written to a hidden temporary file and renamed, so a killed export
leaves no archive that looks whole; an import that the engine refuses is bad input naming the
file, and nothing is half-tagged (the engine loads an archive whole or not at all).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import docker.errors
import requests

from pipeline.core.engine import docker_client
from pipeline.core.errors import TransientError, UserInputError
from pipeline.core.images import ensure_image
from pipeline.core.records import ImageRef, Task
from pipeline.dataset.shards import DatasetLayout, read_tasks
from pipeline.dataset.storage import replace_atomically

CHUNK = 1 << 21


@dataclass(frozen=True)
class ArchiveReport:
    """What an export or import moved."""

    images: list[str]  # tags
    bytes: int


def dataset_images(tasks: Iterable[Task]) -> list[ImageRef]:
    """The images the verified ``tasks`` run in, each once, in a stable order."""
    found: dict[str, ImageRef] = {}
    for task in tasks:
        if not task.verified:
            continue
        for image in (task.image, task.instance_image):
            if image is not None:
                found.setdefault(image.tag, image)
    return [found[tag] for tag in sorted(found)]


def export_images(layout: DatasetLayout, target: Path) -> ArchiveReport:
    """Write every image of ``layout``'s verified tasks to the archive ``target``."""
    layout.require()
    if target.is_dir():
        raise UserInputError(f"--to {target} is a folder; give the archive's file name")
    images = dataset_images(read_tasks(layout))
    if not images:
        raise UserInputError(f"{layout.root} has no verified task with an image to export")
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(docker_client()) as client:
        names = [ensure_image(client, image) for image in images]

        def save(handle: BinaryIO) -> None:
            api = client.api
            try:
                answer = api._get(api._url("/images/get"), params={"names": names}, stream=True)
                api._raise_for_status(answer)
                for chunk in answer.iter_content(CHUNK):
                    handle.write(chunk)
            except (docker.errors.APIError, requests.RequestException) as error:
                raise TransientError(f"saving the images failed: {error}") from None

        replace_atomically(target, save)
    return ArchiveReport(names, target.stat().st_size)


def import_images(archive: Path) -> ArchiveReport:
    """Load the images of ``archive`` into this engine."""
    if not archive.is_file():
        raise UserInputError(f"{archive} is not a file; give an archive `images export` wrote")
    loaded: list[str] = []
    with closing(docker_client()) as client, archive.open("rb") as handle:
        try:
            for line in client.api.load_image(handle):
                if "error" in line:
                    raise UserInputError(f"{archive}: the engine refused it: {line['error']}")
                stream = str(line.get("stream", ""))
                if stream.startswith("Loaded image:"):
                    loaded.append(stream.removeprefix("Loaded image:").strip())
        except docker.errors.APIError as error:
            raise UserInputError(
                f"{archive} is not an image archive: {error.explanation}"
            ) from None
        except requests.RequestException as error:
            raise TransientError(f"loading {archive} failed: {error}") from None
    return ArchiveReport(loaded, archive.stat().st_size)
