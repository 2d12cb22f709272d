"""How packages are installed on each Python: uv where it supports the Python, pip below.

uv installs into Python 3.8 and newer, with ``--exclude-newer`` for packages as of a date.
Python 3.6 and 3.7 (the Pythons of 2018 and 2019, from ``python:3.X-slim`` where a registry
answers) get pip for everything — building the wheel (``pip wheel``), the install, and the
run-time reinstall (``validators.runner`` falls back to pip when the image has no uv) — and no
date pin, which pip cannot do; ``environment.plan_environment`` records that on the attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

OLDEST_UV_PYTHON = Version("3.8")
# The oldest pytest that runs on each Python (older ones fail to import or to collect); the
# resolver picks the newest that the Python and the date allow above it.
PYTEST_FLOOR = {
    "3.6": "pytest>=3.0",
    "3.7": "pytest>=3.0",
    "3.8": "pytest>=3.6",
    "3.9": "pytest>=6.2",
    "3.10": "pytest>=6.2.5",
    "3.11": "pytest>=7.2",
    "3.12": "pytest>=7.3.2",
    "3.13": "pytest>=8.2",
    "3.14": "pytest>=8.4",
}


@dataclass(frozen=True)
class Installer:
    """The commands an environment build uses on one Python."""

    wheel_tools: str  # installed in the wheel stage's build venv
    wheel_build: str  # followed by the output folder and the project folder
    venv_tools: str  # a shell fragment run after the image's venv is made ("&& ...")
    install: str  # the install command in the image's venv
    pins_dates: bool  # whether ``--exclude-newer`` is understood
    # raising pytest to the floor of a Python takes the oldest release that runs there, not the
    # newest: a 2020 suite with filterwarnings = error fails on pytest 8's deprecations
    floor_options: str = ""


UV = Installer(
    wheel_tools="uv packaging",
    wheel_build="/opt/build/bin/uv build --wheel --out-dir",  # not quiet: a failure's cause
    venv_tools="&& /opt/venv/bin/python -m pip install --quiet uv",
    # bytecode compiled at install time, as pip does by default: a dependency whose source
    # warns when compiled (blinker 1.4's invalid escape) would otherwise warn on import, which
    # a project's ``filterwarnings = error`` turns into a SyntaxError; and no run compiles it
    install="uv pip install --compile-bytecode",
    pins_dates=True,
    floor_options="--resolution lowest-direct",
)
PIP = Installer(
    wheel_tools="--upgrade pip packaging",
    wheel_build="/opt/build/bin/python -m pip wheel --no-deps --wheel-dir",
    venv_tools="&& /opt/venv/bin/python -m pip install --quiet --upgrade pip",
    install="python -m pip install",
    pins_dates=False,
)


def installer_for(python: str) -> Installer:
    """The installer of ``python``: uv where uv supports it, pip for older Pythons."""
    return UV if Version(python) >= OLDEST_UV_PYTHON else PIP


def pins_dates(python: str) -> bool:
    """Whether the installer of ``python`` can pin packages to a date (uv's ``--exclude-newer``)."""
    return installer_for(python).pins_dates


def pytest_floor(python: str) -> str:
    """The oldest pytest requirement that runs on ``python``."""
    return PYTEST_FLOOR.get(python, "pytest")
