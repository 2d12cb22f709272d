"""The recipe of a non-Python repository: toolchain, package manager, runner, date pin.

``detect_language_recipe`` turns the dependency files of a commit into an ``InstallConfig``
(language, toolchain, ``test_runner``, the date packages are pinned to when no lockfile pins
them); ``dockerfiles.language_image`` renders its image. The package manager follows the
lockfile: ``package-lock.json`` or ``npm-shrinkwrap.json`` -> npm, ``yarn.lock`` -> Yarn 1
(Berry with ``.yarnrc.yml``), ``pnpm-lock.yaml`` -> pnpm; Go's is go, Rust's cargo, Java's
Maven (Gradle is recognised, and cannot be had here). The JavaScript runner is the one
``scripts.test`` names (``node --test``: Node's own), else the one whose configuration file is
at the root (``vitest.config.mts``, ``jest.config.js``, ``.mocharc.yml``), else the one in the
dependencies: vitest, jest, mocha, else the one whose packages are (``@vitest/coverage-v8``,
``@types/jest``: a wrapper's runner). Dependencies
pinned by a lockfile (or go.mod, or the POM) are taken as they are; without one, as of the
date.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from typing import Any

from dockerfiles.toolchains import Offer, choose_toolchain, package_json
from pipeline.core.languages import Language, TestRunner
from pipeline.core.node_test import node_test_command
from pipeline.core.records import InstallConfig

# a runner's own configuration file names the runner (vitest.config.mts behind a wrapper)
JS_RUNNER_CONFIGS = tuple(
    f"{name}.{ext}"
    for name in ("vitest.config", "jest.config", ".mocharc")
    for ext in ("js", "mjs", "cjs", "ts", "mts", "json", "yml", "yaml")
    if not (name != ".mocharc" and ext in {"json", "yml", "yaml"})
)
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
        *JS_RUNNER_CONFIGS,
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


def docs_rs_features(cargo_toml: str) -> str:
    """The cargo option for the features ``[package.metadata.docs.rs]`` documents the crate
    with (``--all-features``, ``--features=a,b``), or "": what its maintainers build together,
    which a test behind a feature needs (rust-lang/log's ``kv`` tests)."""
    try:
        document = tomllib.loads(cargo_toml)
    except tomllib.TOMLDecodeError:
        return ""
    docs = document.get("package", {}).get("metadata", {}).get("docs", {}).get("rs", {})
    if not isinstance(docs, dict):
        return ""
    if docs.get("all-features") is True:
        return "--all-features"
    features = [f for f in docs.get("features", []) if isinstance(f, str) and f]
    return f"--features={','.join(features)}" if features else ""


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
        package = package_json(files)
        script = str(_table(package, "scripts").get("test", ""))
        names = {*_table(package, "devDependencies"), *_table(package, "dependencies")}
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            if str(runner) in script:
                return runner
        if node_test_command(script) is not None:
            return TestRunner.NODE_TEST
        if "egg-bin" in script:  # egg-bin test: mocha, with its own defaults
            return TestRunner.MOCHA
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            prefix = ".mocharc." if runner is TestRunner.MOCHA else f"{runner}.config."
            if any(name.startswith(prefix) for name in files if name in JS_RUNNER_CONFIGS):
                return runner
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            if str(runner) in names:
                return runner
        for runner in (TestRunner.VITEST, TestRunner.JEST, TestRunner.MOCHA):
            # a wrapper's runner shows in its packages (@vitest/coverage-v8, @types/jest)
            if any(n.startswith(f"@{runner}/") or n == f"@types/{runner}" for n in names):
                return runner
        return TestRunner.JEST
    if language is Language.JAVA and package_manager(language, files) == "gradle":
        return TestRunner.GRADLE
    return {
        Language.GO: TestRunner.GO_TEST,
        Language.RUST: TestRunner.CARGO_TEST,
        Language.JAVA: TestRunner.MAVEN,
    }[language]


def _environment(language: Language) -> list[str]:
    return {
        Language.JAVASCRIPT: ["CI=true"],
        Language.GO: ["GOTOOLCHAIN=local", "GOPROXY=off"],  # -mod=mod: per tree, unless vendored
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


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key)
    return value if isinstance(value, dict) else {}


def _gradle(files: dict[str, str]) -> bool:
    return "build.gradle" in files or "build.gradle.kts" in files
