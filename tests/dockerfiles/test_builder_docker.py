"""Environment images: built once per dependency fingerprint, reused by tag."""

from __future__ import annotations

from pathlib import Path

import docker
import git
import pytest

from dockerfiles.builder import ensure_env_image, env_spec
from dockerfiles.environment import Environment, prepare_environment
from pipeline.demo.sample_repo import SAMPLE_REPO_NAME

pytestmark = pytest.mark.docker


def test_same_fingerprint_reuses_the_image(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment, tmp_path: Path
) -> None:
    again = prepare_environment(
        engine, sample_repo, SAMPLE_REPO_NAME, sample_env.setup_commit, tmp_path
    )
    assert again.image == sample_env.image
    assert not again.built
    assert list(tmp_path.iterdir()) == []  # no build, no build log


def test_other_dependency_files_give_another_tag(
    sample_repo: git.Repo, sample_env: Environment
) -> None:
    initial = next(sample_repo.iter_commits("main", reverse=True)).hexsha
    same_files = env_spec(sample_repo, SAMPLE_REPO_NAME, initial, sample_env.config, "sha256:base")
    head = env_spec(
        sample_repo, SAMPLE_REPO_NAME, sample_env.setup_commit, sample_env.config, "sha256:base"
    )
    assert same_files.tag == head.tag  # pyproject.toml did not change across the history
    other_base = env_spec(sample_repo, SAMPLE_REPO_NAME, initial, sample_env.config, "sha256:other")
    assert other_base.tag != head.tag


def test_image_has_the_project_dependencies_and_no_source(
    engine: docker.DockerClient, sample_env: Environment
) -> None:
    probe = (
        "id -un; python -m pytest --version 2>&1; echo repo=$(ls -A /repo | wc -l); "
        "python -c 'import tinytext' 2>&1 | tail -1; "
        "echo found=$(find / -xdev -path '*tinytext*' 2>/dev/null | wc -l)"
    )
    output = engine.containers.run(
        sample_env.image.tag, ["sh", "-c", probe], network_mode="none", remove=True
    ).decode()
    lines = output.splitlines()
    assert lines[0] == "taskforge"
    assert lines[1].startswith("pytest ")
    assert "repo=0" in lines  # /repo is empty: a task's tree is copied in at run time
    assert "No module named 'tinytext'" in output  # the project itself is not installed
    assert "found=0" in lines  # and no file of it is anywhere in the image
    # the wheel stage (build tools and the project's wheel) was not left behind, untagged
    assert not engine.images.list(filters={"label": f"taskforge.build={sample_env.image.tag}"})


def test_build_failure_names_its_log(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment, tmp_path: Path
) -> None:
    from pipeline.core.errors import ImageBuildError

    broken = sample_env.config.model_copy(update={"extra_packages": ["pytest", "./no-such-dir"]})
    spec = env_spec(
        sample_repo, SAMPLE_REPO_NAME, sample_env.setup_commit, broken, sample_env.image.id
    )
    with pytest.raises(ImageBuildError, match=r"see .*build-.*\.log"):
        ensure_env_image(engine, sample_repo, spec, tmp_path)
    assert not engine.images.list(name=spec.tag)
    assert (
        "wheel" in (tmp_path / f"build-{spec.tag.split('/')[-1].replace(':', '-')}.log").read_text()
    )
    assert not engine.images.list(filters={"label": f"taskforge.build={spec.tag}"})


def test_the_first_stages_toolchain_stays_cached_for_the_next_state(
    engine: docker.DockerClient, sample_repo: git.Repo, sample_env: Environment, tmp_path: Path
) -> None:
    """Two more dependency states: the second's first stage takes its build tools from the
    cache the first left (only the layers from ``COPY source/`` on are removed)."""
    tags = []
    for extra in ("iniconfig", "packaging"):
        config = sample_env.config.model_copy(
            update={"extra_packages": [*sample_env.config.extra_packages, extra]}
        )
        spec = env_spec(
            sample_repo, SAMPLE_REPO_NAME, sample_env.setup_commit, config, sample_env.image.id
        )
        ensure_env_image(engine, sample_repo, spec, tmp_path)
        tags.append(spec.tag)
        assert not engine.images.list(filters={"label": f"taskforge.build={spec.tag}"})
    try:
        log = (tmp_path / f"build-{tags[1].split('/')[-1].replace(':', '-')}.log").read_text()
        tools = log.split("RUN python3 -m venv /opt/build", 1)[1].split("Step ", 1)[0]
        assert "Using cache" in tools, tools
        source = log.split("COPY source/ /tmp/source/", 1)[1].split("Step ", 1)[0]
        assert "Using cache" not in source  # a state's own layers never outlive its build
    finally:
        for tag in tags:
            engine.images.remove(tag, force=True)
