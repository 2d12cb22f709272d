"""One call that gives a repository's environment image: base image, recipe, build or reuse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docker
import git

from dockerfiles.base import ensure_base_image
from dockerfiles.builder import ensure_env_image, env_spec
from dockerfiles.recipe import detect_recipe
from pipeline.records import ImageRef, InstallConfig


@dataclass(frozen=True)
class Environment:
    image: ImageRef
    config: InstallConfig
    setup_commit: str
    built: bool  # False when an image with the same fingerprint already existed


def prepare_environment(
    client: docker.DockerClient,
    repo: git.Repo,
    repo_name: str,
    setup_commit: str,
    python: str,
    log_dir: Path,
) -> Environment:
    """The environment image for ``repo`` at ``setup_commit``, built only if missing."""
    base_tag = ensure_base_image(client, python)
    config = detect_recipe(repo.commit(setup_commit), python, base_tag)
    spec = env_spec(repo, repo_name, setup_commit, config, client.images.get(base_tag).id)
    existed = bool(client.images.list(name=spec.tag))
    image = ensure_env_image(client, repo, spec, log_dir)
    return Environment(image, config, setup_commit, built=not existed)
