"""The distribution to install for a module the tests import but no attempt installed.

A data table, not code: ``module_sources.toml`` first (modules that come from a build tool of
their era — ``pkg_resources`` from ``setuptools<81``, ``distutils`` from setuptools on Python
3.12 and later — and names pipreqs' table lacks), each entry optionally limited to a range of
Pythons; then ``import_names.txt``, pipreqs' maintained import-name-to-distribution mapping
(see ``import_names.NOTICE``); else the module's own name, which is what most distributions use.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from pydantic import BaseModel, ConfigDict


class ModuleSource(BaseModel):
    """A distribution that provides an import name pipreqs' mapping does not know."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: str
    requirement: str
    python: str = ""  # a specifier set; "" for every Python
    why: str = ""


@functools.cache
def module_sources() -> tuple[ModuleSource, ...]:
    """The entries of the packaged ``module_sources.toml``, read once."""
    text = resources.files("dockerfiles").joinpath("module_sources.toml").read_text()
    return tuple(ModuleSource.model_validate(e) for e in tomllib.loads(text)["module"])


@functools.cache
def import_names() -> dict[str, str]:
    """The import-name-to-distribution mapping of pipreqs, read once."""
    text = resources.files("dockerfiles").joinpath("import_names.txt").read_text()
    pairs = (line.strip().split(":", 1) for line in text.splitlines() if ":" in line)
    return {module: distribution for module, distribution in pairs}


def requirement_for(module: str, python: str) -> str:
    """What to install so that ``import module`` works on ``python``."""
    top = module.split(".", 1)[0]
    for source in module_sources():
        if source.module == top and Version(python) in SpecifierSet(source.python):
            return source.requirement
    return import_names().get(top, top)
