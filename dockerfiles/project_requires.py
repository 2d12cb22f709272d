"""Print the dependencies of a project's wheel and of its local requirements' wheels.

Runs inside the wheel stage of an environment build, on the image's own Python (3.6 or newer:
no ``from __future__ import annotations``, standard library plus ``packaging``), so that the
final image receives the dependencies without the code. Usage:
``python project_requires.py EXTRAS WHEEL [LOCAL_WHEEL...]``: EXTRAS, a comma-separated list
(possibly empty), applies to the first wheel. The wheels' own distributions are left out (a
plugin that depends on the project gets the project from the task's tree, not from an index),
and so are wheel paths that do not exist (a shell glob that matched nothing).
"""

import os
import sys
import zipfile
from email.parser import Parser

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def metadata(wheel: str) -> "tuple[str, list[str]]":
    """A wheel's distribution name and its ``Requires-Dist`` lines."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        parsed = Parser().parsestr(archive.read(name).decode("utf-8"))
    return str(parsed["Name"]), list(parsed.get_all("Requires-Dist") or [])


def requirements(lines: "list[str]", extras: "list[str]") -> "list[Requirement]":
    wanted = []
    base = {key: str(value) for key, value in default_environment().items()}
    for line in lines:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is not None:
            contexts = [dict(base, extra=extra) for extra in ["", *extras]]
            if not any(marker.evaluate(c) for c in contexts):
                continue
            requirement.marker = None
        wanted.append(requirement)
    return wanted


def own_extras(name: str, lines: "list[str]", extras: "list[str]") -> "list[str]":
    """``extras`` and those the chosen extras ask of the project itself (``dev = x[tests]``)."""
    chosen = list(extras)
    while True:
        more = [
            extra
            for requirement in requirements(lines, chosen)
            if canonicalize_name(requirement.name) == canonicalize_name(name)
            for extra in sorted(requirement.extras)
            if extra not in chosen
        ]
        if not more:
            return chosen
        chosen += more


def main(arguments: "list[str]") -> "list[str]":
    extras = [e for e in arguments[0].split(",") if e] if arguments else []
    wheels = [w for w in arguments[1:] if os.path.isfile(w)]
    found = [metadata(wheel) for wheel in wheels]
    own = {canonicalize_name(name) for name, _ in found}
    if found:
        extras = own_extras(found[0][0], found[0][1], extras)
    printed = []
    for index, (_, lines) in enumerate(found):
        for requirement in requirements(lines, extras if index == 0 else []):
            if canonicalize_name(requirement.name) not in own:
                printed.append(str(requirement))
    return list(dict.fromkeys(printed))


if __name__ == "__main__":
    print("\n".join(main(sys.argv[1:])))
