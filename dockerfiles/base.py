"""Base images: Debian with Python, pulled where a registry answers, else bootstrapped.

Where ``docker pull python:X.Y-slim`` works, that is the base, and every CPython from 3.6 to
3.14 is a candidate. Where no registry is reachable (this project's own machines), only the
Pythons of a Debian suite are (3.9, 3.11, 3.13, plus any ``python:X.Y-slim`` already present):
the Debian suite of that Python's era is bootstrapped with
``debootstrap --variant=minbase`` (python3, venv, CA certificates included) and imported with
``docker import``: about 45 s, once per machine. Either way the result has ``python3`` on the
PATH and is recorded by tag and id. Whether a registry answers is asked once per process
(``registry_answers``: the engine's distribution endpoint, which reads a manifest and pulls
nothing), never once per task; ``TASKFORGE_REGISTRY=0|1`` decides it without asking.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import docker
import docker.errors

from pipeline.core.errors import ImageBuildError, UserInputError

log = logging.getLogger(__name__)

DEBIAN_MIRROR = "http://deb.debian.org/debian"
BOOTSTRAP_PACKAGES = "python3,python3-venv,ca-certificates"


@dataclass(frozen=True)
class BaseImage:
    """A Python base: the registry image to try first and the Debian suite to fall back on."""

    python: str  # "3.11"
    suite: str  # Debian suite whose python3 is that version, "" where none exists
    released: date  # the Python's release: packages pinned before it have no wheels for it

    @property
    def registry_tag(self) -> str:
        """The image a registry serves for this Python (``python:X.Y-slim``)."""
        return f"python:{self.python}-slim"

    @property
    def bootstrap_tag(self) -> str:
        """The tag of the image bootstrapped from Debian for this Python."""
        return f"taskforge/debian:{self.suite}-py{self.python}"

    @property
    def tags(self) -> list[str]:
        """The tags this base may exist under, the registry's first."""
        return [self.registry_tag, *([self.bootstrap_tag] if self.suite else [])]


# Every CPython a task may get, with the Debian suite that ships it where one exists
# (ARCHITECTURE.md: bullseye 3.9, bookworm 3.11, trixie 3.13).
BASES = {
    "3.6": BaseImage("3.6", "", date(2016, 12, 23)),
    "3.7": BaseImage("3.7", "", date(2018, 6, 27)),
    "3.8": BaseImage("3.8", "", date(2019, 10, 14)),
    "3.9": BaseImage("3.9", "bullseye", date(2020, 10, 5)),
    "3.10": BaseImage("3.10", "", date(2021, 10, 4)),
    "3.11": BaseImage("3.11", "bookworm", date(2022, 10, 24)),
    "3.12": BaseImage("3.12", "", date(2023, 10, 2)),
    "3.13": BaseImage("3.13", "trixie", date(2024, 10, 7)),
    "3.14": BaseImage("3.14", "", date(2025, 10, 7)),
}
BOOTSTRAPPED = [python for python, base in BASES.items() if base.suite]
DEFAULT_PYTHON = "3.11"
PROBE_TAG = "python:3.11-slim"


def available_pythons(registry: bool | None = None) -> list[str]:
    """The Pythons a task may get here: all of them where a registry answers, else those of
    a Debian suite and those whose registry image is already present."""
    if registry if registry is not None else registry_answers():
        return list(BASES)
    present = [p for p in BASES if p not in BOOTSTRAPPED and _present(BASES[p].registry_tag)]
    return sorted([*BOOTSTRAPPED, *present], key=lambda p: tuple(map(int, p.split("."))))


@functools.cache
def registry_answers() -> bool:
    """Whether the engine reaches a registry; asked once per process."""
    forced = os.environ.get("TASKFORGE_REGISTRY")
    if forced in {"0", "1"}:
        return forced == "1"
    try:
        client = docker.from_env(timeout=15)
    except docker.errors.DockerException:
        return False
    try:
        client.api.inspect_distribution(PROBE_TAG)
        return True
    except docker.errors.DockerException as error:
        log.info("no registry answers (%s): bootstrapped bases only", str(error)[:120])
        return False
    finally:
        client.close()


@functools.cache
def _present(tag: str) -> bool:
    try:
        client = docker.from_env(timeout=15)
    except docker.errors.DockerException:
        return False
    try:
        return _exists(client, tag)
    finally:
        client.close()


def ensure_base_image(client: docker.DockerClient, python: str = DEFAULT_PYTHON) -> str:
    """The tag of a ready base image for ``python``, pulling or bootstrapping it once."""
    if python not in BASES:
        raise UserInputError(f"no base image for Python {python}; known: {', '.join(BASES)}")
    base = BASES[python]
    for tag in base.tags:
        if _exists(client, tag):
            return tag
    try:
        client.images.pull(base.registry_tag)
        return base.registry_tag
    except docker.errors.APIError as error:
        log.info(
            "cannot pull %s (%s); bootstrapping Debian %s",
            base.registry_tag,
            str(error).splitlines()[0],
            base.suite or "(none)",
        )
    if not base.suite:
        raise ImageBuildError(
            base.registry_tag, f"no registry answers and no Debian suite ships Python {python}", "-"
        )
    bootstrap_debian(client, base)
    return base.bootstrap_tag


def bootstrap_debian(client: docker.DockerClient, base: BaseImage) -> None:
    """Run debootstrap for the suite in a temporary folder; import it as ``base.bootstrap_tag``."""
    if shutil.which("debootstrap") is None:
        raise UserInputError(
            "debootstrap is not installed and no registry answers; "
            "on Debian as root run: bash .ci/docker-engine.sh"
        )
    with tempfile.TemporaryDirectory(prefix="taskforge-rootfs-") as rootfs:
        command = [
            "debootstrap",
            "--variant=minbase",
            f"--include={BOOTSTRAP_PACKAGES}",
            base.suite,
            rootfs,
            DEBIAN_MIRROR,
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log_path = Path(tempfile.gettempdir()) / f"debootstrap-{base.suite}.log"
            log_path.write_text(result.stdout + result.stderr)
            raise ImageBuildError(base.bootstrap_tag, "debootstrap failed", str(log_path))
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        repository, tag = base.bootstrap_tag.split(":")
        with tar.stdout:
            client.api.import_image_from_stream(tar.stdout, repository=repository, tag=tag)
        tar.wait()


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def main() -> None:
    """``python -m dockerfiles.base [PYTHON]``: make the base image ready, print its tag."""
    import sys

    from pipeline.core.engine import docker_client

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    python = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PYTHON
    print(ensure_base_image(docker_client(), python))


if __name__ == "__main__":
    main()
