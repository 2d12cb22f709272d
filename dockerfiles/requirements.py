"""Read pip requirement files (and tox ``deps``) from a git tree, following their includes.

A requirement file names three kinds of things, told apart here once so that the rest of the
recipe works on typed lines:

- *remote* requirements (``werkzeug==2.0.0``, ``pkg @ https://...``), installed in the image;
- *local* requirements (``./subpackage``, ``plugins/example-plugin``, ``-e ./sub``,
  ``pkg @ file:./sub``): code of the repository, which the image never holds. They are built in
  the wheel stage to learn their dependencies and installed from each task's tree at run time;
- the project itself (``.``, ``-e .[test]``): its extras (``test``) join the project's install.

``-r FILE`` / ``--requirement FILE`` (also clustered, ``-Urrequirements.txt``) are followed
relative to the including file, as pip does; ``-c FILE`` likewise, into constraints. Local
paths are relative to the repository root (pip and tox run from there). Includes are followed
to ``MAX_DEPTH`` levels, each file once (a cycle is cut where it closes). Requirements are
parsed with ``packaging``; a line it cannot parse is kept as written for the resolver to judge.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

MAX_DEPTH = 5
TOX_ROOT = re.compile(r"\{toxinidir\}/?")
SELF_EXTRAS = re.compile(r"^\.\[([^\]]*)\]$")
PER_REQUIREMENT_OPTIONS = re.compile(r"\s+--")
# options that take a value: the value is a separate token or the rest of a short cluster
VALUE_OPTIONS = {"r", "c", "e", "i", "f"}
LONG_VALUE_OPTIONS = {
    "--requirement": "r",
    "--constraint": "c",
    "--editable": "e",
    "--index-url": "i",
    "--extra-index-url": "x",
    "--find-links": "f",
    "--trusted-host": "t",
}

Reader = Callable[[str], str | None]


@dataclass(frozen=True)
class RequirementLine:
    """One requirement, where it came from, and what kind it is."""

    text: str  # the requirement as it is passed on ("werkzeug==2.0.0", "-e plugins/x")
    source: str  # the file it came from ("requirements/tests.txt", "tox.ini")
    name: str = ""  # canonical distribution name, "" when it has none (a bare path)
    local: str = ""  # a path inside the repository ("plugins/x", "." for the project)
    extras: tuple[str, ...] = ()  # extras of a local requirement (".[test]" -> ("test",))

    @property
    def is_project(self) -> bool:
        """Whether the line names the project itself (``.`` or ``-e .[extra]``)."""
        return self.local == "."


@dataclass
class Expanded:
    """Everything a set of requirement files names, includes resolved."""

    requirements: list[RequirementLine] = field(default_factory=list)
    constraints: list[RequirementLine] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # every file read, includes too
    missing: list[str] = field(default_factory=list)  # included files absent from the tree

    @property
    def remote(self) -> list[RequirementLine]:
        """Requirements installed from an index."""
        return [line for line in self.requirements if not line.local]

    @property
    def local(self) -> list[RequirementLine]:
        """Local path requirements other than the project (installed at run time)."""
        return [line for line in self.requirements if line.local and not line.is_project]

    @property
    def project_extras(self) -> list[str]:
        """Extras of the project named by ``.[extra]`` lines, in order, once each."""
        found = [e for line in self.requirements if line.is_project for e in line.extras]
        return list(dict.fromkeys(found))


def logical_lines(text: str) -> list[str]:
    """Lines with continuations joined and comments and blanks removed."""
    joined = re.sub(r"\\\r?\n", " ", text)
    lines = (re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines())
    return [line for line in lines if line]


def split_options(line: str) -> tuple[list[tuple[str, str]], list[str]]:
    """A line's options as (letter, value) pairs, and the words that are not options."""
    try:
        tokens = shlex.split(line)
    except ValueError:
        tokens = line.split()
    options: list[tuple[str, str]] = []
    words: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if token.startswith("--"):
            flag, _, value = token.partition("=")
            letter = LONG_VALUE_OPTIONS.get(flag)
            if letter and not value and index < len(tokens):
                value, index = tokens[index], index + 1
            options.append((letter or flag, value))
        elif token.startswith("-") and len(token) > 1:
            for position, letter in enumerate(token[1:], start=1):
                if letter in VALUE_OPTIONS:
                    value = token[position + 1 :]
                    if not value and index < len(tokens):
                        value, index = tokens[index], index + 1
                    options.append((letter, value))
                    break
                options.append((letter, ""))
        else:
            words.append(token)
    return options, words


def classify(text: str, source: str, editable: bool = False) -> RequirementLine:
    """A requirement's kind: the project, a local path, or a remote requirement."""
    text = TOX_ROOT.sub("./", text).strip()
    prefix = "-e " if editable else ""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return _path_requirement(text, source, prefix)
    url = requirement.url or ""
    if url.startswith("file:"):
        line = _path_requirement(url, source, prefix)
        return RequirementLine(line.text, source, canonicalize_name(requirement.name), line.local)
    return RequirementLine(prefix + text, source, canonicalize_name(requirement.name))


def _path_requirement(text: str, source: str, prefix: str) -> RequirementLine:
    path = re.sub(r"^file:(//)?", "", text)
    extras: tuple[str, ...] = ()
    match = re.match(r"^(.*?)\[([^\]]*)\]$", path)
    if match:
        path, extras = match.group(1), tuple(e.strip() for e in match.group(2).split(",") if e)
    if not re.match(r"^(\.|/|[\w.-]+/)", path) and path not in {".", ".."}:
        return RequirementLine(prefix + text, source)  # unparsable, not a path: pass it on
    local = posixpath.normpath(path.lstrip("/").removeprefix("${PROJECT_ROOT}/") or ".")
    written = local if local == "." or local.startswith(".") else f"./{local}"
    suffix = f"[{','.join(extras)}]" if extras else ""
    return RequirementLine(prefix + written + suffix, source, "", local, extras)


def parse_lines(
    lines: list[str], source: str, base_dir: str
) -> tuple[list[RequirementLine], list[tuple[str, str]]]:
    """Requirements of some lines, and the files they include as ("r"|"c", path)."""
    requirements: list[RequirementLine] = []
    includes: list[tuple[str, str]] = []
    for line in lines:
        if line.strip() and not line.lstrip().startswith("-"):
            # a requirement, with per-requirement options (--hash) after it: its marker keeps
            # its quotes (``; python_version < '3.8'``), which a shell-style split would drop
            text = PER_REQUIREMENT_OPTIONS.split(line.strip(), maxsplit=1)[0]
            if "{" not in TOX_ROOT.sub("", text):
                requirements.append(classify(text, source))
            continue
        options, words = split_options(line)
        for letter, value in options:
            if letter in {"r", "c"} and value and "{" not in TOX_ROOT.sub("", value):
                target = TOX_ROOT.sub("", value)
                path = target if TOX_ROOT.search(value) else posixpath.join(base_dir, target)
                includes.append((letter, posixpath.normpath(path)))
            elif letter == "e" and value:
                requirements.append(classify(value, source, editable=True))
        if words and not any(letter in {"r", "c", "e"} for letter, _ in options):
            text = " ".join(words)
            if "{" in TOX_ROOT.sub("", text):
                continue  # another tox substitution: nothing pip could read
            requirements.append(classify(text, source))
    return requirements, includes


def expand(read: Reader, paths: list[str], tox_lines: list[str] | None = None) -> Expanded:
    """Every requirement ``paths`` (and tox's ``deps`` lines) name, includes followed."""
    expanded = Expanded()
    seen: set[str] = set()
    pending: list[tuple[str, str, int]] = [("r", path, 0) for path in paths]
    if tox_lines:
        found, includes = parse_lines(tox_lines, "tox.ini", "")
        expanded.requirements += found
        pending = [(kind, path, 1) for kind, path in includes] + pending
    while pending:
        kind, path, depth = pending.pop(0)
        if path in seen or depth > MAX_DEPTH:
            continue
        seen.add(path)
        text = read(path)
        if text is None:
            expanded.missing.append(path)
            continue
        expanded.files.append(path)
        found, includes = parse_lines(logical_lines(text), path, posixpath.dirname(path))
        (expanded.constraints if kind == "c" else expanded.requirements).extend(found)
        nested = [(k if kind == "r" else "c", p, depth + 1) for k, p in includes]
        pending = nested + pending
    return expanded


def included_files(read: Reader, paths: list[str], tox_lines: list[str] | None = None) -> list[str]:
    """The files that ``paths`` and tox's lines include, directly or not (not ``paths``)."""
    return [p for p in expand(read, paths, tox_lines).files if p not in paths]


def flattened(
    read: Reader, paths: list[str], dropped: Sequence[str] = ()
) -> tuple[list[str], list[str]]:
    """The remote requirements and constraints of ``paths`` as lines of one file each.

    Includes are resolved here, so the image build gets one requirement file that names no
    path; local requirements and the project itself are left out, and so is every line
    naming a distribution in ``dropped``.
    """
    expanded = expand(read, paths)
    skip = {canonicalize_name(name) for name in dropped}

    def kept(lines: list[RequirementLine]) -> list[str]:
        texts = [line.text for line in lines if not line.local and line.name not in skip]
        return list(dict.fromkeys(texts))

    return kept(expanded.requirements), kept(expanded.constraints)
