"""Whether a project compiles native extensions, so that its images need a C toolchain.

A project with C, C++ or Cython extensions (``multidict``, ``numpy``-style packages) builds them
when its wheel is made in the first stage and again when each task's tree is reinstalled at run
time; a minimal base image has no compiler and every attempt fails with "the build backend
returned an error". The signals are read from the packaging files at the commit, nothing is
executed: ``ext_modules`` / ``Extension(`` / ``cythonize`` in ``setup.py``, ``ext-modules`` in
``pyproject.toml``, or a build requirement that only compiled projects have (Cython, pybind11,
scikit-build, meson-python, cffi, numpy).
"""

from __future__ import annotations

import re

from dockerfiles.packaging_text import requirement_name, toml_table

SETUP_PY_SIGNS = re.compile(r"\b(ext_modules|Extension\(|cythonize\(|Pybind11Extension|build_ext)")
NATIVE_BUILD_REQUIRES = frozenset(
    {"cython", "pybind11", "scikit-build", "scikit-build-core", "meson-python", "cffi", "numpy"}
)
# Debian packages of a C and C++ toolchain; a bootstrapped Debian Python needs its headers too
# (python:X.Y-slim images carry theirs)
TOOLCHAIN = ["build-essential"]
DEBIAN_PYTHON_HEADERS = ["python3-dev"]


def compiles_extensions(files: dict[str, str]) -> bool:
    """Whether the packaging files say the project builds native extensions."""
    if SETUP_PY_SIGNS.search(files.get("setup.py", "")):
        return True
    pyproject = toml_table(files.get("pyproject.toml"))
    if pyproject.get("tool", {}).get("setuptools", {}).get("ext-modules"):
        return True
    return any(requirement_name(r) in NATIVE_BUILD_REQUIRES for r in _build_requires(pyproject))


def _build_requires(pyproject: dict[str, object]) -> list[str]:
    system = pyproject.get("build-system", {})
    requires = system.get("requires", []) if isinstance(system, dict) else []
    return [r for r in requires if isinstance(r, str)] if isinstance(requires, list) else []
