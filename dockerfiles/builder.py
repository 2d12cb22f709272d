"""Build a repository's environment image with docker-py: one per dependency fingerprint.

The fingerprint hashes what decides the environment: the base image id, the Dockerfile
template, the recipe and the dependency files at the environment commit. The image tag is
derived from it (``taskforge-env/owner__name:<fingerprint>``), so an image that exists is
reused, never rebuilt, and tasks that share a fingerprint share one image.

Builds may use the network; the host's CA bundle and package-index settings are passed in.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import string
import tarfile
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import docker
import docker.errors
import git
from packaging.utils import canonicalize_name

from dockerfiles.base import BASES
from dockerfiles.build_failure import resolver_reason
from dockerfiles.installers import installer_for, pytest_floor
from dockerfiles.language_image import (
    FETCH_TOOLCHAIN,
    GO_AS_OF,
    env_instruction,
    render_language_dockerfile,
)
from dockerfiles.native import DEBIAN_PYTHON_HEADERS, TOOLCHAIN
from dockerfiles.recipe import (
    build_requires,
    dependency_files,
    dependency_state,
    group_requirements,
)
from dockerfiles.requirements import classify, flattened
from pipeline.core.errors import ImageBuildError
from pipeline.core.git_trees import archive_tree
from pipeline.core.languages import Language
from pipeline.core.records import ImageRef, InstallConfig

INDEX_SETTINGS = (
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
)
GROUP_REQUIREMENTS = "taskforge-dependency-groups.txt"
REQUIREMENTS = "taskforge-requirements.txt"
PROJECT_REQUIRES = Path(__file__).with_name("project_requires.py")
CONSTRAINTS = "taskforge-constraints.txt"
# how the classic builder records the first step of a state's own (``COPY source/ /tmp/source/``)
SOURCE_COPY = " in /tmp/source/"


@dataclass(frozen=True)
class EnvSpec:
    """Everything that decides one environment image."""

    repo: str
    commit: str  # the environment setup commit whose files are installed
    config: InstallConfig
    base_image_id: str
    dependency_files: dict[str, str]
    later_files: list[dict[str, str]] = field(default_factory=list)  # EnvPlan.later

    @functools.cached_property  # once per spec: a tag never changes between build and lookup
    def fingerprint(self) -> str:
        """The hash of what the build is given, as rendered, and of the recipe and the
        dependency files."""
        # what the build is given, as rendered: a change to how a recipe is rendered (an
        # installer's options, how requirement lines are written) is a new image, not an old
        # one taken for it
        payload = json.dumps(
            {
                "base": self.base_image_id,
                "dockerfile": render_dockerfile(self),
                "requirements": requirement_texts(self),
                "project_requires": PROJECT_REQUIRES.read_text(),
                "config": self.config.fingerprint_fields(),
                "dependencies": dependency_state(self.dependency_files),
                **_language_inputs(self.config),
                **(
                    {"later": [dependency_state(f) for f in self.later_files]}
                    if self.later_files
                    else {}
                ),
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    @property
    def tag(self) -> str:
        """The image's tag, derived from the repository and the fingerprint."""
        return f"taskforge-env/{self.repo.replace('/', '__').lower()}:{self.fingerprint[:16]}"


def _language_inputs(config: InstallConfig) -> dict[str, str]:
    """What else a non-Python image is given (nothing for Python: its fingerprints stay)."""
    if config.language is Language.PYTHON:
        return {}
    return {"fetch_toolchain": FETCH_TOOLCHAIN.read_text(), "go_as_of": GO_AS_OF.read_text()}


def template_text() -> str:
    """The environment Dockerfile's template, as packaged."""
    return resources.files("dockerfiles").joinpath("env.Dockerfile").read_text()


def env_spec(
    repo: git.Repo, repo_name: str, commit: str, config: InstallConfig, base_image_id: str
) -> EnvSpec:
    """The spec of ``config``'s image for ``commit``, with the commit's dependency files."""
    return EnvSpec(repo_name, commit, config, base_image_id, dependency_files(repo.commit(commit)))


def ensure_env_image(
    client: docker.DockerClient, repo: git.Repo, spec: EnvSpec, log_dir: Path
) -> ImageRef:
    """The image for ``spec``: found by its tag, else built (log under ``log_dir``)."""
    try:
        return ImageRef(
            tag=spec.tag, id=client.images.get(spec.tag).id, fingerprint=spec.fingerprint
        )
    except docker.errors.ImageNotFound:
        pass
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"build-{spec.tag.split('/')[-1].replace(':', '-')}.log"
    with tempfile.TemporaryDirectory(prefix="taskforge-build-") as context:
        _write_context(Path(context), repo, spec)
        _build(client, Path(context), spec.tag, log_path)
    return ImageRef(tag=spec.tag, id=client.images.get(spec.tag).id, fingerprint=spec.fingerprint)


def _write_context(context: Path, repo: git.Repo, spec: EnvSpec) -> None:
    source = context / "source"
    source.mkdir()
    archive = context / "source.tar"
    with archive.open("wb") as handle:
        archive_tree(repo, spec.commit, handle)
    with tarfile.open(archive) as tar:
        tar.extractall(source, filter="data")
    archive.unlink()
    later = context / "later"  # a language image's later dependency states (EnvPlan.later)
    later.mkdir()
    for number, files in enumerate(spec.later_files):
        for path, text in files.items():
            (later / str(number) / path).parent.mkdir(parents=True, exist_ok=True)
            (later / str(number) / path).write_text(text)
    deps = context / "deps"
    deps.mkdir()
    for name, lines in requirement_texts(spec).items():
        (deps / name).write_text("\n".join(lines) + "\n")
    shutil.copyfile(host_ca_bundle(), context / "host-ca.pem")
    shutil.copyfile(PROJECT_REQUIRES, context / "project_requires.py")
    shutil.copyfile(FETCH_TOOLCHAIN, context / "fetch_toolchain.py")
    shutil.copyfile(GO_AS_OF, context / "go_as_of.py")
    (context / "Dockerfile").write_text(render_dockerfile(spec))


def requirement_texts(spec: EnvSpec) -> dict[str, list[str]]:
    """The final stage's requirement files, by name: the recipe's requirement files flattened
    into one (includes resolved, no local path, no dropped line), their constraints, and the
    dependency groups' requirements. A file with nothing to install is left out."""
    config = spec.config
    requirements, constraints = flattened(
        spec.dependency_files.get, config.requirement_files, config.dropped_requirements
    )
    groups: list[str] = []
    for group in config.dependency_groups:
        groups += group_requirements(spec.dependency_files.get("pyproject.toml"), group)
    texts = {
        REQUIREMENTS: requirements,
        CONSTRAINTS: constraints,
        GROUP_REQUIREMENTS: [g for g in groups if classify(g, "").name not in _dropped(config)],
    }
    return {name: lines for name, lines in texts.items() if lines}


def native_packages(config: InstallConfig) -> list[str]:
    """The toolchain a project with native extensions needs on this base image."""
    if not config.native_build:
        return []
    bootstrapped = config.base_image == BASES[config.python].bootstrap_tag
    return TOOLCHAIN + (DEBIAN_PYTHON_HEADERS if bootstrapped else [])


def render_dockerfile(spec: EnvSpec) -> str:
    """The environment Dockerfile of ``spec``: the template with the recipe's steps filled in."""
    config = spec.config
    if config.language is not Language.PYTHON:
        return render_language_dockerfile(config, len(spec.later_files))
    system_step = ""
    packages = [*config.system_packages, *native_packages(config)]
    if packages:
        system_step = (
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            + shlex.join(packages)
            + " && rm -rf /var/lib/apt/lists/*"
        )
    tools = installer_for(config.python)
    exclude_newer = ""
    if config.exclude_newer is not None and tools.pins_dates:
        exclude_newer = "--exclude-newer " + config.exclude_newer.strftime("%Y-%m-%dT%H:%M:%SZ")
    env_step = ""
    if config.environment:
        env_step = env_instruction(config.environment)
    local_paths = [local_path(r) for r in config.local_requirements]
    return string.Template(template_text()).safe_substitute(
        base_image=config.base_image,
        system_step=system_step,
        wheel_tools=tools.wheel_tools,
        wheel_build=tools.wheel_build,
        venv_tools=tools.venv_tools,
        install=tools.install,
        local_paths=shlex.join(local_paths),
        local_requirements=json.dumps(" ".join(config.local_requirements)),
        build_requires=shlex.join(build_tools(spec.dependency_files, config)),
        exclude_newer=exclude_newer,
        extras_csv=",".join(config.extras),
        install_args=shlex.join(install_args(config, set(requirement_texts(spec)))),
        pytest_floor=pytest_floor(config.python),
        floor_options=tools.floor_options,
        env_step=env_step,
    )


def build_tools(files: dict[str, str], config: InstallConfig) -> list[str]:
    """The build tools a run-time reinstall needs, upgraded last; a setuptools the recipe
    pins (``setuptools<81`` for ``pkg_resources``) is kept, not upgraded past."""
    pinned = [p for p in config.extra_packages if classify(p, "").name == "setuptools"]
    return [*build_requires(files), *(pinned or ["setuptools"]), "wheel"]


def local_path(requirement: str) -> str:
    """The path of a local requirement ("-e plugins/x[y]" -> "plugins/x")."""
    return re.sub(r"\[[^\]]*\]$", "", requirement.removeprefix("-e ").strip())


def install_args(config: InstallConfig, written: set[str]) -> list[str]:
    """What the installer takes besides the project's own wheel (and its extras)."""
    args: list[str] = []
    for name, option in ((REQUIREMENTS, "-r"), (CONSTRAINTS, "-c"), (GROUP_REQUIREMENTS, "-r")):
        if name in written:
            args += [option, name]
    dropped = _dropped(config)
    return args + [p for p in config.extra_packages if classify(p, "").name not in dropped]


def _dropped(config: InstallConfig) -> set[str]:
    return {canonicalize_name(name) for name in config.dropped_requirements}


def host_ca_bundle() -> Path:
    """The CA bundle the host trusts: ``SSL_CERT_FILE``, else Debian's default."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ImageBuildError("(any)", "no CA bundle found on the host; set SSL_CERT_FILE", "-")


def _build(client: docker.DockerClient, context: Path, tag: str, log_path: Path) -> None:
    settings = (*INDEX_SETTINGS, "GOPROXY", "NPM_CONFIG_REGISTRY")
    buildargs = {name: os.environ[name] for name in settings if os.environ.get(name)}
    buildargs["TASKFORGE_BUILD"] = tag
    try:
        error = build_logged(client, context, tag, log_path, "env", buildargs)
    finally:
        remove_wheel_stage(client, tag)
    if error:
        reason = resolver_reason(log_path.read_text(errors="replace"))
        raise EnvBuildFailed(tag, reason or error.splitlines()[-1][:200], str(log_path))


def build_logged(
    client: docker.DockerClient,
    context: Path,
    tag: str,
    log_path: Path,
    kind: str,
    buildargs: dict[str, str] | None = None,
) -> str:
    """Build ``context`` as ``tag`` (labelled ``taskforge=<kind>``), its output to ``log_path``;
    returns the engine's error line, "" when the build succeeded."""
    error = ""
    with log_path.open("w") as log:
        stream = client.api.build(
            path=str(context),
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
            buildargs=buildargs or {},
            labels={"taskforge": kind},
        )
        for chunk in stream:
            if "stream" in chunk:
                log.write(chunk["stream"])
            if "error" in chunk:
                error = str(chunk["error"]).strip()
                log.write(f"ERROR: {error}\n")
    return error


class EnvBuildFailed(ImageBuildError):
    """An environment build failed; ``reason`` is the resolver's own line where it gave one."""

    def __init__(self, image: str, reason: str, log_path: str) -> None:
        super().__init__(image, reason, log_path)
        self.reason = reason


def remove_wheel_stage(client: docker.DockerClient, tag: str) -> None:
    """Remove the untagged image the first stage of ``tag``'s build left behind.

    Docker's classic builder keeps every stage's last image; for the wheel stage that is the
    build tools and the project's wheel, tens of MB per dependency state that no task uses.
    Only this build's stage is removed (its label names the tag), never another build's that
    runs at the same time, and only its layers from ``COPY source/`` on: the ones below (the
    toolchain: Debian's rustc or a JDK, a Node or Go download) are the same for every state
    of the repository, and stay as the cache of the next state's build (removing them cost
    each of seanmonstar/httparse's states its minute of apt-get again).
    """
    for image in client.images.list(filters={"label": f"taskforge.build={tag}"}):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            per_state = _layers_from_source(client, image.id)
            if per_state is None:
                client.images.remove(image.id, force=True)
                continue
            for layer in per_state:  # top first: each one is then a leaf
                client.images.remove(layer, force=True, noprune=True)


def _layers_from_source(client: docker.DockerClient, image_id: str) -> list[str] | None:
    """The ids of ``image_id`` and its parents down to the layer of ``COPY source/``, top
    first; None when that layer is not among them."""
    layers = []
    for entry in client.api.history(image_id):
        if not str(entry.get("Id", "")).startswith("sha256:"):
            return None  # a layer not built here (<missing>): the base image
        layers.append(str(entry["Id"]))
        if SOURCE_COPY in str(entry.get("CreatedBy", "")):
            return layers
    return None
