"""Which touched JavaScript files are tests, read from the repository's runner configuration.

A runner decides what a test file is, and a repository may change it: jest's ``testMatch`` or
``testRegex`` in ``package.json``, mocha's ``spec`` and ``recursive`` (``.mocharc.*``,
``test/mocha.opts``, the ``mocha`` key of ``package.json``, or the arguments of the ``mocha``
in ``scripts.test``), egg-bin's arguments (a wrapper of mocha). Where nothing is configured,
the runner's documented default holds:

| runner | default test files |
| --- | --- |
| jest | ``**/__tests__/**/*.[jt]s?(x)``, ``**/?(*.)+(spec|test).[jt]s?(x)`` |
| vitest | ``**/*.{test,spec}.?(c|m)[jt]s?(x)`` |
| mocha | ``./test/*.{js,cjs,mjs}`` (``./test/**/...`` with ``--recursive``) |
| egg-bin | ``test/**/*.test.js`` (a folder argument: every file under it) |
| node --test | ``**/*.test.js`` (``-test``, ``_test``, ``test-*``, ``test``), ``**/test/**/*.js`` |

A configuration written in JavaScript (``jest.config.js``, ``vitest.config.ts``) is never run:
its ``testMatch``, ``testRegex`` or ``include`` is read where it is a literal, else the default
stands. Files in fixture, helper and support folders of a test folder are never tests,
whatever the globs say; a file directly in a test folder is what the globs say, whatever its
name (expressjs/body-parser's ``test/utils.js`` tests ``lib/utils.js``). Globs are
matched with wcmatch (globstar, extglob, braces), as micromatch and minimatch read them.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml
from wcmatch import glob

from pipeline.core.languages import Language, TestRunner, profile_of
from pipeline.core.node_test import NodeTestCommand, node_test_command

# the files of a tree the selection reads (beside go.mod and Cargo.toml)
CONFIG_FILES = (
    "package.json",
    ".mocharc.json",
    ".mocharc.jsonc",
    ".mocharc.yml",
    ".mocharc.yaml",
    "test/mocha.opts",
    *(
        f"{tool}.config.{ext}"
        for tool in ("jest", "vitest", "vite")
        for ext in ("js", "ts", "mjs", "cjs")
    ),
)
FLAGS = glob.GLOBSTAR | glob.EXTGLOB | glob.BRACE | glob.DOTGLOB
JEST_DEFAULT = ("**/__tests__/**/*.?([mc])[jt]s?(x)", "**/?(*.)+(spec|test).?([mc])[jt]s?(x)")
VITEST_DEFAULT = ("**/*.{test,spec}.?(c|m)[jt]s?(x)",)
EGG_DEFAULT = ("test/**/*.test.js",)
NODE_DEFAULT = tuple(  # node --test's, since Node 20
    f"**/{name}.{{ext}}" for name in ("*.test", "*-test", "*_test", "test-*", "test", "test/**/*")
)
MOCHA_EXTENSIONS = ("js", "cjs", "mjs")
NEVER_TESTS = frozenset({"__mocks__", "__snapshots__", "__fixtures__", "node_modules"})
# folders inside a test folder that hold what the tests use
SUPPORT = frozenset({"fixtures", "fixture", "helpers", "helper", "support", "mocks", "utils"})
TEST_FOLDERS = frozenset({"test", "tests", "spec", "__tests__"})
# mocha's options that take a value (the next word), so that value is not a spec
MOCHA_VALUED = frozenset(
    {"-r", "--require", "-R", "--reporter", "-O", "--reporter-option", "--reporter-options"}
    | {"-u", "--ui", "-t", "--timeout", "-s", "--slow", "-g", "--grep", "-f", "--fgrep"}
    | {"--file", "--config", "--opts", "--package", "--ignore", "--exclude", "--extension"}
    | {"--spec", "-j", "--jobs", "--retries", "--compilers", "--require-main", "--loader"}
)
SEPARATORS = frozenset({"&&", "||", ";", "|", "&"})
# mocha's options a run passes on from the script: what the tests need loaded or allowed
MOCHA_KEPT = frozenset(
    {"-r", "--require", "-u", "--ui", "-t", "--timeout", "--file", "--compilers", "--delay"}
)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def js_test_files(
    runner: TestRunner, test_files: Sequence[str], manifests: Mapping[str, str]
) -> list[str]:
    """The ``test_files`` ``runner`` runs as tests, as the repository configures it."""
    patterns, regexes = test_patterns(runner, manifests)
    js = profile_of(Language.JAVASCRIPT)
    chosen = []
    for path in sorted(set(test_files)):
        if not js.is_code(path) or _support(path):
            continue
        if glob.globmatch(path, patterns, flags=FLAGS) or any(
            r.search("/" + path) for r in regexes
        ):
            chosen.append(path)
    return chosen


def test_patterns(
    runner: TestRunner, manifests: Mapping[str, str]
) -> tuple[list[str], list[re.Pattern[str]]]:
    """The globs (and jest's regexes) of the test files of ``runner`` in this repository."""
    package = _json(manifests.get("package.json", ""))
    if runner is TestRunner.JEST:
        return _jest(
            {**_written("jest", ("testMatch", "testRegex"), manifests), **_table(package, "jest")}
        )
    if runner is TestRunner.VITEST:
        inside = r"\btest\s*:\s*\{[^{}]*?"  # vitest's own options, not vite's
        include = _written("vitest", ("include",), manifests, inside) or _written(
            "vite", ("include",), manifests, inside
        )
        return [_relative(p) for p in _listed(include.get("include"))] or list(VITEST_DEFAULT), []
    script = str(_table(package, "scripts").get("test", ""))
    if runner is TestRunner.NODE_TEST:
        return _node_test(node_test_command(script) or NodeTestCommand()), []
    egg = _arguments(script, {"egg-bin"})
    if egg is not None:
        return _egg(egg), []
    return _mocha(package, manifests, _arguments(script, {"mocha", "_mocha"}) or []), []


def test_script(manifests: Mapping[str, str]) -> str:
    """``scripts.test`` of the root's ``package.json``, or ""."""
    script = _table(_json(manifests.get("package.json", "")), "scripts").get("test", "")
    return script if isinstance(script, str) else ""


@dataclass(frozen=True)
class MochaInvocation:
    """How the script runs mocha: its NAME=value words, the options the tests need (their
    requires, interface, timeout), and egg-bin when mocha runs through it."""

    environment: list[str]
    options: list[str]
    wrapper: str = ""


def mocha_invocation(manifests: Mapping[str, str]) -> MochaInvocation:
    """The script's mocha, as a run must repeat it. egg-bin's ``test`` runs mocha with
    ``NODE_ENV=test`` (koajs/koa's 2019 tests expect ``app.env`` to be "test"), a timeout of
    60 s and its ``co-mocha``, then the files."""
    script = test_script(manifests)
    egg = _arguments(script, {"egg-bin"})
    commands = {"egg-bin"} if egg is not None else {"mocha", "_mocha"}
    words = egg if egg is not None else _arguments(script, commands) or []
    options, keep = [], False
    for word in words:
        name = word.split("=", 1)[0]
        if keep:
            options.append(word)
            keep = False
        elif name in MOCHA_KEPT:
            options.append(word)
            keep = word in MOCHA_VALUED  # its value is the next word
    environment = _assignments(script, commands)
    if egg is None:
        return MochaInvocation(environment, options)
    if not {"-t", "--timeout"} & {o.split("=", 1)[0] for o in options}:
        options += ["--timeout", "60000"]
    return MochaInvocation(["NODE_ENV=test", *environment], options, "egg-bin")


def _assignments(script: str, commands: set[str]) -> list[str]:
    """The NAME=value words before the first of ``commands`` in its command of ``script``."""
    try:
        words = shlex.split(script)
    except ValueError:
        return []
    before: list[str] = []
    for word in words:
        if PurePosixPath(word).name in commands:
            return [w for w in before if ASSIGNMENT.match(w)]
        before = [] if word in SEPARATORS else [*before, word]
    return []


def _written(
    tool: str, keys: Sequence[str], manifests: Mapping[str, str], within: str = ""
) -> dict[str, Any]:
    """``keys`` of a configuration written in JavaScript (``jest.config.js``), where each is
    a literal (a string, or an array of strings) after ``within`` (a regex: vitest's keys are
    in its ``test`` object). The file is read, never run."""
    found: dict[str, Any] = {}
    for name, text in manifests.items():
        if not name.startswith(f"{tool}.config."):
            continue
        for key in keys:
            literal = re.search(rf"{within}\b{key}\s*:\s*(\[[^\]]*\]|'[^']*'|\"[^\"]*\")", text)
            if literal:
                strings = re.findall(r"'([^']*)'|\"([^\"]*)\"", literal.group(1))
                values = [a or b for a, b in strings]
                found[key] = values if literal.group(1).startswith("[") else values[0]
    return found


def _jest(config: dict[str, Any]) -> tuple[list[str], list[re.Pattern[str]]]:
    regex = config.get("testRegex")
    if regex:
        sources = regex if isinstance(regex, list) else [regex]
        try:
            return [], [re.compile(str(r)) for r in sources]
        except re.error:
            return list(JEST_DEFAULT), []
    match = config.get("testMatch")
    if isinstance(match, list) and match:
        return [_relative(str(m)) for m in match], []
    return list(JEST_DEFAULT), []


def _node_test(command: NodeTestCommand) -> list[str]:
    """Node's test files: its default names (TypeScript's too with a loader), under each
    folder the command names; a file or a glob it names stays itself."""
    extensions = "{cjs,mjs,js,cts,mts,ts}" if command.typescript else "{cjs,mjs,js}"
    names = [name.format(ext=extensions) for name in NODE_DEFAULT]
    if not command.specs:
        return names
    extension = re.compile(r"\.[cm]?[jt]s$")
    patterns = []
    for spec in map(_relative, command.specs):
        if glob.is_magic(spec, flags=FLAGS) or extension.search(spec):
            patterns.append(spec)
        else:  # a folder: the default names under it, every file when it is in test/
            folder = spec.rstrip("/")
            patterns.extend(f"{folder}/{name}" for name in names)
            if "test" in PurePosixPath(folder).parts:
                patterns.append(f"{folder}/**/*.{extensions}")
    return patterns


def _egg(words: list[str]) -> list[str]:
    specs = [w for w in _positional(words, frozenset()) if not w.startswith("-")]
    if not specs:
        return list(EGG_DEFAULT)
    return [_folder_glob(s, recursive=True, extensions=("js",)) for s in specs]


def _mocha(package: dict[str, Any], manifests: Mapping[str, str], words: list[str]) -> list[str]:
    """Mocha's specs: the script's arguments, else its configuration files, else ``./test``."""
    config: dict[str, Any] = {}
    for name in (".mocharc.json", ".mocharc.jsonc", ".mocharc.yml", ".mocharc.yaml"):
        if name in manifests:
            config = _yaml(manifests[name])
            break
    config = {**_table(package, "mocha"), **config}
    opts = shlex.split(manifests.get("test/mocha.opts", ""), comments=True)
    everything = [*opts, *words]
    recursive = bool(config.get("recursive")) or "--recursive" in everything
    extensions = [
        *MOCHA_EXTENSIONS,
        *_listed(config.get("extension")),
        *_values(everything, "--extension"),
    ]
    specs = _positional(words, MOCHA_VALUED) + _values(words, "--spec")
    specs = specs or _listed(config.get("spec"))
    specs = specs or _positional(opts, MOCHA_VALUED) or ["test"]
    return [_folder_glob(s, recursive, tuple(extensions)) for s in specs]


def _folder_glob(spec: str, recursive: bool, extensions: tuple[str, ...]) -> str:
    """A spec as a glob: a glob stays one, a folder becomes its files (all of them when
    ``recursive``), a file stays itself."""
    spec = _relative(spec).rstrip("/")
    if glob.is_magic(spec, flags=FLAGS) or PurePosixPath(spec).suffix.lstrip(".") in extensions:
        return spec
    names = "{" + ",".join(sorted(set(extensions))) + "}" if len(set(extensions)) > 1 else "js"
    return f"{spec}/{'**/' if recursive else ''}*.{names}"


def _arguments(script: str, commands: set[str]) -> list[str] | None:
    """The words after the first of ``commands`` in ``script``, to the end of its command."""
    try:
        words = shlex.split(script)
    except ValueError:
        return None
    for index, word in enumerate(words):
        if PurePosixPath(word).name in commands:
            rest = words[index + 1 :]
            if PurePosixPath(word).name == "egg-bin":
                if not rest or rest[0] not in {"test", "cov"}:
                    return None
                rest = rest[1:]
            end = next((i for i, w in enumerate(rest) if w in SEPARATORS), len(rest))
            return rest[:end]
    return None


def _positional(words: Sequence[str], valued: frozenset[str]) -> list[str]:
    """The words that are neither options nor an option's value."""
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word == "--":
            continue
        elif word.startswith("-"):
            skip = word in valued
        else:
            found.append(word)
    return found


def _values(words: Sequence[str], option: str) -> list[str]:
    """The values of ``option`` in ``words`` (``--option VALUE`` or ``--option=VALUE``)."""
    found = [b for a, b in itertools.pairwise(words) if a == option]
    return found + [w.split("=", 1)[1] for w in words if w.startswith(option + "=")]


def _support(path: str) -> bool:
    """A file the tests use: in a fixture or helper folder of a test folder."""
    parts = [p.lower() for p in PurePosixPath(path).parts]
    folders = parts[:-1]
    if NEVER_TESTS & set(folders):
        return True
    tests = next((i for i, f in enumerate(folders) if f in TEST_FOLDERS), None)
    return tests is not None and bool(SUPPORT & set(folders[tests + 1 :]))


def _relative(pattern: str) -> str:
    return pattern.removeprefix("<rootDir>/").removeprefix("./")


def _listed(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _table(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _json(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _yaml(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)  # JSON and JSONC's comments aside, YAML reads both
    except yaml.YAMLError:
        return _json(text)
    return data if isinstance(data, dict) else {}
