"""A task's image in this engine: used as it is when present, else pulled by its digest.

Everything that runs a task (validation on another worker, ``taskforge evaluate``, RL
environments) calls ``ensure_image`` first. The image is present when the engine holds an
image of the task's id under its tag; otherwise, when the task records a ``pull_ref``
(``HOST/NAMESPACE/NAME@sha256:...``, written by ``--registry``), that exact image is pulled and
tagged with the task's tag, so later runs find it without pulling. A pull by digest cannot
bring another image than the one validated: the digest is of its manifest. Without a
``pull_ref`` an absent image is bad input, and the message says how to bring it
(``taskforge images import``).

Invariants: an image whose id differs from the recorded one is never used (a tag can move);
an engine or registry that fails, and an image this engine cannot get, are ``TransientError``
(``ImageUnavailable``): never a verdict on the task or the model, graded again by a rerun once
the image is imported or the registry answers.
"""

from __future__ import annotations

import docker
import docker.errors
import requests

from pipeline.core.errors import TransientError
from pipeline.core.records import ImageRef


class ImageUnavailable(TransientError):
    """Raised when a task's image is neither in this engine nor to be pulled from a registry."""


def ensure_image(client: docker.DockerClient, image: ImageRef) -> str:
    """A name this engine runs ``image`` by: its tag, after pulling it by digest if absent."""
    if _present(client, image):
        return image.tag
    if not image.pull_ref:
        raise ImageUnavailable(
            f"image {image.tag} ({image.id[:19]}) is not in this Docker engine and was never "
            "pushed to a registry; bring it with `taskforge images import ARCHIVE` or build "
            "the dataset with --registry"
        )
    try:
        pulled = client.images.pull(image.pull_ref)
    except docker.errors.NotFound:
        raise ImageUnavailable(
            f"{image.pull_ref} is not in its registry; was it deleted?"
        ) from None
    except (docker.errors.APIError, requests.RequestException) as error:
        raise TransientError(f"could not pull {image.pull_ref}: {_first_line(error)}") from None
    if pulled.id != image.id:
        raise ImageUnavailable(
            f"{image.pull_ref} is image {pulled.id[:19]}, not the validated {image.id[:19]}"
        )
    pulled.tag(*_split_tag(image.tag))
    return image.tag


def _present(client: docker.DockerClient, image: ImageRef) -> bool:
    try:
        found = client.images.get(image.tag)
    except docker.errors.ImageNotFound:
        return False
    except (docker.errors.APIError, requests.RequestException) as error:
        raise TransientError(f"the Docker engine failed: {_first_line(error)}") from None
    return bool(found.id == image.id)


def _split_tag(tag: str) -> tuple[str, str]:
    """``repo:tag`` split where the tag starts (a registry's port is not a tag)."""
    name, _, version = tag.rpartition(":")
    if not name or "/" in version:
        return tag, "latest"
    return name, version


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else error.__class__.__name__
