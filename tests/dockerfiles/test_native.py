"""Projects with native extensions get a C toolchain in their images; pure ones do not."""

from __future__ import annotations

import pytest

from dockerfiles.base import BASES
from dockerfiles.builder import native_packages
from dockerfiles.native import compiles_extensions
from dockerfiles.recipe import detect_recipe

SETUP_PY_EXTENSION = (
    "from setuptools import Extension, setup\n"
    "setup(ext_modules=[Extension('fast._speed', ['fast/_speed.c'])])\n"
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"setup.py": SETUP_PY_EXTENSION}, True),
        (
            {
                "setup.py": "from Cython.Build import cythonize\n"
                "setup(ext_modules=cythonize('x.pyx'))"
            },
            True,
        ),
        ({"pyproject.toml": '[build-system]\nrequires = ["setuptools", "Cython>=3"]\n'}, True),
        ({"pyproject.toml": '[build-system]\nrequires = ["meson-python"]\n'}, True),
        (
            {
                "pyproject.toml": "[tool.setuptools]\n"
                'ext-modules = [{name = "m", sources = ["m.c"]}]'
            },
            True,
        ),
        ({"pyproject.toml": '[build-system]\nrequires = ["setuptools>=61", "wheel"]\n'}, False),
        ({"setup.py": "from setuptools import setup\nsetup(name='plain')\n"}, False),
        ({}, False),
    ],
)
def test_native_extensions_are_told_from_the_packaging_files(
    files: dict[str, str], expected: bool
) -> None:
    assert compiles_extensions(files) is expected


def test_the_toolchain_follows_the_base_image() -> None:
    native = detect_recipe({"setup.py": SETUP_PY_EXTENSION}, "3.11", BASES["3.11"].bootstrap_tag)
    assert native.native_build
    assert native_packages(native) == ["build-essential", "python3-dev"]
    slim = native.model_copy(update={"base_image": BASES["3.11"].registry_tag})
    assert native_packages(slim) == ["build-essential"]  # python:X.Y-slim has its headers
    plain = detect_recipe({"setup.py": "setup()"}, "3.11", BASES["3.11"].bootstrap_tag)
    assert native_packages(plain) == []
