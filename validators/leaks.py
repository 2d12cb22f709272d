"""Solution leaks: whether a task's problem statement or hints already contain its fix.

A pure function of the task (``find_leaks``), tested from golden files. Three kinds
(``LeakKind``), each looked for in ``problem_statement`` and in ``hints_text``:

- ``added_line``: a line the fix adds, found in the text after whitespace is collapsed on
  both sides (indentation, wrapping and Markdown code fences do not hide it). Only lines that
  say something count: at least ``MIN_CHARACTERS`` non-space characters and ``MIN_WORDS``
  word tokens (runs of letters, digits, ``_``), so braces, ``return``, ``pass``, ``else:``,
  ``return None`` or ``x += 1`` never count; not an import of one name (Python, JS, Java,
  Go, Rust, C), which a report names as often as a fix adds it; not a comment, which often
  repeats the report's own words (a line comment, or any line of a block comment or docstring,
  whose text a PR description often copies); and not a line the fix also removes (moved code is code
  the reporter could quote). Context lines and anything else the patch does not add are
  never looked for, so a reproducer or a traceback from the bug report is no leak.
- ``diff``: the diff itself. A ``diff --git``, ``--- a/`` or ``+++ b/`` header naming a file
  the fix changes, or a run of ``MIN_RUN`` consecutive ``+``/``-`` lines of the text that are
  lines the fix adds (``+``) or removes (``-``).
- ``commit_id``: the fix commit's sha, whole or a prefix of at least ``MIN_HEX`` hex digits,
  as a word of its own.

Each leak keeps a short excerpt of what matched; at most ``MAX_PER_KIND`` of one kind per field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.core.records import Leak, LeakField, LeakKind, Task

MIN_CHARACTERS = 20  # non-space characters of an added line that can leak
MIN_WORDS = 3  # word tokens of an added line that can leak
MIN_RUN = 2  # consecutive +/- lines of the patch that make a pasted diff
MIN_HEX = 7  # digits of a commit id prefix (git's own default abbreviation)
EXCERPT = 80  # characters kept of what matched
MAX_PER_KIND = 3  # leaks of one kind recorded per field

WHITESPACE = re.compile(r"\s+")
WORD = re.compile(r"\w+")
HEX_WORD = re.compile(rf"\b[0-9a-fA-F]{{{MIN_HEX},40}}\b")
HEADER = re.compile(r"^(?:diff --git a/(\S+) b/(\S+)|--- a/(\S+)|\+\+\+ b/(\S+))")
COMMENT = re.compile(r"^(?:#(?!include)|//|/\*|\*|--\s|\"\"\"|''')")
ONE_NAME_IMPORTS = [
    re.compile(p)
    for p in (
        r"^(?:from [\w.]+ )?import [\w.*]+(?: as \w+)?;?$",  # Python, Java
        r"^import (?:\{ ?)?[\w$]+(?: ?\})? from ['\"][^'\"]+['\"];?$",  # JS / TS
        r"^(?:const|let|var) [\w$]+ = require\(['\"][^'\"]+['\"]\);?$",  # CommonJS
        r"^import (?:\w+ )?\"[^\"]+\"$",  # Go
        r"^(?:pub )?use [\w:]+(?: as \w+)?;$",  # Rust
        r"^#include [<\"][^>\"]+[>\"]$",  # C, C++
    )
]


@dataclass
class FixLines:
    """What a unified diff adds and removes (whitespace collapsed), and the files it names."""

    added: list[str] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    paths: set[str] = field(default_factory=set)
    # added lines inside a block comment or a docstring (``/* ... */``, ``""" ... """``)
    commented: set[str] = field(default_factory=set)


def collapse(text: str) -> str:
    """``text`` with every run of whitespace as one space, stripped."""
    return WHITESPACE.sub(" ", text).strip()


def fix_lines(patch: str) -> FixLines:
    """The added and removed lines of ``patch``, the paths its headers name, and the added
    lines inside block comments and docstrings (followed over the new side's lines)."""
    lines = FixLines()
    in_hunk = False
    closing: str | None = None  # what ends the block comment or docstring the line is in
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            in_hunk, closing = False, None
        if not in_hunk:
            header = HEADER.match(line)
            if header:
                lines.paths.update(p for p in header.groups() if p)
            in_hunk = line.startswith("@@")
            continue
        if line.startswith("-"):
            lines.removed.add(collapse(line[1:]))
            continue
        commented, closing = _in_comment(line[1:], closing)
        if line.startswith("+"):
            lines.added.append(collapse(line[1:]))
            if commented:
                lines.commented.add(collapse(line[1:]))
    return lines


def _in_comment(text: str, closing: str | None) -> tuple[bool, str | None]:
    """Whether a line of the new side is (partly) a block comment or docstring, and what ends
    the one still open after it."""
    if closing is not None:
        return True, (None if closing in text else closing)
    for opening, ending in (("/*", "*/"), ('"""', '"""'), ("'''", "'''")):
        start = text.find(opening)
        if start >= 0:
            return True, (None if ending in text[start + len(opening) :] else ending)
    return False, None


def telling(line: str) -> bool:
    """Whether an added line (whitespace collapsed) says enough to be a leak."""
    if len(line.replace(" ", "")) < MIN_CHARACTERS or len(WORD.findall(line)) < MIN_WORDS:
        return False
    if COMMENT.match(line):
        return False
    return not any(pattern.match(line) for pattern in ONE_NAME_IMPORTS)


def find_leaks(task: Task) -> list[Leak]:
    """Every leak of ``task``'s fix in its problem statement and hints."""
    fix = fix_lines(task.patch)
    quoted = fix.removed | fix.commented  # what a report can quote without the fix
    telling_lines = list(dict.fromkeys(a for a in fix.added if telling(a) and a not in quoted))
    texts = {
        LeakField.PROBLEM_STATEMENT: task.problem_statement,
        LeakField.HINTS_TEXT: task.hints_text,
    }
    leaks: list[Leak] = []
    for where, text in texts.items():
        if not text:
            continue
        flat = collapse(text)
        found = {
            LeakKind.ADDED_LINE: [line for line in telling_lines if line in flat],
            LeakKind.DIFF: pasted_diff(text, fix),
            LeakKind.COMMIT_ID: commit_ids(text, task.fix_commit),
        }
        for kind, excerpts in found.items():
            leaks += [
                Leak(kind=kind, field=where, excerpt=excerpt[:EXCERPT])
                for excerpt in excerpts[:MAX_PER_KIND]
            ]
    return leaks


def pasted_diff(text: str, fix: FixLines) -> list[str]:
    """Diff headers of the fix's files, and the first line of each run of ``MIN_RUN`` or more
    of its +/- lines, as they stand in ``text``."""
    found: list[str] = []
    added = set(fix.added)
    run: list[str] = []
    named: set[str] = set()  # one excerpt per file a header names: diff --git, ---, +++
    for raw in [*text.splitlines(), ""]:
        line = raw.strip()
        header = HEADER.match(line)
        paths = fix.paths & {p for p in header.groups() if p} if header else set()
        if paths:
            if not paths <= named:
                found.append(collapse(line))
            named |= paths
            continue
        content = collapse(line[1:])
        marked = line[:1] in ("+", "-") and WORD.search(content) is not None
        side = added if line.startswith("+") else fix.removed
        if marked and content in side:
            run.append(collapse(line))
            continue
        if len(run) >= MIN_RUN:
            found.append(run[0])
        run = []
    return list(dict.fromkeys(found))


def commit_ids(text: str, fix_commit: str) -> list[str]:
    """The words of ``text`` that are the fix commit's sha or a prefix of it."""
    sha = fix_commit.lower()
    if not sha:
        return []
    return list(dict.fromkeys(w for w in HEX_WORD.findall(text) if sha.startswith(w.lower())))
