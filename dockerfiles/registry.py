"""Push images to a registry and record them by digest (``--registry HOST[:PORT]/NAMESPACE``).

``Registry.parse`` checks the option's text once, at the edge. ``push_image`` tags an image
``HOST[:PORT]/NAMESPACE/<repository of its tag>:<its tag>``, pushes it, and returns the
``ImageRef`` with ``pull_ref`` set to the registry's digest of what was pushed
(``HOST/NAMESPACE/NAME@sha256:...``): the one reference that can only ever name that image.
Pushing is idempotent: an image already pushed to the same registry is returned as it is, and
a registry that holds the layers already receives none of them again.

``answers`` asks the registry's ``/v2/`` endpoint before any work starts, so an unreachable
registry is one line at the start of a run, not a failure after the first build. Plain HTTP
is used for ``localhost`` and ``127.0.0.0/8`` registries, as the Docker engine itself does;
every other host is asked over HTTPS.

Invariants: a push that the engine reports as failed (its stream carries an ``error``) raises
``TransientError`` (retried by the Prefect task), never returns a reference; the recorded
digest is read back from the engine (``RepoDigests``), not parsed out of the push's output.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass

import docker
import docker.errors
import requests

from pipeline.core.errors import TransientError, UserInputError
from pipeline.core.records import ImageRef

# HOST[:PORT]/NAMESPACE[/MORE], lower-case path components as Docker's reference grammar says
REGISTRY = re.compile(
    r"^(?P<host>[A-Za-z0-9.-]+(?::\d{1,5})?)"
    r"/(?P<namespace>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)$"
)
PUSH_TIMEOUT_S = 10


@dataclass(frozen=True)
class Registry:
    """A registry and the namespace images are pushed under."""

    host: str  # "HOST" or "HOST:PORT"
    namespace: str

    @classmethod
    def parse(cls, text: str) -> Registry:
        """``HOST[:PORT]/NAMESPACE``, or a ``UserInputError`` saying what is wrong."""
        found = REGISTRY.match(text.strip())
        # Docker reads the first component as a registry only with a dot, a port or localhost
        if found is None or not ({".", ":"} & set(found["host"]) or found["host"] == "localhost"):
            raise UserInputError(
                f"--registry {text!r}: expected HOST[:PORT]/NAMESPACE, e.g. "
                "registry.example.org/taskforge or 127.0.0.1:5000/taskforge (lower case)"
            )
        return cls(found["host"], found["namespace"])

    @property
    def prefix(self) -> str:
        """What every pushed image's name starts with."""
        return f"{self.host}/{self.namespace}"

    @property
    def plain_http(self) -> bool:
        """Whether the engine talks HTTP to it: loopback hosts only, as Docker does."""
        name = self.host.rsplit(":", 1)[0] if ":" in self.host else self.host
        if name == "localhost":
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False

    def name_for(self, tag: str) -> str:
        """The pushed name of a local image tagged ``tag``."""
        return f"{self.prefix}/{tag}"

    def answers(self) -> None:
        """Raise ``UserInputError`` unless the registry's API answers."""
        url = f"{'http' if self.plain_http else 'https'}://{self.host}/v2/"
        try:
            answer = requests.get(url, timeout=PUSH_TIMEOUT_S)
        except requests.RequestException as error:
            raise UserInputError(
                f"--registry {self.prefix}: {url} does not answer ({error.__class__.__name__}); "
                "is the registry running?"
            ) from None
        if answer.status_code not in (200, 401):
            raise UserInputError(
                f"--registry {self.prefix}: {url} answered {answer.status_code}; not a registry"
            )


def push_image(client: docker.DockerClient, image: ImageRef, registry: Registry) -> ImageRef:
    """``image`` pushed to ``registry``, with ``pull_ref`` its digest there."""
    if image.pull_ref.startswith(registry.prefix + "/"):
        return image
    name = registry.name_for(image.tag)
    repository, _, version = name.rpartition(":")
    try:
        local = client.images.get(image.id)
        local.tag(repository, version)
        for line in client.api.push(repository, version, stream=True, decode=True):
            if "error" in line:
                raise TransientError(f"pushing {name} failed: {line['error']}")
        local.reload()
    except (docker.errors.APIError, requests.RequestException) as error:
        raise TransientError(f"pushing {name} failed: {error}") from None
    digests = [d for d in local.attrs.get("RepoDigests", []) if d.startswith(repository + "@")]
    if not digests:
        recorded = json.dumps(local.attrs.get("RepoDigests"))
        raise TransientError(f"pushing {name}: the engine recorded no digest ({recorded})")
    return image.revised(pull_ref=digests[0])
