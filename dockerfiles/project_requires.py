"""Print a wheel's dependencies for the given extras, one requirement per line.

Runs inside the wheel stage of an environment build, on the image's own Python (3.9 or
newer, standard library plus ``packaging``), so that the final image receives the project's
dependencies without the project's code. Usage: ``python project_requires.py WHEEL EXTRAS``
where EXTRAS is a comma-separated list, possibly empty.
"""

from __future__ import annotations

import sys
import zipfile
from email.parser import Parser

from packaging.markers import default_environment
from packaging.requirements import Requirement


def requirements(wheel: str, extras: list[str]) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(name).decode("utf-8"))
    wanted: list[str] = []
    for line in metadata.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is not None:
            base = {key: str(value) for key, value in default_environment().items()}
            contexts = [{**base, "extra": extra} for extra in ["", *extras]]
            if not any(marker.evaluate(c) for c in contexts):
                continue
            requirement.marker = None
        wanted.append(str(requirement))
    return wanted


if __name__ == "__main__":
    chosen = [e for e in sys.argv[2].split(",") if e] if len(sys.argv) > 2 else []
    print("\n".join(requirements(sys.argv[1], chosen)))
