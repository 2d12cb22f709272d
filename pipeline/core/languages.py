"""Language profiles: what every stage needs to know of a language, registered in one place.

A profile is one small class per language (``PythonProfile``, ``JavaScriptProfile``, ...), in
``PROFILES`` keyed by ``Language``. It holds the facts that are the language's own, with no
table of repositories: the manifest files that declare it (``package.json``, ``go.mod``...),
the extensions of its code files, which paths are tests or test data, and which test files a
runner runs (its *targets*). Each stage keeps its own part of a language beside this and keys it
by the same enum: the extractor splits a change with ``is_test_path``, the environment stage
picks a toolchain and an installer (``dockerfiles.toolchains``, ``dockerfiles.language_recipes``),
the validator builds the runner's command and reads its report (``validators.runners``).

The language of a pull request is ``choose_language``: the language most of its code files are
in, among those the repository declares on their path (Python and Go need no manifest: a
``setup.py``-less Python project or a GOPATH-era Go project declares nothing), ties going to the
earlier profile in ``PROFILES`` (Python first). A change of no code file is the repository's
first declared language's, else Python's: a Python repository's records are those of before.

Test paths, by language (docs and CI files are decided first, for every language, by
``pipeline.core.paths``):

- Python: a folder ``tests``/``test``/``testing``, ``test_*.py``, ``*_test.py``, ``conftest.py``.
- JavaScript/TypeScript: a folder ``__tests__``, ``__mocks__``, ``__snapshots__``,
  ``__fixtures__``, ``test``, ``tests`` or ``spec``; a file ``*.test.*`` or ``*.spec.*``.
- Go: ``*_test.go``, and anything under a ``testdata`` folder (which ``go build`` ignores).
- Rust: a folder ``tests`` or ``benches``, a file ``tests.rs`` (an out-of-line
  ``#[cfg(test)] mod tests;``). Tests *inside* a source file (``#[cfg(test)] mod tests { ... }``)
  are split out of the source file's diff by the extractor (``extractors.rust_tests``).
- Java: anything under ``src/test/`` (Maven's and Gradle's layout), and ``*Test.java``,
  ``*Tests.java``, ``*TestCase.java``, ``Test*.java`` (Surefire's includes) and ``*IT.java``
  (Failsafe's) anywhere but under ``src/main/``.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Collection, Iterable
from pathlib import PurePosixPath
from typing import ClassVar


class Language(enum.StrEnum):
    """A language profile's key, recorded on every task (``Task.language``)."""

    PYTHON = "python"
    JAVASCRIPT = "javascript"  # JavaScript and TypeScript: one npm ecosystem, one profile
    GO = "go"
    RUST = "rust"
    JAVA = "java"


class TestRunner(enum.StrEnum):
    """The test runners the profiles know (``InstallConfig.test_runner``)."""

    __test__ = False  # not a pytest test class

    PYTEST = "pytest"
    JEST = "jest"
    VITEST = "vitest"
    MOCHA = "mocha"
    NODE_TEST = "node --test"  # Node's own runner
    GO_TEST = "go test"
    CARGO_TEST = "cargo test"  # libtest's own JSON, one stream per test target
    MAVEN = "maven surefire"
    GRADLE = "gradle"


# What an environment image tells its runs (dockerfiles.language_image writes them, the runs
# of validators.language_runs read them): the go.mod written for a Go tree from before
# modules, and the cargo features the tests are built with (an ENV of the image).
GOPATH_MODULE = "/opt/taskforge/gomodule"
CARGO_FEATURES = "TASKFORGE_CARGO_FEATURES"
# Maven flags of the image, which every run adds (an ENV of the image): the language level
# raised for a project whose own is older than any JDK here compiles
MAVEN_FLAGS = "TASKFORGE_MAVEN_FLAGS"
# Maven plugins a build binds before ``test`` that check the project, never build or run its
# tests (licence headers, style, API compatibility, enforcer rules): skipped by the image's
# resolve and by every run, so they cost no time and need nothing the image did not fetch
MAVEN_SKIPS = tuple(
    f"-D{name}=true"
    for name in (
        "rat.skip", "checkstyle.skip", "enforcer.skip", "animal.sniffer.skip", "japicmp.skip",
        "spotbugs.skip", "pmd.skip", "cpd.skip", "maven.javadoc.skip", "maven.source.skip",
        "license.skip", "spotless.check.skip", "gpg.skip", "moditect.skip", "revapi.skip",
        "clirr.skip", "forbiddenapis.skip", "sortpom.skip", "impsort.skip", "bnd.baseline.skip",
    )
)  # fmt: skip


class LanguageProfile:
    """The facts of one language; subclasses set the class variables and the path rules."""

    language: ClassVar[Language]
    manifests: ClassVar[frozenset[str]]  # file names that declare the language in their folder
    extensions: ClassVar[frozenset[str]]  # suffixes of its code files, lower case
    runners: ClassVar[tuple[TestRunner, ...]]  # the runners it knows, the default first
    needs_manifest: ClassVar[bool] = True  # whether a PR can be this language without one

    def is_code(self, path: str) -> bool:
        """Whether ``path`` is a code file of this language, by its extension."""
        return _suffix(path) in self.extensions

    def is_test_path(self, path: str) -> bool:
        """Whether ``path`` is a test or test data by this language's conventions."""
        raise NotImplementedError

    def is_test_file(self, path: str) -> bool:
        """Whether ``path`` is a test file a runner of this language runs (a target)."""
        raise NotImplementedError


class PythonProfile(LanguageProfile):
    """Python: pytest's default name patterns and the usual test folders."""

    language = Language.PYTHON
    manifests = frozenset({"pyproject.toml", "setup.py", "setup.cfg"})
    extensions = frozenset({".py"})
    runners = (TestRunner.PYTEST,)
    needs_manifest = False
    test_dirs = frozenset({"tests", "test", "testing"})

    def is_test_path(self, path: str) -> bool:  # noqa: D102
        if _in_folder(path, self.test_dirs) or self.is_test_file(path):
            return True
        return PurePosixPath(path).name.lower() == "conftest.py"

    def is_test_file(self, path: str) -> bool:  # noqa: D102
        name = PurePosixPath(path).name
        return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


class JavaScriptProfile(LanguageProfile):
    """JavaScript and TypeScript: jest's ``testMatch``, vitest's and mocha's folders."""

    language = Language.JAVASCRIPT
    manifests = frozenset({"package.json"})
    extensions = frozenset({".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts"})
    runners = (TestRunner.JEST, TestRunner.VITEST, TestRunner.MOCHA, TestRunner.NODE_TEST)
    support_dirs = frozenset({"__mocks__", "__snapshots__", "__fixtures__"})
    test_dirs = frozenset({"__tests__", "test", "tests", "spec", *support_dirs})
    test_name = re.compile(r"\.(test|spec)\.[cm]?[jt]sx?$")

    def is_test_path(self, path: str) -> bool:  # noqa: D102
        return _in_folder(path, self.test_dirs) or bool(self.test_name.search(path.lower()))

    def is_test_file(self, path: str) -> bool:  # noqa: D102
        if not self.is_code(path) or _in_folder(path, self.support_dirs):
            return False
        if self.test_name.search(path.lower()) or _in_folder(path, {"__tests__"}):
            return True
        folders = [p.lower() for p in PurePosixPath(path).parts[:-1]]
        stem = PurePosixPath(path).name.lower()
        # mocha's default: the files directly in test/ (helpers and fixtures are not tests)
        helper = stem.startswith(("helper", "setup", "util", "fixture", "common", "index."))
        return bool(folders) and folders[-1] in {"test", "tests", "spec"} and not helper


class GoProfile(LanguageProfile):
    """Go: ``_test.go`` files and ``testdata`` folders."""

    language = Language.GO
    manifests = frozenset({"go.mod"})
    extensions = frozenset({".go"})
    runners = (TestRunner.GO_TEST,)
    needs_manifest = False  # GOPATH-era repositories have no go.mod

    def is_test_path(self, path: str) -> bool:  # noqa: D102
        return self.is_test_file(path) or _in_folder(path, {"testdata"})

    def is_test_file(self, path: str) -> bool:  # noqa: D102
        return path.endswith("_test.go")


class RustProfile(LanguageProfile):
    """Rust: ``tests/`` and ``benches/`` folders, out-of-line ``tests.rs`` modules."""

    language = Language.RUST
    manifests = frozenset({"Cargo.toml"})
    extensions = frozenset({".rs"})
    runners = (TestRunner.CARGO_TEST,)

    def is_test_path(self, path: str) -> bool:  # noqa: D102
        return _in_folder(path, {"tests", "benches"}) or PurePosixPath(path).name == "tests.rs"

    def is_test_file(self, path: str) -> bool:  # noqa: D102
        return self.is_code(path) and self.is_test_path(path)


class JavaProfile(LanguageProfile):
    """Java: Maven's and Gradle's ``src/test/`` and Surefire's default class name patterns."""

    language = Language.JAVA
    manifests = frozenset({"pom.xml", "build.gradle", "build.gradle.kts"})
    extensions = frozenset({".java"})
    runners = (TestRunner.MAVEN, TestRunner.GRADLE)
    test_class = re.compile(r"(^Test\w*|\w*(Test|Tests|TestCase|IT))\.java$")

    def is_test_path(self, path: str) -> bool:  # noqa: D102
        return _under(path, ("src", "test")) or self.is_test_file(path)

    def is_test_file(self, path: str) -> bool:  # noqa: D102
        # Surefire's includes, outside src/main (whose classes are never test classes)
        named = bool(self.test_class.match(PurePosixPath(path).name))
        return named and not _under(path, ("src", "main"))


PROFILES: dict[Language, LanguageProfile] = {
    profile.language: profile
    for profile in (
        PythonProfile(),
        JavaScriptProfile(),
        GoProfile(),
        RustProfile(),
        JavaProfile(),
    )
}


def profile_of(language: Language) -> LanguageProfile:
    """The registered profile of ``language``."""
    return PROFILES[language]


def language_of_file(path: str) -> Language | None:
    """The language whose code files have ``path``'s extension, or None."""
    return next((lang for lang, p in PROFILES.items() if p.is_code(path)), None)


def declared_languages(manifest_paths: Iterable[str]) -> list[Language]:
    """The languages these manifest files declare, in registry order."""
    names = {PurePosixPath(p).name for p in manifest_paths}
    return [lang for lang, profile in PROFILES.items() if names & profile.manifests]


def manifest_candidates(paths: Iterable[str]) -> list[str]:
    """Every manifest path that could declare the language of ``paths``: each registered
    manifest name in every folder from the root down to each path's own folder."""
    folders: set[PurePosixPath] = {PurePosixPath()}
    for path in paths:
        folders.update(PurePosixPath(path).parents)
    names = sorted({name for profile in PROFILES.values() for name in profile.manifests})
    return sorted(str(folder / name) for folder in folders for name in names)


def choose_language(changed: Collection[str], manifests: Collection[str]) -> Language:
    """The language of a change to ``changed`` (its test and source files), given the
    manifest files that exist on their paths (see the module)."""
    counts = Counter(lang for path in changed if (lang := language_of_file(path)) is not None)
    declared = declared_languages(manifests)
    order = list(PROFILES)
    eligible = [lang for lang in counts if lang in declared or not PROFILES[lang].needs_manifest]
    if eligible:
        return min(eligible, key=lambda lang: (-counts[lang], order.index(lang)))
    return declared[0] if declared else Language.PYTHON


def _suffix(path: str) -> str:
    return PurePosixPath(path).suffix.lower()


def _under(path: str, folders: tuple[str, ...]) -> bool:
    parts = PurePosixPath(path).parts[:-1]
    return any(parts[i : i + len(folders)] == folders for i in range(len(parts)))


def _in_folder(path: str, folders: Collection[str]) -> bool:
    return any(part.lower() in folders for part in PurePosixPath(path).parts[:-1])
