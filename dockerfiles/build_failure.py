"""Why an environment build failed, in the resolver's words, and what to leave out next time.

``resolver_reason`` reads a build log: the failing step's first error line from uv
(``error: No solution found when resolving dependencies`` with its ``cause:`` /
``╰─▶`` line, ``error: Distribution not found at: ...``) or pip (``ERROR: No matching
distribution found for ...``), never Docker's own "The command ... returned a non-zero code".

``vary_after_failure`` turns that reason into the next attempt: a fallback chain whose every
attempt carries the line that failed fails every time. The requirement lines the reason names
are dropped — the whole file where two requirement files conflict on a name (alternatives
installed together), the extra that brings it, or the one line — and the attempt is recorded.
"""

from __future__ import annotations

import re

from packaging.utils import canonicalize_name

from dockerfiles.extras import declared_extras, extras_providing
from dockerfiles.module_sources import requirement_for
from dockerfiles.requirements import classify, expand
from pipeline.core.records import InstallConfig

# a source build that failed: uv's "Failed to build `x==1`", pip's "Failed building wheel for x",
# or a compiler or header that is missing
NEEDS_COMPILER = re.compile(
    r"Failed to build `|Failed building wheel|command '(gcc|cc|x86_64-linux-gnu-gcc)' failed|"
    r"Python\.h: No such file|error: command .*gcc"
)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # uv colours its errors; Docker marks stderr
STEP = re.compile(r"^Step \d+/\d+ : ")
ERROR = re.compile(r"^\s*(?:error:|ERROR:|\u00d7)\s*(?P<message>\S.*)$")
DOCKER_ERROR = re.compile(r"The command .* returned a non-zero code|ResolutionImpossible")
EXPLANATION = re.compile(r"^\s*(?:cause:|Caused by:|╰─▶|├─▶)\s*(?P<message>\S.*)$")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9]|[A-Za-z0-9]")
RUNNER = "pytest"
MISSING_MODULE = re.compile(r"No module named '([A-Za-z0-9_]+)")


def resolver_reason(log: str) -> str:
    """The resolver's (or build backend's) own line for a failed build, "" if none is found."""
    lines = ANSI.sub("", log).splitlines()
    starts = [index for index, line in enumerate(lines) if STEP.match(line)]
    failing = lines[starts[-1] :] if starts else lines
    for index, line in enumerate(failing):
        match = ERROR.match(line)
        if not match or DOCKER_ERROR.search(line):
            continue
        message = match.group("message").rstrip(":")
        for following in failing[index + 1 : index + 4]:
            explained = EXPLANATION.match(following)
            if explained:
                return f"{message}: {explained.group('message')}"
        return message
    return ""


def named_in(reason: str) -> set[str]:
    """The canonical names of every word of ``reason`` (candidates for distribution names)."""
    return {canonicalize_name(word) for word in WORD.findall(reason)}


def vary_after_failure(
    config: InstallConfig, reason: str, files: dict[str, str]
) -> InstallConfig | None:
    """The next attempt after ``config`` failed for ``reason``; None when nothing it names is
    in the recipe (then varying the recipe cannot help)."""
    if not config.native_build and NEEDS_COMPILER.search(reason):
        # a dependency without a wheel for this Python is built from source: give it a compiler
        return config.revised(native_build=True)
    words = named_in(reason)
    lines = [line for line in expand(files.get, config.requirement_files).remote if line.name]
    blamed = [line for line in lines if line.name in words and line.name != RUNNER]
    top_files = set(config.requirement_files)
    conflicting = {line.source for line in blamed if line.source in top_files}
    if len({line.name for line in blamed}) < len(blamed) and len(conflicting) > 1:
        last = [p for p in config.requirement_files if p in conflicting][-1]
        kept = [p for p in config.requirement_files if p != last]
        return config.revised(requirement_files=kept)
    update: dict[str, object] = {}
    names = sorted({line.name for line in blamed} - set(config.dropped_requirements))
    if names:
        update["dropped_requirements"] = [*config.dropped_requirements, *names]
    packages = [p for p in config.extra_packages if _name(p) in words and _name(p) != RUNNER]
    if packages:
        update["extra_packages"] = [p for p in config.extra_packages if p not in packages]
    extras = _extras_naming(files, config.extras, words) if not update else []
    if extras:
        update["extras"] = [e for e in config.extras if e not in extras]
    return config.revised(**update) if update else None


def _extras_naming(files: dict[str, str], chosen: list[str], words: set[str]) -> list[str]:
    declared = declared_extras(files)
    return [
        extra
        for extra in chosen
        if any(_name(r) in words for r in declared.get(extra, []) if _name(r) != RUNNER)
    ]


def _name(requirement: str) -> str:
    return classify(requirement, "").name


def after_missing_module(
    config: InstallConfig, problem: str, files: dict[str, str]
) -> InstallConfig | None:
    """The next attempt after the check reported ``No module named 'X'``: with the declared
    extras that bring X where some do, else with X's distribution (``module_sources``); None
    when there is no module or the attempt already had both."""
    module = MISSING_MODULE.search(problem)
    if module is None:
        return None
    requirement = requirement_for(module.group(1), config.python)
    extras = [e for e in extras_providing(files, _name(requirement)) if e not in config.extras]
    if extras:
        return config.revised(extras=[*config.extras, *extras])
    if requirement in config.extra_packages:
        return None
    return config.revised(extra_packages=[*config.extra_packages, requirement])
