"""Remove an environment image that failed its check, even while a container still uses it.

An image that builds but fails the collection check must never be taken for a working
environment by a later run, which reuses any image whose tag exists. Removing it can meet
``409 Conflict: image is being used by running container``: the check's own container still
being removed, or a container left running by an earlier run that was stopped. Our own
containers of that image are removed first; if the engine still refuses, the image loses its
environment tag (so nothing reuses it) and keeps a ``taskforge-discarded`` tag, and
``remove_discarded`` removes it at the start of a later run, once it is free.
"""

from __future__ import annotations

import contextlib
import os

import docker

from pipeline.core.records import ImageRef

DISCARDED = "taskforge-discarded"


def discard_image(client: docker.DockerClient, image: ImageRef) -> bool:
    """Remove ``image``; False when it is in use and was left tagged for a later run."""
    mine = {"label": ["taskforge=test-run", f"taskforge.pid={os.getpid()}"]}
    for container in client.containers.list(
        all=True, sparse=True, filters={**mine, "ancestor": image.id}
    ):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    try:
        client.images.remove(image.id, force=True)
        return True
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError as error:
        if error.status_code != 409:
            raise
    found = client.images.get(image.id)
    found.tag(DISCARDED, image.id.removeprefix("sha256:")[:12])
    with contextlib.suppress(docker.errors.NotFound):
        client.images.remove(image.tag)  # the name only: the image keeps its other tag
    return False


def remove_discarded(client: docker.DockerClient) -> int:
    """Remove the images an earlier run left tagged ``taskforge-discarded`` that are free now."""
    removed = 0
    for image in client.images.list(name=DISCARDED):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            client.images.remove(image.id, force=True)
            removed += 1
    return removed
