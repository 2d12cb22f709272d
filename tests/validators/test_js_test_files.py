"""Which touched JavaScript files are tests, as the repository's runner configuration says."""

from __future__ import annotations

import json

import pytest

from pipeline.core.languages import TestRunner
from validators.js_test_files import js_test_files

KOA_2019 = json.dumps({"scripts": {"test": "egg-bin test test"}, "devDependencies": {}})
KOA_2018 = json.dumps(
    {"scripts": {"test": "jest"}, "jest": {"testMatch": ["**/test/!(helpers)/*.js"]}}
)
NESTED = [
    "test/application/respond.js",
    "test/helpers/context.js",
    "test/fixtures/server.js",
    "test/index.js",
    "lib/application.js",
    "README.md",
]


def chosen(runner: TestRunner, manifests: dict[str, str], files: list[str] = NESTED) -> list[str]:
    return js_test_files(runner, files, manifests)


def test_egg_bin_runs_every_file_under_its_folder_but_helpers_and_fixtures() -> None:
    got = chosen(TestRunner.MOCHA, {"package.json": KOA_2019})
    assert got == ["test/application/respond.js", "test/index.js"]


def test_egg_bin_without_arguments_runs_test_files_named_so() -> None:
    package = json.dumps({"scripts": {"test": "egg-bin test"}})
    files = ["test/a.test.js", "test/deep/b.test.js", "test/c.js"]
    assert chosen(TestRunner.MOCHA, {"package.json": package}, files) == files[:2]


def test_jest_test_match_with_an_extglob() -> None:
    got = chosen(TestRunner.JEST, {"package.json": KOA_2018})
    assert got == ["test/application/respond.js"]


def test_jest_defaults_without_configuration() -> None:
    files = ["src/a.test.ts", "src/__tests__/b.js", "test/c.js", "src/d.spec.jsx", "src/e.ts"]
    got = chosen(TestRunner.JEST, {"package.json": "{}"}, files)
    assert got == ["src/__tests__/b.js", "src/a.test.ts", "src/d.spec.jsx"]


def test_jest_test_regex() -> None:
    package = json.dumps({"jest": {"testRegex": r"/test/.*\.js$"}})
    got = chosen(TestRunner.JEST, {"package.json": package}, ["test/a/b.js", "src/c.test.js"])
    assert got == ["test/a/b.js"]


def test_jest_test_match_read_from_a_javascript_config_without_running_it() -> None:
    config = "module.exports = {\n  testMatch: ['<rootDir>/test/**/*.js'],\n  verbose: true,\n};\n"
    got = chosen(TestRunner.JEST, {"jest.config.js": config}, ["test/a/b.js", "src/c.test.js"])
    assert got == ["test/a/b.js"]


def test_vitest_include_in_its_test_options_not_vites() -> None:
    config = (
        "export default defineConfig({ optimizeDeps: { include: ['lodash'] },\n"
        "  test: { environment: 'node', include: ['tests/**/*.ts'] } })\n"
    )
    files = ["tests/deep/a.ts", "src/b.test.ts", "lodash"]
    assert chosen(TestRunner.VITEST, {"vite.config.ts": config}, files) == ["tests/deep/a.ts"]
    assert chosen(TestRunner.VITEST, {}, files) == ["src/b.test.ts"]


@pytest.mark.parametrize(
    ("manifests", "expected"),
    [
        ({}, ["test/index.js"]),  # mocha's default: ./test, not recursive
        ({"package.json": json.dumps({"scripts": {"test": "mocha --recursive test"}})}, None),
        ({".mocharc.yml": "recursive: true\n"}, None),
        ({".mocharc.json": json.dumps({"spec": "test/**/*.js"})}, None),
        ({"test/mocha.opts": "--require should\n--recursive\n"}, None),
        ({"package.json": json.dumps({"mocha": {"recursive": True}})}, None),
    ],
)
def test_mocha_recursion_from_each_place_it_is_configured(
    manifests: dict[str, str], expected: list[str] | None
) -> None:
    recursive = ["test/application/respond.js", "test/index.js"]
    assert chosen(TestRunner.MOCHA, manifests) == (expected or recursive)


def test_mocha_script_arguments_skip_option_values() -> None:
    script = (
        "nyc --reporter=text mocha --require test/support/env --reporter spec --bail "
        "--check-leaks test/ test/acceptance/ && npm run lint"
    )
    files = ["test/app.js", "test/acceptance/a.js", "test/support/env.js", "test/deep/x/y.js"]
    got = chosen(
        TestRunner.MOCHA, {"package.json": json.dumps({"scripts": {"test": script}})}, files
    )
    assert got == ["test/acceptance/a.js", "test/app.js"]


def test_mocha_behind_istanbul_and_a_typescript_extension() -> None:
    script = "istanbul cover node_modules/mocha/bin/_mocha -- --extension ts spec"
    files = ["spec/a.ts", "spec/b.js", "test/c.js"]
    got = chosen(
        TestRunner.MOCHA, {"package.json": json.dumps({"scripts": {"test": script}})}, files
    )
    assert got == ["spec/a.ts", "spec/b.js"]


def test_a_file_directly_in_the_spec_folder_is_a_test_whatever_its_name() -> None:
    # mocha runs every file of ./test: body-parser's test/utils.js tests lib/utils.js
    files = ["test/utils.js", "test/parse.js", "test/support/env.js"]
    assert chosen(TestRunner.MOCHA, {}, files) == ["test/parse.js", "test/utils.js"]


KOA_2024 = json.dumps({"scripts": {"test": "node --test"}})
KOA_TREE = [
    "__tests__/application/respond.test.js",
    "__tests__/lib/search-params.test.js",
    "test/index.js",
    "test/fixtures/server.js",
    "lib/test-helpers.js",
    "lib/application.js",
    "src/sum.ts",
]


def test_node_test_runs_node_s_default_names() -> None:
    """``node --test`` alone: ``*.test.js``, ``test-*.js``, every file under a test/ folder."""
    got = chosen(TestRunner.NODE_TEST, {"package.json": KOA_2024}, KOA_TREE)
    assert got == [
        "__tests__/application/respond.test.js",
        "__tests__/lib/search-params.test.js",
        "lib/test-helpers.js",
        "test/index.js",
    ]


def test_node_test_runs_under_the_folders_and_globs_its_script_names() -> None:
    script = "NODE_ENV=test c8 node --import tsx --test-reporter dot --test lib/ 'src/**/*.ts'"
    package = json.dumps({"scripts": {"test": script}})
    got = chosen(TestRunner.NODE_TEST, {"package.json": package}, KOA_TREE)
    assert got == ["lib/test-helpers.js", "src/sum.ts"]


def test_the_script_s_own_timeout_stands_under_egg_bin() -> None:
    from validators.js_test_files import mocha_invocation

    package = json.dumps({"scripts": {"test": "CI=1 egg-bin test --timeout=5000 test"}})
    how = mocha_invocation({"package.json": package})
    assert how.environment == ["NODE_ENV=test", "CI=1"] and how.options == ["--timeout=5000"]
