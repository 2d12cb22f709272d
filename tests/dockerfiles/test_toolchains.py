"""The toolchain of a commit's era for Go, Node, Rust and Java, and the recipe rendered from it."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import git
import pytest

from dockerfiles.language_image import BUILDABLE_OFFERS, LOCKFILES, render_language_dockerfile
from dockerfiles.language_plan import java_attempts
from dockerfiles.language_recipes import (
    detect_language_recipe,
    docs_rs_features,
    package_manager,
    runner_of,
)
from dockerfiles.plan import plan_environment
from dockerfiles.toolchains import choose_toolchain, era_version, java_level, requested
from pipeline.core.languages import GOPATH_MODULE, MAVEN_FLAGS, Language, TestRunner
from pipeline.core.records import InstallConfig, Toolchain, ToolchainSource
from pipeline.demo.sample_repo import History

GO, JS, RUST, JAVA = Language.GO, Language.JAVASCRIPT, Language.RUST, Language.JAVA
PROXY, NPM, DEBIAN = (
    ToolchainSource.GO_PROXY,
    ToolchainSource.NPM_REGISTRY,
    ToolchainSource.DEBIAN,
)


@pytest.mark.parametrize(
    ("language", "files", "asked"),
    [
        (
            GO,
            {"go.mod": "module x\n\ngo 1.21\n\ntoolchain go1.22.5\n"},
            ("1.22.5", "go.mod toolchain"),
        ),
        (GO, {"go.mod": "module x\n\ngo 1.16\n"}, ("1.16", "go.mod go")),
        (JS, {".nvmrc": "v16.14.0\n", "package.json": "{}"}, ("16", ".nvmrc")),
        (JS, {".node-version": "18\n"}, ("18", ".node-version")),
        (
            JS,
            {"package.json": '{"engines": {"node": ">=14.17 <19"}}'},
            ("14", "package.json engines.node"),
        ),
        (
            JS,
            {"package.json": '{"engines": {"node": "^18 || ^16"}}'},
            ("16", "package.json engines.node"),
        ),
        (JS, {"package.json": '{"volta": {"node": "20.11.1"}}'}, ("20", "package.json volta.node")),
        (JS, {".nvmrc": "lts/gallium\n"}, ("", "")),  # an alias: the era decides
        (
            RUST,
            {"rust-toolchain.toml": '[toolchain]\nchannel = "1.70.0"\n'},
            ("1.70.0", "rust-toolchain.toml"),
        ),
        (RUST, {"rust-toolchain": "1.64\n"}, ("1.64", "rust-toolchain")),
        (
            RUST,
            {"Cargo.toml": '[package]\nname = "x"\nrust-version = "1.56"\n'},
            ("1.56", "Cargo.toml rust-version"),
        ),
        (
            RUST,
            {"Cargo.toml": '[workspace.package]\nrust-version = "1.74"\n'},
            ("1.74", "Cargo.toml rust-version"),
        ),
        (
            JAVA,
            {"pom.xml": "<maven.compiler.release>17</maven.compiler.release>"},
            ("17", "pom.xml maven.compiler.release"),
        ),
        (JAVA, {"pom.xml": "<java.version>11</java.version>"}, ("11", "pom.xml java.version")),
        (
            JAVA,
            {"pom.xml": "<maven.compiler.source>1.8</maven.compiler.source>"},
            ("1.8", "pom.xml maven.compiler.source"),
        ),
        (
            JAVA,
            {"build.gradle": "java { toolchain { languageVersion = JavaLanguageVersion.of(21) } }"},
            ("21", "Gradle toolchain languageVersion"),
        ),
        (
            JAVA,
            {"build.gradle": "sourceCompatibility = JavaVersion.VERSION_1_8"},
            ("1.8", "Gradle JavaVersion"),
        ),
    ],
)
def test_what_a_repository_asks_for(
    language: Language, files: dict[str, str], asked: tuple[str, str]
) -> None:
    assert requested(language, files) == asked


@pytest.mark.parametrize(
    ("language", "day", "version"),
    [
        (GO, date(2021, 1, 10), "1.15"),
        (GO, date(2024, 3, 1), "1.22"),
        (JS, date(2019, 6, 1), "10"),
        (JS, date(2023, 1, 1), "18"),
        (RUST, date(2022, 8, 20), "1.63"),
        (JAVA, date(2016, 1, 1), "11"),  # no JDK 8 here: the oldest LTS there is
        (JAVA, date(2022, 1, 1), "17"),
    ],
)
def test_the_era_of_a_commit_that_asks_for_nothing(
    language: Language, day: date, version: str
) -> None:
    assert era_version(language, day) == version


@pytest.mark.parametrize(
    ("language", "files", "version", "source", "suite"),
    [
        (GO, {"go.mod": "go 1.21\n"}, "1.21.13", PROXY, "bookworm"),  # the minor's newest patch
        (GO, {"go.mod": "go 1.22\ntoolchain go1.22.5\n"}, "1.22.5", PROXY, "bookworm"),
        (GO, {}, "1.20.14", PROXY, "bookworm"),  # GOPATH era: the release of 2023-05
        (JS, {".nvmrc": "14"}, "14.21.3", NPM, "bookworm"),
        (JS, {}, "18.20.8", NPM, "bookworm"),
        (RUST, {"rust-toolchain": "1.70.0"}, "1.78.0", DEBIAN, "bullseye"),  # oldest above
        (RUST, {"rust-toolchain": "nightly-2023-01-01"}, "1.97.1", DEBIAN, "trixie"),
        (RUST, {}, "1.78.0", DEBIAN, "bullseye"),  # the era's 1.69: the oldest above it
        (
            JAVA,
            {"pom.xml": "<maven.compiler.source>1.8</maven.compiler.source>"},
            "11.0.24",
            DEBIAN,
            "bullseye",
        ),
        (
            JAVA,
            {"pom.xml": "<maven.compiler.release>21</maven.compiler.release>"},
            "21.0.13",
            DEBIAN,
            "trixie",
        ),
    ],
)
def test_the_toolchain_chosen_among_those_offered_here(
    language: Language, files: dict[str, str], version: str, source: ToolchainSource, suite: str
) -> None:
    toolchain, chosen_suite = choose_toolchain(language, files, date(2023, 5, 2))
    assert (toolchain.version, toolchain.source, chosen_suite) == (version, source, suite)
    if not files:
        assert toolchain.evidence == "commit date 2023-05-02" and toolchain.requested == ""


def test_package_managers_and_runners_from_the_dependency_files() -> None:
    package = {"scripts": {"test": "vitest run"}, "devDependencies": {"jest": "29"}}
    files = {"package.json": json.dumps(package), "pnpm-lock.yaml": ""}
    assert package_manager(JS, files) == "pnpm"
    assert runner_of(JS, files) is TestRunner.VITEST  # scripts.test decides first
    assert runner_of(JS, {"package.json": '{"devDependencies": {"mocha": "10"}}'}) is (
        TestRunner.MOCHA
    )
    # a wrapper's script (ts-scripts test) and a runner only behind it: its config file names it
    wrapped = {"scripts": {"test": "ts-scripts test"}, "devDependencies": {"@vitest/x": "1"}}
    files = {"package.json": json.dumps(wrapped), "vitest.config.mts": ""}
    assert runner_of(JS, files) is TestRunner.VITEST
    assert runner_of(JS, {"package.json": "{}", ".mocharc.yml": ""}) is TestRunner.MOCHA
    wrapped["devDependencies"] = {"@vitest/coverage-v8": "1", "@types/node": "20"}
    assert runner_of(JS, {"package.json": json.dumps(wrapped)}) is TestRunner.VITEST
    egg = {"scripts": {"test": "egg-bin test test"}}
    assert runner_of(JS, {"package.json": json.dumps(egg)}) is TestRunner.MOCHA
    assert package_manager(JS, {"yarn.lock": "", ".yarnrc.yml": ""}) == "yarn-berry"
    assert package_manager(JAVA, {"build.gradle": ""}) == "gradle"
    assert runner_of(JAVA, {"build.gradle": ""}) is TestRunner.GRADLE


def test_node_s_own_runner_and_the_node_it_needs() -> None:
    """koajs/koa since 2024: ``node --test``, its engines ``>= 18``; the reporter it is run
    with and ``--test-force-exit`` need Node 20, which a request for 18 gets."""
    for script in ("node --test", "c8 node --test", "NODE_ENV=test node --import tsx --test"):
        files = {"package.json": json.dumps({"scripts": {"test": script}})}
        assert runner_of(JS, files) is TestRunner.NODE_TEST
    assert runner_of(JS, {"package.json": '{"scripts": {"test": "node test.js"}}'}) is (
        TestRunner.JEST  # a script, not node's runner: the default
    )
    asked = {"package.json": json.dumps({"scripts": {"test": "node --test"}}), ".nvmrc": "18\n"}
    toolchain, _ = choose_toolchain(JS, asked, date(2023, 5, 1), BUILDABLE_OFFERS)
    assert toolchain.version.startswith("20.")
    jest = {"package.json": json.dumps({"scripts": {"test": "jest"}}), ".nvmrc": "18\n"}
    toolchain, _ = choose_toolchain(JS, jest, date(2023, 5, 1), BUILDABLE_OFFERS)
    assert toolchain.version.startswith("18.")


def test_a_javascript_recipe_without_a_lockfile_is_pinned_to_its_date() -> None:
    committed = datetime(2021, 3, 4, tzinfo=UTC)
    pinned = datetime(2021, 2, 1, tzinfo=UTC)
    files = {"package.json": '{"devDependencies": {"jest": "^26"}}', ".nvmrc": "14"}
    config = detect_language_recipe(JS, files, committed, pinned)
    assert config.language is JS and config.python == "" and config.test_runner == "jest"
    assert config.toolchain is not None and config.toolchain.version == "14.21.3"
    assert config.exclude_newer == pinned
    rendered = render_language_dockerfile(config)
    assert "python3 /tmp/fetch_toolchain.py node 14.21.3 6" in rendered  # npm 6 with Node 14
    assert "npm install --ignore-scripts --no-audit --no-fund --legacy-peer-deps " in rendered
    assert "--before=2021-02-01" in rendered and "npm ci" not in rendered
    locked = {**files, "package-lock.json": "{}"}
    config = detect_language_recipe(JS, locked, committed, pinned)
    assert config.exclude_newer is None
    assert "npm ci --ignore-scripts --no-audit --no-fund" in render_language_dockerfile(config)
    unpinned = render_language_dockerfile(config.revised(dropped_requirements=["yarn.lock"]))
    assert "rm -f package-lock.json npm-shrinkwrap.json yarn.lock pnpm-lock.yaml && " in unpinned
    assert "--legacy-peer-deps && " in unpinned and "--before" not in unpinned


def test_go_rust_and_java_recipes() -> None:
    committed = datetime(2024, 3, 1, tzinfo=UTC)
    go_files = {"go.mod": "module x\n\ngo 1.21\n", "go.sum": ""}
    go = detect_language_recipe(GO, go_files, committed, None)
    assert go.test_runner == "go test" and "GOTOOLCHAIN=local" in go.environment
    go_image = render_language_dockerfile(go)
    # go 1.21 is a floor: the Go of March 2024, 1.22, is what the tests were run with
    assert "python3 /tmp/fetch_toolchain.py go 1.22.12 && go version" in go_image
    assert "go mod download" in go_image and "GOPROXY=off" in go_image
    rust = detect_language_recipe(RUST, {"Cargo.toml": ""}, committed, None)
    rust_image = render_language_dockerfile(rust)
    assert "apt-get install -y --no-install-recommends rustc cargo" in rust_image
    assert "(cargo fetch) && " in rust_image and "generate-lockfile" not in rust_image
    # each package outside the root's workspace resolves too (rust-lang/log's tests/ crate)
    assert "cargo locate-project --workspace" in rust_image
    pinned = detect_language_recipe(RUST, {"Cargo.toml": ""}, committed, committed)
    assert "cargo generate-lockfile && cargo fetch" in render_language_dockerfile(pinned)
    java_files = {"pom.xml": "", ".mvn/wrapper/maven-wrapper.properties": ""}
    java = detect_language_recipe(JAVA, java_files, committed, None)
    java_image = render_language_dockerfile(java)
    assert "mvn -B -q -ntp dependency:go-offline" in java_image
    assert "-Dtest=TaskforgeProbeTest" in java_image  # Surefire's provider, by a class of ours


def test_a_python_recipe_is_not_rendered_here() -> None:
    from pipeline.core.records import InstallConfig

    with pytest.raises(ValueError, match=r"dockerfiles\.builder"):
        render_language_dockerfile(InstallConfig(python="3.11", base_image="b"))


def test_a_python_recipe_hashes_as_before_the_language_fields() -> None:
    from pipeline.core.records import InstallConfig

    config = InstallConfig(python="3.11", base_image="b")
    assert "language" not in config.fingerprint_fields()
    assert "toolchain" not in config.fingerprint_fields()
    other = detect_language_recipe(GO, {"go.mod": "go 1.21\n"}, datetime(2024, 1, 1), None)
    assert other.fingerprint_fields()["language"] == "go"


def test_prs_of_one_dependency_state_share_an_image_whatever_their_day(tmp_path: Path) -> None:
    """The toolchain of a commit that asks for none is found by the commit's date; where the
    same one is installed, the PRs of one dependency state share one plan and one image
    (seanmonstar/httparse had 30 images for 31 PRs, each keyed by its own day)."""
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2024, 6, 10, tzinfo=UTC)
    manifest = '[package]\nname = "calc"\nversion = "0.1.0"\n'
    first = history.commit("one", {"Cargo.toml": manifest, "src/lib.rs": ""})
    history.clock = datetime(2024, 6, 11, tzinfo=UTC)
    second = history.commit("two", {"src/lib.rs": "pub fn f() {}\n"})
    one = plan_environment(repo, "o/calc", first, [], language=RUST)
    two = plan_environment(repo, "o/calc", second, [], language=RUST)
    assert one.attempts[0].toolchain != two.attempts[0].toolchain  # "commit date ..." differs
    assert one.key == two.key
    assert one.attempts[0].fingerprint_fields() == two.attempts[0].fingerprint_fields()


def test_a_javascript_plan_ends_without_its_lockfile(tmp_path: Path) -> None:
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2024, 6, 1, tzinfo=UTC)
    package = '{"devDependencies": {"mocha": "^10"}}'
    base = history.commit("one", {"package.json": package, "package-lock.json": "{}"})
    plan = plan_environment(repo, "o/n", base, [], language=JS)
    dropped = [a.dropped_requirements for a in plan.attempts]
    assert [a.exclude_newer is None for a in plan.attempts] == [True, False, True]
    assert dropped == [[], LOCKFILES, LOCKFILES]  # locked, as of the date, as of today
    (tmp_path / "r" / "package-lock.json").unlink()
    unlocked = history.commit("no lockfile", {})
    plan = plan_environment(repo, "o/n", unlocked, [], language=JS)
    assert [a.exclude_newer is None for a in plan.attempts] == [False, True]  # date, today


@pytest.mark.parametrize(
    ("language", "files", "version"),
    [
        (JS, {"package.json": '{"engines": {"node": ">= 0.6"}}'}, "20.20.2"),  # jshttp/cookie
        (JS, {"package.json": '{"engines": {"node": ">=22"}}'}, "22.23.5"),  # above the era
        (JS, {".nvmrc": "16"}, "16.20.2"),  # a pin, not a floor
        (GO, {"go.mod": "module x\n\ngo 1.13\n"}, "1.22.12"),
        (GO, {"go.mod": "module x\n\ngo 1.13\n\ntoolchain go1.21.4\n"}, "1.21.4"),
        (RUST, {"Cargo.toml": '[package]\nrust-version = "1.56"\n'}, "1.85.1"),
    ],
)
def test_a_floor_below_the_era_gives_the_era_s_release(
    language: Language, files: dict[str, str], version: str
) -> None:
    toolchain, _ = choose_toolchain(language, files, date(2024, 5, 1), BUILDABLE_OFFERS)
    assert toolchain.version == version


@pytest.mark.parametrize("day", [date(2016, 3, 1), date(2022, 8, 20), date(2024, 5, 1)])
def test_a_rust_commit_of_any_era_gets_a_cargo_that_reads_the_sparse_index(day: date) -> None:
    """Cargo before 1.68 reads the crates index only from GitHub, which is not reachable
    (rust-lang/log's 2022 commits failed with 'Could not resolve host: github.com')."""
    toolchain, suite = choose_toolchain(RUST, {"Cargo.toml": "[package]\n"}, day, BUILDABLE_OFFERS)
    assert (toolchain.version, suite) == ("1.85.1", "trixie")


def test_a_go_repository_from_before_modules_gets_a_go_mod_written(tmp_path: Path) -> None:
    """No go.mod anywhere (spf13/pflag before 2020): the image writes one for the module path
    of the repository's name, with the Go that made modules the default, and keeps it where
    each run's prelude copies it from."""
    from validators.language_runs import PRELUDE

    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2017, 3, 6, tzinfo=UTC)
    base = history.commit("one", {"flag.go": "package flag\n", "flag_test.go": "package flag\n"})
    as_of, today = plan_environment(repo, "spf13/pflag", base, [], language=GO).attempts
    for attempt in (as_of, today):
        assert attempt.toolchain is not None and attempt.toolchain.version.startswith("1.16.")
        assert "TASKFORGE_GO_MODULE=github.com/spf13/pflag" in attempt.environment
        assert "go mod init github.com/spf13/pflag" in render_language_dockerfile(attempt)
    assert GOPATH_MODULE in PRELUDE[GO]
    # nothing pins a version: first each module as of the end of the commit's month, then today's
    assert as_of.exclude_newer == datetime(2017, 4, 1, tzinfo=UTC)
    assert "python3 /tmp/go_as_of.py 2017-04-01" in render_language_dockerfile(as_of)
    assert today.exclude_newer is None
    assert "go_as_of.py 2" not in render_language_dockerfile(today)
    modules = history.commit("modules", {"go.mod": "module github.com/spf13/pflag\n\ngo 1.12\n"})
    (attempt,) = plan_environment(repo, "spf13/pflag", modules, [], language=GO).attempts
    assert not any(item.startswith("TASKFORGE_GO_MODULE=") for item in attempt.environment)


@pytest.mark.parametrize(
    ("metadata", "option"),
    [
        ('features = ["std", "kv_serde"]', "--features=std,kv_serde"),  # rust-lang/log
        ("all-features = true", "--all-features"),
        ("rustdoc-args = []", ""),
    ],
)
def test_a_crate_s_tests_build_with_the_features_it_documents_itself_with(
    tmp_path: Path, metadata: str, option: str
) -> None:
    """Then with its default features, should those not build."""
    assert (
        docs_rs_features(f'[package]\nname = "x"\n\n[package.metadata.docs.rs]\n{metadata}\n')
        == option
    )
    repo = git.Repo.init(tmp_path / "r", initial_branch="main")
    history = History(repo)
    history.clock = datetime(2024, 6, 1, tzinfo=UTC)
    manifest = f'[package]\nname = "x"\n\n[package.metadata.docs.rs]\n{metadata}\n'
    base = history.commit("one", {"Cargo.toml": manifest, "Cargo.lock": "", "src/lib.rs": ""})
    attempts = plan_environment(repo, "o/n", base, [], language=RUST).attempts
    featured = [f"TASKFORGE_CARGO_FEATURES={option}" in a.environment for a in attempts]
    assert featured == ([True, True, False, False] if option else [False, False])
    if option:
        assert f"cargo test --no-run --quiet {option} " in render_language_dockerfile(attempts[0])


def test_java_older_than_every_jdk_here_is_raised_and_an_unsaid_level_tried_both_ways() -> None:
    assert [java_level(v) for v in ("1.5", "1.8", "17", "", "x")] == [5, 8, 17, None, None]

    def flags(requested: str) -> list[list[str]]:
        tool = Toolchain(language=JAVA, version="11.0.24", source=ToolchainSource.DEBIAN)
        config = InstallConfig(
            python="", base_image="b", language=JAVA, toolchain=tool.revised(requested=requested)
        )
        return [
            [e for e in a.environment if e.startswith(MAVEN_FLAGS)] for a in java_attempts(config)
        ]

    raised = [
        f"{MAVEN_FLAGS}=-Dmaven.compiler.source=8 -Dmaven.compiler.target=8 -Djacoco.skip=true"
    ]
    assert flags("1.5") == [raised]
    assert flags("11") == [[]]
    assert flags("") == [[], raised]
