"""Optional extras: what ``pip install 'taskforge[EXTRA]'`` adds, checked before it is needed.

``dask`` (prefect-dask, distributed) runs validations on a Dask cluster (``--task-runner
dask...``); ``docker`` (prefect-docker) is what a Prefect Docker work pool's worker and
``taskforge deploy --image`` need. A command that needs a missing extra stops with one line
naming the install command, before Prefect starts: the check only looks the module up
(``importlib.util.find_spec``), it imports nothing.
"""

from __future__ import annotations

import enum
import importlib.util

from pipeline.core.errors import UserInputError


class Extra(enum.StrEnum):
    """An optional extra of the taskforge package, by its name in ``pyproject.toml``."""

    DASK = "dask"
    DOCKER = "docker"


MODULES: dict[Extra, str] = {Extra.DASK: "prefect_dask", Extra.DOCKER: "prefect_docker"}


def installed(extra: Extra) -> bool:
    """Whether ``extra``'s module can be imported here."""
    try:
        return importlib.util.find_spec(MODULES[extra]) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def require(extra: Extra, needed_for: str) -> None:
    """Bad input, in one line naming the install command, unless ``extra`` is installed."""
    if not installed(extra):
        raise UserInputError(
            f"{needed_for} needs {MODULES[extra].replace('_', '-')}: "
            f"pip install 'taskforge[{extra.value}]'"
        )
