"""Small readers of packaging text shared by the recipe modules: TOML tables and the
distribution a requirement names, both forgiving (a file or line that does not parse reads as
empty, for the resolver to judge)."""

from __future__ import annotations

import tomllib
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


def toml_table(text: str | None) -> dict[str, Any]:
    """The TOML document ``text`` as a table; empty when absent or malformed."""
    if not text:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def requirement_name(requirement: str) -> str:
    """The canonical distribution name a requirement line names, or "" when it names none."""
    try:
        return canonicalize_name(Requirement(requirement).name)
    except InvalidRequirement:
        return ""
