"""Each language's test runner: what to run for the files a PR touches, the command, the report.

A ``RunnerSpec`` per ``TestRunner`` (``RUNNERS``), beside pytest's (``validators.runner``,
unchanged): ``targets`` turns the touched test files into the runner's selection and the
*units* a build failure stops (``RunTargets``); ``command`` is the sandbox's ``sh -c`` of one
run, which writes the runner's structured report and, after the run, the container's peak
memory as the last line of output, as pytest's run does; ``read`` turns the collected files
into the grading core's ``Report``; ``exit_code`` maps the runner's documented exit codes onto
pytest's (0 passed, 1 something failed), which the grading core checks a report against.

| runner | selection | report | exit codes |
| --- | --- | --- | --- |
| jest | the test files, ``--runTestsByPath`` | ``--json --outputFile`` | 0, 1 |
| vitest | the test files (``vitest run`` filters) | ``--reporter=json`` | 0, 1 |
| mocha | the test files | ``--reporter json``, ``output=`` (before 9.1 stdout) | failures: 1 |
| node --test | the test files, the script's options | taskforge's reporter (JSON lines) | 0, 1 |
| go test | the packages of the touched ``_test.go`` | ``-json`` on stdout | 0, 1 |
| cargo test | ``--lib``, ``--test NAME`` per touched target | libtest JSON per target | 101 -> 1 |
| maven surefire | ``-Dtest=`` simple class names | ``target/surefire-reports`` | 0, 1 |

Where a build fails before any test runs, the run writes ``BUILD_FAILED`` and every unit of
the selection is a collection error, so the tests a test patch adds count as failing before the
fix: a Rust target whose stream is empty (cargo did not build it), a failed Maven run that wrote
no Surefire report, a mocha run that wrote no report (mocha loads every file before it runs
one). A Go package that does not build is in ``go test -json`` itself. Gradle is a profile's
runner but has no spec yet: its wrapper downloads Gradle from services.gradle.org, which is not
reachable here.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from pipeline.core.languages import (
    CARGO_FEATURES,
    MAVEN_FLAGS,
    MAVEN_SKIPS,
    Language,
    TestRunner,
    profile_of,
)
from pipeline.core.node_test import node_test_command
from pipeline.core.records import TestStatus
from validators.go_report import read_go_test_json
from validators.js_reports import (
    VITEST_SEPARATOR,
    read_jest_json,
    read_mocha_json,
    read_node_test,
)
from validators.js_test_files import js_test_files, mocha_invocation, test_script
from validators.junit import Report
from validators.junit_reports import (
    JAVA_UNIT_ENDS,
    read_surefire,
)
from validators.libtest_report import read_libtest_json

OUTPUT_DIR = "/home/taskforge/.taskforge"
REPORT = f"{OUTPUT_DIR}/report"  # a file, or a folder of files (Surefire)
BUILD_FAILED = f"{OUTPUT_DIR}/build-failed"
PEAK_MARKER = "taskforge-peak-memory:"
PEAK = (
    "peak=$(cat /sys/fs/cgroup/memory.peak /sys/fs/cgroup/memory/memory.max_usage_in_bytes "
    f'2>/dev/null | head -n 1); echo "{PEAK_MARKER} $peak" >&2; exit $status'
)


@dataclass(frozen=True)
class RunTargets:
    """A runner's selection (its arguments or script lines) and the units it builds."""

    selection: list[str]
    units: list[str] = field(default_factory=list)
    # what the repository's script runs the runner with: NAME=value words, its options
    # (node's --import tsx, mocha's --require), and the wrapper it runs it through (egg-bin)
    environment: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    wrapper: str = ""


@dataclass(frozen=True)
class RunnerSpec:
    """One runner: targets, command, report and exit codes (see the module)."""

    runner: TestRunner
    language: Language
    select: Callable[[Sequence[str], Mapping[str, str]], RunTargets]
    body: Callable[[RunTargets, int], str]  # the shell lines that run the tests, set $status
    parse: Callable[[Mapping[str, bytes]], Report]
    unit_ends: tuple[str, ...] = ("::",)
    exit_codes: Mapping[int, int] = field(default_factory=dict)

    def targets(self, test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
        """The selection for the touched ``test_files``, given the manifests of the tree."""
        return self.select(test_files, manifests)

    def command(self, targets: RunTargets, repeat: int = 0) -> list[str]:
        """The ``sh -c`` of one run; repeats alternate the order of the selection."""
        return ["sh", "-c", f"mkdir -p {OUTPUT_DIR}; {self.body(targets, repeat)}; {PEAK}"]

    def read(self, files: Mapping[str, bytes], targets: RunTargets) -> Report | None:
        """The run's report, or None when it wrote none that can be read."""
        if BUILD_FAILED in files:
            return Report(collection_errors=list(targets.units), unit_ends=self.unit_ends)
        reports = {
            p: data for p, data in files.items() if p == REPORT or p.startswith(REPORT + "/")
        }
        if not reports:
            return None
        try:
            return self.parse(reports)
        except (ValueError, KeyError, TypeError):
            return None

    def exit_code(self, code: int) -> int:
        """The runner's exit code as the grading core reads it (0 passed, 1 failed)."""
        return self.exit_codes.get(code, code)


def _ordered(items: Sequence[str], repeat: int) -> list[str]:
    return list(items[::-1] if repeat % 2 else items)


def _quoted(items: Sequence[str]) -> str:
    return " ".join(shlex.quote(i) for i in items)


# --- JavaScript ---------------------------------------------------------------------------


def js_targets(runner: TestRunner) -> Callable[[Sequence[str], Mapping[str, str]], RunTargets]:
    """The touched test files ``runner`` runs (``validators.js_test_files``); each is its own
    unit."""

    def select(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
        files = js_test_files(runner, test_files, manifests)
        return RunTargets(files, files)

    return select


def mocha_targets(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
    """The touched files mocha runs, and how the script runs mocha (``mocha_invocation``)."""
    files = js_test_files(TestRunner.MOCHA, test_files, manifests)
    how = mocha_invocation(manifests)
    return RunTargets(files, files, how.environment, how.options, how.wrapper)


def _jest(targets: RunTargets, repeat: int) -> str:
    """Jest waits for every handle a test left open (a server) unless told ``--forceExit``,
    as koajs/koa's own ``test-cov`` script tells it; the report is written before it exits.
    Jest before 21 has no ``--runTestsByPath`` (koajs/koa's jest 20 of 2019 printed its usage
    and no report): each file is then a pattern that matches only its own path."""
    ordered = _ordered(targets.selection, repeat)
    files = _quoted(ordered)
    patterns = _quoted([f"^(.*/)?{re.escape(path)}$" for path in ordered])
    run = (
        "node_modules/.bin/jest --ci --runInBand --watchman=false --forceExit --json "
        f"--outputFile={REPORT}"
    )
    version = "node -p 'require(\"jest/package.json\").version' 2>/dev/null"
    return (
        f'case "$({version})" in 1[0-9].*|20.*) {run} {patterns};; '
        f"*) {run} --runTestsByPath {files};; esac; status=$?"
    )


def _vitest(targets: RunTargets, repeat: int) -> str:
    files = _quoted(_ordered(targets.selection, repeat))
    return f"node_modules/.bin/vitest run --reporter=json --outputFile={REPORT} {files}; status=$?"


def _mocha(targets: RunTargets, repeat: int) -> str:
    """Mocha 9.1 and later write the JSON report to ``output=``; an older one only to its
    standard output (its ``bin/mocha`` wrapper loses that output on a current Node). Mocha's
    own ``bin/_mocha`` runs, never ``node_modules/.bin/mocha``: another package may own that
    name (egg-bin 4.20's ``bin/mocha.js``, which koajs/koa's 2019-2020 states failed on).
    Mocha 4 and later wait for every handle a test left open (a server, a socket) unless told
    ``--exit``, as koa's ``egg-bin`` tells it: without, each run of koajs/koa's tests hung
    until the timeout; mocha 3 and older exit by themselves."""
    files = _quoted(_ordered(targets.selection, repeat))
    env = _quoted(["env", *targets.environment])
    options = _quoted(targets.options)
    wrapper = shlex.quote(targets.wrapper)
    # mocha's package as its wrapper resolves it (egg-bin's own may be nested in it), else
    # as the tree does
    find = f"mocha=$(node -e {shlex.quote(LOCATE)} mocha {wrapper}); "
    # egg-bin's: co-mocha where installed (generator tests), test/.setup.js first; not its
    # intelli-espower-loader, which reads the package.json beside the node_modules it is in
    # (the image's /opt/taskforge) and only rewrites assertions' messages
    if targets.wrapper == "egg-bin":
        options += " $egg"
        files = f"$setup {files}"
        find += (
            "egg=; for m in co-mocha; do "
            f'd=$(node -e {shlex.quote(LOCATE)} "$m" {wrapper}); '
            '[ -d "$d" ] && egg="$egg --require $d"; done; '
            "setup=; [ -f test/.setup.js ] && setup=test/.setup.js; "
        )
    current = (
        f'{env} node "$mocha/bin/_mocha" --exit {options} --reporter json '
        f"--reporter-option output={REPORT} {files}"
    )
    older = f'{env} node "$mocha/bin/_mocha" {options} --reporter json {files} > {REPORT}'
    exiting = f'{env} node "$mocha/bin/_mocha" --exit {options} --reporter json {files} > {REPORT}'
    version = 'node -p "require(\\"$mocha/package.json\\").version" 2>/dev/null'
    return (
        f'{find}case "$({version})" in [0-3].*) {older};; [4-8].*|9.0.*) {exiting};; '
        f"*) {current};; esac; "
        f"status=$?; if [ $status -ne 0 ] && [ ! -s {REPORT} ]; then : > {BUILD_FAILED}; fi"
    )


# the folder of package argv[1] as package argv[2] (a wrapper, or "") resolves it, else the
# tree's node_modules/argv[1]
LOCATE = (
    'const [name, wrapper] = process.argv.slice(1); const path = require("path"); '
    "const from = [process.cwd()]; "
    'if (wrapper) { try { from.unshift(path.dirname(require.resolve(wrapper + "/package.json")))'
    " } catch (e) {} } "
    'try { console.log(path.dirname(require.resolve(name + "/package.json", { paths: from }))) }'
    ' catch (e) { console.log("node_modules/" + name) }'
)


NODE_REPORTER = resources.files("validators").joinpath("node_test_reporter.cjs").read_text()
NODE_REPORTER_PATH = f"{OUTPUT_DIR}/node-test-reporter.cjs"
# --test-force-exit (Node 20.14, 22): a run ends when its tests do, whatever they left open
NODE_FORCE_EXIT = (
    'case "$(node -p process.versions.node)" in 1[0-9].*|20.[0-9].*|20.1[0-3].*|21.*) '
    "force=;; *) force=--test-force-exit;; esac"
)


def node_test_targets(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
    """The touched files ``node --test`` runs, and the environment and options of the
    script's ``node --test`` (``--import tsx``, ``--require ./test/setup.js``)."""
    files = js_test_files(TestRunner.NODE_TEST, test_files, manifests)
    command = node_test_command(test_script(manifests))
    if command is None:
        return RunTargets(files, files)
    return RunTargets(files, files, command.environment, command.run_options())


def _node_test(targets: RunTargets, repeat: int) -> str:
    """Node's own runner, reporting to taskforge's reporter (``read_node_test``) and, for the
    log, to its spec reporter. Node's JUnit reporter names no file, and writes nothing when
    the run is forced to exit: it reports once every test is done. The reporter writes its
    lines itself; its own destination is a file (Node 22 syncs it: /dev/null fails)."""
    files = _quoted(_ordered(targets.selection, repeat))
    node = _quoted(["env", *targets.environment, "node", *targets.options])
    return (
        f"printf '%s' {shlex.quote(NODE_REPORTER)} > {NODE_REPORTER_PATH}; rm -f {REPORT}; "
        f"{NODE_FORCE_EXIT}; TASKFORGE_NODE_REPORT={REPORT} {node} --test $force "
        "--test-reporter=spec --test-reporter-destination=stdout "
        f"--test-reporter={NODE_REPORTER_PATH} "
        f"--test-reporter-destination={NODE_REPORTER_PATH}.out {files}; "
        f"status=$?; if [ $status -ne 0 ] && [ ! -s {REPORT} ]; then : > {BUILD_FAILED}; fi"
    )


# --- Go ----------------------------------------------------------------------------------


def go_targets(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
    """``MODULE_ROOT ./package`` per touched package, in the module of the nearest go.mod
    (the repository's root in GOPATH mode, without one)."""
    roots = [str(PurePosixPath(p).parent) for p in manifests if PurePosixPath(p).name == "go.mod"]
    roots.sort(key=len, reverse=True)
    selection = set()
    for path in test_files:
        if not path.endswith("_test.go"):
            continue
        folder = PurePosixPath(path).parent
        root = next((r for r in roots if r == "." or folder.is_relative_to(r)), ".")
        package = str(folder if root == "." else folder.relative_to(root))
        selection.add(f"{root} {'.' if package == '.' else './' + package}")
    return RunTargets(sorted(selection))


def _go(targets: RunTargets, repeat: int) -> str:
    by_root: dict[str, list[str]] = {}
    for entry in _ordered(targets.selection, repeat):
        root, package = entry.split(" ", 1)
        by_root.setdefault(root, []).append(package)
    runs = [
        f"(cd {shlex.quote(root)} && go test -json -count=1 -vet=off {_quoted(packages)}) "
        f">> {REPORT} || status=1"
        for root, packages in by_root.items()
    ]
    return "status=0; " + "; ".join(runs)


# --- Rust --------------------------------------------------------------------------------


def _package(cargo_toml: str) -> dict[str, Any]:
    try:
        package = tomllib.loads(cargo_toml)
    except tomllib.TOMLDecodeError:
        return {}
    name = package.get("package", {}).get("name", "")
    return package if isinstance(name, str) and name else {}


def _declared_tests(root: str, package: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """The ``[[test]]`` targets of a package by file path from the repository root: ``path``,
    or ``tests/NAME.rs``, from the package's folder (a path may reach outside ``tests/``); each
    with its kind, ``custom`` for a target without libtest's harness (``harness = false``)."""
    declared = {}
    for test in package.get("test", []):
        if isinstance(test, dict) and isinstance(test.get("name"), str):
            path = str(test.get("path") or f"tests/{test['name']}.rs")
            kind = "custom" if test.get("harness") is False else "test"
            declared[posixpath.normpath(posixpath.join(root, path))] = (kind, test["name"])
    return declared


def cargo_targets(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
    """``FOLDER PACKAGE lib`` or ``FOLDER PACKAGE test NAME`` per touched test target, FOLDER
    being the package's (cargo runs there, so a package outside the root's workspace is
    found); units ``PACKAGE:lib`` and ``PACKAGE:test:NAME``. A ``[[test]]`` a manifest
    declares is its file's target wherever the file lies (rust-lang/log's ``tests/macros.rs``
    is the root package's, beside a ``tests/Cargo.toml`` of another package); a support module
    of the integration tests, ``tests/common/mod.rs``, selects nothing by itself."""
    crates = sorted(
        (str(PurePosixPath(p).parent), package)
        for p, text in manifests.items()
        if PurePosixPath(p).name == "Cargo.toml" and (package := _package(text))
    )
    crates.sort(key=lambda crate: len(crate[0]), reverse=True)
    declared = {
        path: (root, package["package"]["name"], kind, name)
        for root, package in crates
        for path, (kind, name) in _declared_tests(root, package).items()
    }
    selection = set()
    for path in test_files:
        pure = PurePosixPath(path)
        found = next(((r, p) for r, p in crates if r == "." or pure.is_relative_to(r)), None)
        if path in declared:
            selection.add(" ".join(declared[path]))
            continue
        if not path.endswith(".rs") or found is None:
            continue
        root, package = found
        name = package["package"]["name"]
        parts = (pure.relative_to(root) if root != "." else pure).parts
        if parts[0] == "tests" and (len(parts) == 2 or parts[2:] == ("main.rs",)):
            selection.add(f"{root} {name} test {parts[1].removesuffix('.rs')}")
        elif parts[0] == "src" and parts[1:] != ("main.rs",) and parts[1:2] != ("bin",):
            selection.add(f"{root} {name} lib")
    ordered = sorted(selection)
    return RunTargets(ordered, [_cargo_unit(entry) for entry in ordered])


def _cargo_unit(entry: str) -> str:
    """``PACKAGE:lib`` or ``PACKAGE:test:NAME`` (a custom harness's target too)."""
    _root, package, kind, *name = entry.split(" ")
    return ":".join([package, "lib" if kind == "lib" else "test", *name])


# libtest's JSON is unstable: RUSTC_BOOTSTRAP lets a stable toolchain's test binaries write it.
# Set through the target's runner, so that build scripts never see it (crates switch on
# nightly-only features when they do, and may not build).
CARGO_RUNNER = 'CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="env RUSTC_BOOTSTRAP=1"'


def _cargo(targets: RunTargets, repeat: int) -> str:
    runs = []
    for entry in _ordered(targets.selection, repeat):
        root, package, kind, *name = entry.split(" ")
        target = "--lib" if kind == "lib" else f"--test {shlex.quote(name[0])}"
        unit = _cargo_unit(entry)
        cargo = (
            f"cd {shlex.quote(root)} && {CARGO_RUNNER} cargo test --offline --quiet "
            f"-p {shlex.quote(package)} ${CARGO_FEATURES} {target}"
        )
        if kind == "custom":  # its own main: built first, then one test graded by its exit code
            runs.append(
                f"if ({cargo} --no-run 2>> {OUTPUT_DIR}/cargo.log); then "
                f"({cargo} >> {OUTPUT_DIR}/cargo.log 2>&1); echo $? > {REPORT}/{unit}.exit; "
                f"else : > {REPORT}/{unit}.json; fi; "
                f"[ -s {REPORT}/{unit}.exit ] && [ $(cat {REPORT}/{unit}.exit) = 0 ] || status=1"
            )
            continue
        runs.append(
            f"({cargo} -- -Z unstable-options --format json > {REPORT}/{unit}.json "
            f"2>> {OUTPUT_DIR}/cargo.log) || status=1"
        )
    return (
        f"mkdir -p {REPORT}; status=0; "
        + "; ".join(runs)
        + f"; tail -n 20 {OUTPUT_DIR}/cargo.log >&2"
    )


def _read_cargo(files: Mapping[str, bytes]) -> Report:
    """One libtest stream per unit; an empty one is a unit that did not build. A target
    without libtest's harness is one test, ``UNIT::NAME``, passed when its exit code is 0."""
    report = Report()
    for path, data in sorted(files.items()):
        unit = PurePosixPath(path).name.removesuffix(".json").removesuffix(".exit")
        if path.endswith(".exit"):
            status = TestStatus.PASSED if data.strip() == b"0" else TestStatus.FAILED
            report.record(f"{unit}::{unit.rsplit(':', 1)[-1]}", status)
            continue
        if not path.endswith(".json"):
            continue
        read = read_libtest_json(data, unit)
        if read.empty:
            report.collection_errors.append(unit)
        report.statuses.update(read.statuses)
    return report


# --- Java --------------------------------------------------------------------------------


def java_targets(test_files: Sequence[str], manifests: Mapping[str, str]) -> RunTargets:
    """``-Dtest=`` with the touched test classes' simple names; units are their full names."""
    java = profile_of(Language.JAVA)
    classes = {}
    for path in test_files:
        if not java.is_test_file(path):
            continue
        parts = PurePosixPath(path).parts
        layout = ("src", "test", "java")
        at = next((i for i in range(len(parts) - 2) if parts[i : i + 3] == layout), None)
        name = ".".join(parts[at + 3 :]) if at is not None else PurePosixPath(path).name
        classes[name.removesuffix(".java")] = PurePosixPath(path).stem
    simple = sorted(set(classes.values()))
    return RunTargets([f"-Dtest={','.join(simple)}"] if simple else [], sorted(classes))


def _maven(targets: RunTargets, repeat: int) -> str:
    """One Maven run, compile and test (``--fail-at-end``: a module whose tests fail does
    not stop the others); no Surefire report at all after a failed run is a build failure."""
    selection = _quoted(targets.selection)
    return (
        f"mvn -B -o -fae test {selection} {' '.join(MAVEN_SKIPS)} ${MAVEN_FLAGS} "
        "-DfailIfNoTests=false "
        "-Dsurefire.failIfNoSpecifiedTests=false -DtrimStackTrace=true; status=$?; "
        f"mkdir -p {REPORT}; find . -path '*/target/surefire-reports/TEST-*.xml' "
        f"-exec cp {{}} {REPORT}/ \\; ; "
        f'if [ $status -ne 0 ] && [ -z "$(ls -A {REPORT})" ]; then : > {BUILD_FAILED}; fi'
    )


def _single(reader: Callable[[bytes], Report]) -> Callable[[Mapping[str, bytes]], Report]:
    def parse(files: Mapping[str, bytes]) -> Report:
        return reader(files[REPORT])

    return parse


RUNNERS: dict[TestRunner, RunnerSpec] = {
    spec.runner: spec
    for spec in (
        RunnerSpec(
            TestRunner.JEST,
            Language.JAVASCRIPT,
            js_targets(TestRunner.JEST),
            _jest,
            _single(read_jest_json),
        ),
        RunnerSpec(
            TestRunner.VITEST,
            Language.JAVASCRIPT,
            js_targets(TestRunner.VITEST),
            _vitest,
            _single(lambda data: read_jest_json(data, VITEST_SEPARATOR)),
        ),
        RunnerSpec(
            TestRunner.MOCHA,
            Language.JAVASCRIPT,
            mocha_targets,
            _mocha,
            _single(read_mocha_json),
            exit_codes={code: 1 for code in range(2, 255)},
        ),
        RunnerSpec(
            TestRunner.NODE_TEST,
            Language.JAVASCRIPT,
            node_test_targets,
            _node_test,
            _single(read_node_test),
        ),
        RunnerSpec(TestRunner.GO_TEST, Language.GO, go_targets, _go, _single(read_go_test_json)),
        RunnerSpec(
            TestRunner.CARGO_TEST,
            Language.RUST,
            cargo_targets,
            _cargo,
            _read_cargo,
            exit_codes={101: 1},
        ),
        RunnerSpec(
            TestRunner.MAVEN,
            Language.JAVA,
            java_targets,
            _maven,
            read_surefire,
            unit_ends=JAVA_UNIT_ENDS,
        ),
    )
}
