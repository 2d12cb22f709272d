"""Each language's runner spec: the selection of a PR's tests, the command, the report read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.core.languages import PROFILES, TestRunner
from pipeline.core.records import TestStatus
from validators.grading import RunResult, grade, run_problem
from validators.runners import BUILD_FAILED, REPORT, RUNNERS, RunTargets

GOLDEN = Path(__file__).parent / "golden" / "reports"


def test_every_runner_but_gradle_has_a_spec_of_its_profile_s_language() -> None:
    for language, profile in PROFILES.items():
        for runner in profile.runners:
            if runner in (TestRunner.PYTEST, TestRunner.GRADLE):  # pytest: validators.runner
                continue
            assert RUNNERS[runner].language is language


def test_javascript_runs_the_touched_test_files_only() -> None:
    spec = RUNNERS[TestRunner.JEST]
    targets = spec.targets(
        ["src/__tests__/sum.test.ts", "src/__mocks__/fs.js", "test/fixtures/a.json"], {}
    )
    assert targets == RunTargets(["src/__tests__/sum.test.ts"], ["src/__tests__/sum.test.ts"])
    script = spec.command(RunTargets(["a.test.js", "b test.js"], []), repeat=1)[2]
    assert "--runTestsByPath 'b test.js' a.test.js" in script  # quoted, reversed on repeat 1
    assert f"--json --outputFile={REPORT}" in script and "--ci" in script
    # jest before 21 has no --runTestsByPath: a pattern that matches only the file's path
    assert "1[0-9].*|20.*)" in script and "'^(.*/)?b\\ test\\.js$'" in script


def test_go_runs_the_touched_packages_in_their_module() -> None:
    spec = RUNNERS[TestRunner.GO_TEST]
    targets = spec.targets(
        ["svc/calc/calc_test.go", "svc/calc/testdata/x.txt", "tool_test.go", "svc/go_test.go"],
        {"go.mod": "module example.com/root\n", "svc/go.mod": "module example.com/svc\n"},
    )
    assert targets.selection == [". .", "svc .", "svc ./calc"]
    script = spec.command(targets)[2]
    assert "(cd svc && go test -json -count=1 -vet=off . ./calc) >> " in script
    assert "(cd . && go test -json -count=1 -vet=off .)" in script


def test_rust_runs_each_touched_target_writing_libtest_json() -> None:
    spec = RUNNERS[TestRunner.CARGO_TEST]
    manifests = {
        "Cargo.toml": "[workspace]\nmembers = ['crates/*']\n",
        "crates/core/Cargo.toml": "[package]\nname = 'tiny-core'\nversion = '0.1.0'\n",
        "crates/cli/Cargo.toml": "[package]\nname = 'tiny-cli'\nversion = '0.1.0'\n",
    }
    targets = spec.targets(
        [
            "crates/core/src/parse.rs",  # a #[cfg(test)] module: the library's unit tests
            "crates/core/tests/roundtrip.rs",
            "crates/core/tests/common/mod.rs",  # support: selects nothing by itself
            "crates/cli/src/main.rs",  # a binary's tests: not a library target
        ],
        manifests,
    )
    assert targets == RunTargets(
        ["crates/core tiny-core lib", "crates/core tiny-core test roundtrip"],
        ["tiny-core:lib", "tiny-core:test:roundtrip"],
    )
    script = spec.command(targets)[2]
    assert "(cd crates/core && CARGO_TARGET" in script  # in the package's folder
    assert (
        "cargo test --offline --quiet -p tiny-core $TASKFORGE_CARGO_FEATURES --test roundtrip"
        in script
    )
    assert f"--format json > {REPORT}/tiny-core:test:roundtrip.json" in script
    assert 'RUNNER="env RUSTC_BOOTSTRAP=1" cargo test' in script  # test binaries only


def test_a_declared_test_target_is_its_file_s_wherever_the_file_lies() -> None:
    """rust-lang/log: the root declares ``[[test]] name = "macros", path =
    "tests/macros.rs"`` while ``tests/Cargo.toml`` is a package of its own (not a member)."""
    spec = RUNNERS[TestRunner.CARGO_TEST]
    manifests = {
        "Cargo.toml": '[package]\nname = "log"\n\n[[test]]\nname = "macros"\n'
        'path = "tests/macros.rs"\n\n[[test]]\nname = "filters"\nharness = false\n',
        "tests/Cargo.toml": '[package]\nname = "integration"\n',
    }
    files = ["tests/macros.rs", "tests/filters.rs", "tests/src/lib.rs", "src/kv/value.rs"]
    targets = spec.targets(files, manifests)
    assert targets == RunTargets(
        [". log custom filters", ". log lib", ". log test macros", "tests integration lib"],
        ["log:test:filters", "log:lib", "log:test:macros", "integration:lib"],
    )
    script = spec.command(targets)[2]
    assert "(cd tests && CARGO_TARGET" in script and "-p integration" in script


def test_a_target_without_libtest_s_harness_is_one_test_graded_by_its_exit_code() -> None:
    """``harness = false`` (log's tests/filters.rs has its own main): built first, so a build
    failure is a collection error; then one test, passed when the binary exits 0."""
    spec = RUNNERS[TestRunner.CARGO_TEST]
    targets = RunTargets([". log custom filters"], ["log:test:filters"])
    script = spec.command(targets)[2]
    assert "--test filters --no-run" in script and "-Z unstable-options" not in script
    passed = spec.read({f"{REPORT}/log:test:filters.exit": b"0\n"}, targets)
    failed = spec.read({f"{REPORT}/log:test:filters.exit": b"101\n"}, targets)
    unbuilt = spec.read({f"{REPORT}/log:test:filters.json": b""}, targets)
    assert passed is not None and failed is not None and unbuilt is not None
    assert passed.statuses == {"log:test:filters::filters": TestStatus.PASSED}
    assert failed.statuses == {"log:test:filters::filters": TestStatus.FAILED}
    assert unbuilt.collection_errors == ["log:test:filters"] and not unbuilt.statuses


def test_java_selects_classes_in_one_maven_run_without_the_checking_plugins() -> None:
    spec = RUNNERS[TestRunner.MAVEN]
    targets = spec.targets(
        [
            "core/src/test/java/com/x/CalcTest.java",
            "core/src/test/java/com/x/Helper.java",
            "core/src/test/resources/in.json",
        ],
        {},
    )
    assert targets == RunTargets(["-Dtest=CalcTest"], ["com.x.CalcTest"])
    script = spec.command(targets)[2]
    assert script.count("mvn ") == 1 and "mvn -B -o -fae test -Dtest=CalcTest" in script
    assert "-Drat.skip=true" in script and "-Dcheckstyle.skip=true" in script


def test_a_build_failure_makes_every_unit_a_collection_error() -> None:
    spec = RUNNERS[TestRunner.CARGO_TEST]
    targets = RunTargets(["sample test it"], ["sample:test:it"])
    built = (GOLDEN / "libtest-1.95-it-nocapture.jsonl").read_bytes()
    before = spec.read({f"{REPORT}/sample:test:it.json": b""}, targets)  # cargo wrote nothing
    after = spec.read({f"{REPORT}/sample:test:it.json": built}, targets)
    assert before is not None and after is not None
    assert before.collection_errors == ["sample:test:it"] and not before.statuses
    runs = [RunResult(spec.exit_code(101), before)], [RunResult(spec.exit_code(101), after)]
    assert all(run_problem(r) is None for side in runs for r in side)
    assert "sample:test:it::it_works" in grade(*runs).fail_to_pass
    maven = RUNNERS[TestRunner.MAVEN]
    compile_failed = maven.read({BUILD_FAILED: b""}, RunTargets([], ["com.x.CalcTest"]))
    assert compile_failed is not None and compile_failed.collection_errors == ["com.x.CalcTest"]


def test_exit_codes_map_onto_pytest_s() -> None:
    assert RUNNERS[TestRunner.CARGO_TEST].exit_code(101) == 1  # a test failed, or the build
    assert RUNNERS[TestRunner.CARGO_TEST].exit_code(4) == 4  # not cargo's: not gradable
    assert RUNNERS[TestRunner.MOCHA].exit_code(3) == 1  # mocha exits with the failure count
    assert RUNNERS[TestRunner.JEST].exit_code(1) == 1


@pytest.mark.parametrize("runner", [TestRunner.JEST, TestRunner.GO_TEST, TestRunner.MAVEN])
def test_a_run_without_a_readable_report_has_none(runner: TestRunner) -> None:
    spec = RUNNERS[runner]
    assert spec.read({}, RunTargets([])) is None
    assert spec.read({REPORT: b"garbage"}, RunTargets([])) is None


def test_surefire_reports_are_read_from_the_collected_folder() -> None:
    spec = RUNNERS[TestRunner.MAVEN]
    files = {f"{REPORT}/{p.name}": p.read_bytes() for p in (GOLDEN / "surefire-3.2").glob("*.xml")}
    report = spec.read(files, RunTargets([]))
    assert report is not None and report.statuses["com.example.CalcTest::adds"].value == "passed"


def test_node_test_runs_the_touched_files_with_the_script_s_options() -> None:
    """The script's environment and node options (a loader, a setup file) are the run's too;
    the reporter, coverage and watching are the run's own."""
    spec = RUNNERS[TestRunner.NODE_TEST]
    script = (
        "NODE_ENV=test c8 node --require ./test/setup.js --test --test-reporter dot "
        "--experimental-test-coverage --watch test/"
    )
    package = json.dumps({"scripts": {"test": script}})
    targets = spec.targets(
        ["test/a.test.js", "test/setup.js", "lib/a.js"], {"package.json": package}
    )
    assert targets.selection == ["test/a.test.js", "test/setup.js"]
    assert targets.environment == ["NODE_ENV=test"]
    assert targets.options == ["--require", "./test/setup.js"]
    command = spec.command(targets)[2]
    assert "env NODE_ENV=test node --require ./test/setup.js --test $force" in command
    assert f"TASKFORGE_NODE_REPORT={REPORT}" in command and "--test-reporter=spec" in command
    assert "node-test-reporter.cjs" in command and "--test-force-exit" in command


def test_mocha_runs_as_its_script_and_egg_bin_run_it() -> None:
    """The script's NAME=value words and the options its tests need (requires, interface,
    timeout) are the run's too; egg-bin's test adds NODE_ENV=test, a 60 s timeout, its
    co-mocha where installed and test/.setup.js (koajs/koa's 2019 tests expect app.env "test")."""
    spec = RUNNERS[TestRunner.MOCHA]
    script = "NODE_ENV=test mocha -r ts-node/register --ui tdd --reporter dot --recursive test/"
    plain = spec.targets(["test/a.js"], {"package.json": json.dumps({"scripts": {"test": script}})})
    assert (plain.environment, plain.options, plain.wrapper) == (
        ["NODE_ENV=test"],
        ["-r", "ts-node/register", "--ui", "tdd"],
        "",
    )
    command = spec.command(plain)[2]
    assert (
        'env NODE_ENV=test node "$mocha/bin/_mocha" --exit -r ts-node/register --ui tdd' in command
    )
    egg = {"package.json": json.dumps({"scripts": {"test": "egg-bin test test"}})}
    wrapped = spec.targets(["test/a.js"], egg)
    assert wrapped.environment == ["NODE_ENV=test"] and wrapped.wrapper == "egg-bin"
    assert wrapped.options == ["--timeout", "60000"]
    command = spec.command(wrapped)[2]
    assert "for m in co-mocha; do" in command and "mocha=$(node -e" in command
    assert "--timeout 60000 $egg --reporter json $setup test/a.js" in command
