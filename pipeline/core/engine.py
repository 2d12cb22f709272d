"""The Docker engine client every stage and consumer opens, checked to answer.

The image builder (``dockerfiles``) and the validator (``validators``) both drive the engine;
the client lives here, in the core, so neither stage imports the other for it. An engine that
does not answer is ``DockerUnavailable`` (transient: retried, never a verdict on a task).
"""

from __future__ import annotations

import docker
import docker.errors
import requests

from pipeline.core.errors import DockerUnavailable

ENGINE_TIMEOUT_S = 120  # seconds per engine API call


def docker_client() -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (or the local socket), checked to answer."""
    client: docker.DockerClient | None = None
    try:
        client = docker.from_env(timeout=ENGINE_TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException) as error:
        if client is not None:
            client.close()
        raise DockerUnavailable(str(error).splitlines()[0][:160]) from error
    return client
