"""The optional extras a project declares, and what each one brings, read from its files.

Extras come from ``[project.optional-dependencies]`` (pyproject.toml), ``[options.extras_require]``
(setup.cfg) and ``setup.py``. ``setup.py`` is never executed: its syntax tree is read for the
literal dicts it passes as ``extras_require`` or assigns to a name containing ``extra``
(``EXTRAS_REQUIRE = {...}``, ``EXTRAS_REQUIRE["dev"] = ...``); a ``setup.py`` that does not parse
(Python 2) is searched for the test extras' names only. Order is the order of declaration.
"""

from __future__ import annotations

import ast
import configparser
import re

from packaging.utils import canonicalize_name

from dockerfiles.packaging_text import requirement_name, toml_table

TEST_NAMES = ("test", "tests", "testing", "dev")
# Extras that only build documentation: never needed to run the tests.
DOCS_EXTRA = re.compile(r"^(docs?|documentation|sphinx|mkdocs)([-_].*)?$")
# "tests": [...] in an extras_require dict, or EXTRAS_REQUIRE["tests"] = ... (attrs' style)
SETUP_PY_EXTRA = re.compile(r"""["'](tests?|testing|dev)["']\s*[:\]]""")


def declared_extras(files: dict[str, str]) -> dict[str, list[str]]:
    """Every extra the project declares, with its requirement strings where they are literal."""
    extras: dict[str, list[str]] = {}
    project = toml_table(files.get("pyproject.toml")).get("project", {})
    for name, requirements in project.get("optional-dependencies", {}).items():
        extras[name] = [str(r) for r in requirements]
    extras.update({k: v for k, v in _setup_cfg_extras(files.get("setup.cfg")).items()})
    for name, requirements in _setup_py_extras(files.get("setup.py", "")).items():
        extras.setdefault(name, requirements)
    return _without_markers(extras)


def _without_markers(extras: dict[str, list[str]]) -> dict[str, list[str]]:
    """Setuptools' ``"socks:sys_platform == 'win32'"`` keys are the extra ``socks`` with a
    marker on those requirements (an empty name: the project's own conditional ones)."""
    merged: dict[str, list[str]] = {}
    for key, requirements in extras.items():
        name = key.split(":", 1)[0].strip()
        if name:
            merged.setdefault(name, []).extend(requirements)
    return merged


def first_test_extra(files: dict[str, str]) -> str:
    """The first declared extra whose name says tests (``TEST_NAMES`` order), "" when none."""
    declared = declared_extras(files)
    return next((name for name in TEST_NAMES if name in declared), "")


def richer_extras(files: dict[str, str], current: list[str]) -> list[str]:
    """Every test-like extra the project declares, for a fallback when one is not enough."""
    declared = declared_extras(files)
    richer = [name for name in TEST_NAMES if name in declared]
    return richer if set(richer) != set(current) else []


def every_extra(files: dict[str, str]) -> list[str]:
    """Every declared extra but those for documentation: for tests that skip without one."""
    return [name for name in declared_extras(files) if not DOCS_EXTRA.match(name.lower())]


def extras_providing(files: dict[str, str], distribution: str) -> list[str]:
    """The extras whose requirements name ``distribution`` (a module the tests import)."""
    wanted = canonicalize_name(distribution)
    found = []
    for extra, requirements in declared_extras(files).items():
        if any(requirement_name(r) == wanted for r in requirements):
            found.append(extra)
    return found


def _setup_cfg_extras(text: str | None) -> dict[str, list[str]]:
    if not text:
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return {}
    if not parser.has_section("options.extras_require"):
        return {}
    return {
        name: [line.strip() for line in value.splitlines() if line.strip()]
        for name, value in parser.items("options.extras_require")
    }


def _setup_py_extras(text: str) -> dict[str, list[str]]:
    if not text:
        return {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {name: [] for name in SETUP_PY_EXTRA.findall(text)}
    extras: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "extras_require":
            _add_dict(extras, node.value)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and "extra" in target.id.lower():
                    _add_dict(extras, node.value)
                elif (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and "extra" in target.value.id.lower()
                    and isinstance(target.slice, ast.Constant)
                    and isinstance(target.slice.value, str)
                ):
                    extras.setdefault(target.slice.value, _strings(node.value))
    for name in SETUP_PY_EXTRA.findall(text):  # built in ways a syntax tree does not show
        extras.setdefault(name, [])
    return extras


def _add_dict(extras: dict[str, list[str]], value: ast.expr) -> None:
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                extras.setdefault(key.value, _strings(item))
    elif isinstance(value, ast.Call) and getattr(value.func, "id", "") == "dict":
        for keyword in value.keywords:
            if keyword.arg:
                extras.setdefault(keyword.arg, _strings(keyword.value))


def _strings(value: ast.expr) -> list[str]:
    """The string constants of a literal list or tuple (or a sum of them)."""
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        constants = [e.value for e in value.elts if isinstance(e, ast.Constant)]
        return [c for c in constants if isinstance(c, str)]
    if isinstance(value, ast.BinOp):
        return _strings(value.left) + _strings(value.right)
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [line.strip() for line in value.value.splitlines() if line.strip()]
    return []
