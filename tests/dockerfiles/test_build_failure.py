"""Failed attempts: the resolver's own reason, and the next attempt that leaves the cause out."""

from __future__ import annotations

import pytest

from dockerfiles.build_failure import after_missing_module, resolver_reason, vary_after_failure
from dockerfiles.extras import declared_extras, every_extra
from dockerfiles.module_sources import requirement_for
from pipeline.core.records import InstallConfig

# Real output of uv 0.x and pip inside a classic-builder log (what builder._build writes).
UV_CONFLICT = """Step 17/20 : RUN cd /tmp/deps && uv pip install -r taskforge-requirements.txt
 ---> Running in 0f3c
Using Python 3.11.2 environment at: /opt/venv
error: No solution found when resolving dependencies
  cause: Because you require werkzeug==2.0.0 and werkzeug>=2.2.2, we can conclude that your \
requirements are unsatisfiable.
ERROR: The command '/bin/sh -c cd /tmp/deps && uv pip install' returned a non-zero code: 1
"""
UV_TTY = """Step 3/9 : RUN uv pip install x
  \u00d7 No solution found when resolving dependencies:
  \u2570\u2500\u25b6 Because nosuchpkg-taskforge was not found in the package registry and you \
require nosuchpkg-taskforge==1.0, we can conclude that your requirements are unsatisfiable.
"""
UV_PATH = """Step 9/20 : RUN uv pip install ./plugins/x
error: Distribution not found at: file:///tmp/deps/plugins/x
ERROR: The command '/bin/sh -c uv pip install ./plugins/x' returned a non-zero code: 2
"""
# As Docker streams it: stderr marked in red, uv's own colours inside.
UV_COLOURED = (
    "Step 27/30 : RUN cd /tmp/deps && uv pip install -r taskforge-requirements.txt\n"
    "\x1b[91mUsing Python 3.11.2 environment at: /opt/venv\n"
    "\x1b[0m\x1b[91merror\x1b[0m\x1b[91m:\x1b[0m\x1b[91m \x1b[0m\x1b[91mNo solution found when "
    "resolving dependencies\x1b[0m\x1b[91m\n\x1b[0m\x1b[91m  \x1b[0m\x1b[91mcause\x1b[0m"
    "\x1b[91m:\x1b[0m\x1b[91m \x1b[0m\x1b[91mBecause nosuchpkg-taskforge was not found in the "
    "package registry and you require nosuchpkg-taskforge==1.0, we can conclude that your "
    "requirements are unsatisfiable.\x1b[0m\x1b[91m\n"
)
PIP = """Step 12/20 : RUN python -m pip install -r taskforge-requirements.txt
ERROR: Could not find a version that satisfies the requirement nosuchpkg==1.0 (from versions: none)
ERROR: No matching distribution found for nosuchpkg==1.0
ERROR: The command '/bin/sh -c python -m pip install' returned a non-zero code: 1
"""


@pytest.mark.parametrize(
    ("log", "reason"),
    [
        (
            UV_CONFLICT,
            "No solution found when resolving dependencies: Because you require werkzeug==2.0.0 "
            "and werkzeug>=2.2.2, we can conclude that your requirements are unsatisfiable.",
        ),
        (
            UV_TTY,
            "No solution found when resolving dependencies: Because nosuchpkg-taskforge was not "
            "found in the package registry and you require nosuchpkg-taskforge==1.0, we can "
            "conclude that your requirements are unsatisfiable.",
        ),
        (
            UV_COLOURED,
            "No solution found when resolving dependencies: Because nosuchpkg-taskforge was not "
            "found in the package registry and you require nosuchpkg-taskforge==1.0, we can "
            "conclude that your requirements are unsatisfiable.",
        ),
        (UV_PATH, "Distribution not found at: file:///tmp/deps/plugins/x"),
        (
            PIP,
            "Could not find a version that satisfies the requirement nosuchpkg==1.0 "
            "(from versions: none)",
        ),
        ("ERROR: The command '/bin/sh -c x' returned a non-zero code: 1\n", ""),
    ],
)
def test_resolver_reason(log: str, reason: str) -> None:
    assert resolver_reason(log) == reason


def config(**fields: object) -> InstallConfig:
    return InstallConfig.model_validate({"python": "3.11", "base_image": "b", **fields})


FILES = {
    "requirements/tests.txt": "werkzeug>=2.2.2\npytest\n",
    "requirements/tests-min.txt": "werkzeug==2.0.0\n",
    "requirements-dev.txt": "six\nnosuchpkg-taskforge==1.0\n",
}


def test_a_bad_line_is_dropped_next_time() -> None:
    failed = config(requirement_files=["requirements-dev.txt"], extra_packages=["pytest"])
    reason = resolver_reason(UV_TTY)
    varied = vary_after_failure(failed, reason, FILES)
    assert varied is not None
    assert varied.dropped_requirements == ["nosuchpkg-taskforge"]
    assert varied.requirement_files == ["requirements-dev.txt"]


def test_two_conflicting_files_lose_the_later_one() -> None:
    failed = config(requirement_files=["requirements/tests.txt", "requirements/tests-min.txt"])
    varied = vary_after_failure(failed, resolver_reason(UV_CONFLICT), FILES)
    assert varied is not None
    assert varied.requirement_files == ["requirements/tests.txt"]


def test_an_extra_package_is_dropped_and_nothing_else_gives_none() -> None:
    failed = config(extra_packages=["nosuchpkg-taskforge==1.0", "pytest"])
    varied = vary_after_failure(failed, resolver_reason(UV_TTY), {})
    assert varied is not None and varied.extra_packages == ["pytest"]
    assert vary_after_failure(config(), "error: disk quota exceeded", FILES) is None


@pytest.mark.parametrize(
    ("module", "python", "requirement"),
    [
        ("pkg_resources", "3.11", "setuptools<81"),
        ("distutils", "3.12", "setuptools"),
        ("yaml", "3.9", "PyYAML"),
        ("dateutil", "3.9", "python_dateutil"),
        ("jwt", "3.9", "PyJWT"),
        ("six", "3.9", "six"),
    ],
)
def test_module_sources(module: str, python: str, requirement: str) -> None:
    assert requirement_for(module, python) == requirement


PYJWT_SETUP = """
from setuptools import setup
EXTRAS_REQUIRE = {
    "docs": ["sphinx"],
    "crypto": ["cryptography >= 1.4"],
    "tests": ["pytest>=4.0.1,<5.0.0", "coverage[toml]==5.0.4"],
}
EXTRAS_REQUIRE["dev"] = EXTRAS_REQUIRE["docs"] + EXTRAS_REQUIRE["tests"] + ["mypy"]
setup(name="PyJWT", extras_require=EXTRAS_REQUIRE)
"""


def test_extras_read_from_setup_py() -> None:
    declared = declared_extras({"setup.py": PYJWT_SETUP})
    assert list(declared) == ["docs", "crypto", "tests", "dev"]
    assert declared["crypto"] == ["cryptography >= 1.4"]
    assert every_extra({"setup.py": PYJWT_SETUP}) == ["crypto", "tests", "dev"]


def test_a_missing_module_brings_the_extra_that_declares_it() -> None:
    files = {"setup.py": PYJWT_SETUP}
    failed = config(extras=["tests"])
    problem = "tests do not collect at abc: ModuleNotFoundError: No module named 'cryptography'"
    varied = after_missing_module(failed, problem, files)
    assert varied is not None and varied.extras == ["tests", "crypto"]
    old = after_missing_module(failed, "No module named 'pkg_resources'", files)
    assert old is not None and old.extra_packages == ["setuptools<81"]
    assert after_missing_module(old, "No module named 'pkg_resources'", files) is None


@pytest.mark.parametrize(
    "reason",
    [
        "Failed to build `greenlet==0.4.17`: The build backend returned an error",
        "ERROR: Failed building wheel for typed-ast",
        "error: command 'gcc' failed: No such file or directory",
    ],
)
def test_a_source_build_that_failed_gets_a_compiler_next_time(reason: str) -> None:
    config = InstallConfig(python="3.11", base_image="b")
    following = vary_after_failure(config, reason, {})
    assert following is not None and following.native_build
    # with a compiler already there, the same failure varies something else or nothing
    assert vary_after_failure(following, reason, {}) is None
