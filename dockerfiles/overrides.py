"""Per-repository overrides for what heuristics cannot know, read from ``overrides.toml``.

The committed overrides ship inside the package (``dockerfiles/overrides.toml``, read with
``importlib.resources``), so an installed wheel reads the same file as a checkout. The format is
documented in ``data/README.md``. An override applies to a task when its
``repo`` matches and the task's base commit date falls in ``[since, until)`` (either bound may
be left out). When several apply, later entries win field by field.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from pipeline.core.errors import UserInputError
from pipeline.core.records import InstallConfig

DEFAULT_OVERRIDES: Traversable = resources.files("dockerfiles") / "overrides.toml"


class Override(BaseModel):
    """One ``[[repo]]`` entry of an overrides file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    repo: str
    since: datetime | None = None
    until: datetime | None = None
    python: str | None = None
    extras: list[str] | None = None
    extra_packages: list[str] | None = None  # added to the detected ones
    system_packages: list[str] | None = None
    environment: dict[str, str] | None = None
    pin_dependencies: bool | None = None  # false: never use --exclude-newer

    def applies(self, repo: str, when: datetime) -> bool:
        """Whether the entry applies to ``repo`` at the commit date ``when``."""
        if self.repo.lower() != repo.lower():
            return False
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )


def load_overrides(path: Path | Traversable = DEFAULT_OVERRIDES) -> list[Override]:
    """The overrides of ``path`` (the packaged file by default); none when it does not exist."""
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text()).get("repo", [])
        return [Override.model_validate(entry) for entry in entries]
    except (tomllib.TOMLDecodeError, ValidationError) as error:
        first = str(error).splitlines()[0]
        raise UserInputError(f"{path} is not a valid overrides file: {first}") from None


def matching(overrides: list[Override], repo: str, when: datetime) -> Override | None:
    """All overrides for ``repo`` at ``when``, merged in order (later entries win)."""
    merged: dict[str, object] = {}
    for override in overrides:
        if override.applies(repo, when):
            merged.update(override.model_dump(exclude_none=True))
    return Override.model_validate(merged) if merged else None


def apply_override(config: InstallConfig, override: Override | None) -> InstallConfig:
    """``config`` with what ``override`` sets; ``config`` itself when there is none."""
    if override is None:
        return config
    update: dict[str, object] = {}
    if override.extras is not None:
        update["extras"] = override.extras
    if override.extra_packages:
        update["extra_packages"] = [*config.extra_packages, *override.extra_packages]
    if override.system_packages:
        update["system_packages"] = override.system_packages
    if override.environment:
        update["environment"] = [f"{k}={v}" for k, v in sorted(override.environment.items())]
    if override.pin_dependencies is False:
        update["exclude_newer"] = None
    return config.revised(**update)
