"""The wrong patches of a fix that its FAIL_TO_PASS tests should reject: a small, fixed set.

Two families, both built as edited copies of the fix's own diff (``pipeline.core.diffs``:
each file's part parsed with unidiff; the parts not edited stay byte for byte as git printed
them, binary patches included), so each applies wherever the fix does:

- **a hunk left out**, in turn, for each of the first ``MAX_HUNKS`` text hunks: first the
  hunks of files the test patch names (a file's stem, or its folder's name for an ``index``,
  ``mod``, ``lib`` or ``__init__`` file, among the test patch's words: ``lib/utils.js`` for
  a test that requires ``../lib/utils``, ``Parser.java`` for a test that makes a
  ``Parser``), then the others, each group in patch order (a file's only hunk left out
  leaves the whole file out). A fix of one hunk has none; a fix of one hunk per file is
  left out file by file. The hunks after the one left out keep their place: their new-side
  start moves by the lines it no longer adds or removes.
- **mutations** of lines the fix adds (``validators.mutations``), at most ``MAX_MUTATIONS``
  and at most one per line, in code files of a language taskforge knows, never in a comment,
  block comment or docstring (``validators.leaks.fix_lines``). Every candidate
  (line x mutation) is ranked by a SHA-256 of the task's instance id, the path, the line's
  text and the kind, so a rerun picks the same ones; the kinds take turns
  (comparison, boolean, return, deletion), so a fix with many deletable lines still gets its
  one flipped comparison. A deleted line is never the only statement of a Python block, nor
  the line before git's no-newline marker.

A wrong patch identical to the fix, or to another wrong patch, is left out; a diff unidiff
cannot read (git never writes one) has none.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from unidiff.errors import UnidiffParseError
from unidiff.patch import Hunk, Line, PatchedFile

from pipeline.core.diffs import file_sections
from pipeline.core.languages import Language, language_of_file
from pipeline.core.records import WrongPatchKind
from validators.leaks import collapse, fix_lines
from validators.mutations import LineMutation, code_end, indent_of, line_mutations

MAX_HUNKS = 8  # hunk omissions per task: the named files' first, then patch order
GENERIC_STEMS = {"index", "mod", "lib", "main", "__init__"}  # named by their folder
MAX_MUTATIONS = 4  # line mutations per task
KIND_TURNS = [
    WrongPatchKind.FLIPPED_COMPARISON,
    WrongPatchKind.FLIPPED_BOOLEAN,
    WrongPatchKind.CONSTANT_RETURN,
    WrongPatchKind.DELETED_LINE,
]


@dataclass(frozen=True)
class WrongFix:
    """One wrong version of the fix: what it is, its name, its diff."""

    kind: WrongPatchKind
    name: str  # "path @@ -10,6 +10,8 @@" for a hunk, "path:12: == to !=" for a mutation
    patch: str


@dataclass(frozen=True)
class _Candidate:
    section: int
    hunk: int
    line: int
    mutation: LineMutation
    name: str
    rank: str


def wrong_fixes(patch: str, instance_id: str, test_patch: str = "") -> list[WrongFix]:
    """The hunk omissions, then the mutations, of ``patch``; none identical to it or repeated,
    and none of a diff unidiff cannot read (its strength is then not measured)."""
    try:
        found = [*hunk_omissions(patch, test_patch=test_patch), *mutations(patch, instance_id)]
    except UnidiffParseError:
        return []
    unique: dict[str, WrongFix] = {}
    for wrong in found:
        if wrong.patch != patch and wrong.patch not in unique:
            unique[wrong.patch] = wrong
    return list(unique.values())


def hunk_name(patched: PatchedFile, hunk: Hunk) -> str:
    """A hunk as ``uncovered_hunks`` names it: its file and its header's ranges."""
    ranges = f"-{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length}"
    return f"{patched.path} @@ {ranges} @@"


def hunk_omissions(patch: str, limit: int = MAX_HUNKS, test_patch: str = "") -> list[WrongFix]:
    """``patch`` without each of its first ``limit`` hunks in turn (the files ``test_patch``
    names first); none for one hunk."""
    sections = file_sections(patch, metadata_only=False)
    words = _words(test_patch)
    hunks = [
        (number, index)
        for number, (patched, _) in enumerate(sections)
        if not patched.is_binary_file
        for index in range(len(patched))
    ]
    if len(hunks) < 2:
        return []
    hunks.sort(key=lambda place: not _named(str(sections[place[0]][0].path), words))
    omissions = []
    for number, index in hunks[:limit]:
        patched = sections[number][0]
        edited = _without_hunk(patched, index)
        texts = [text for _, text in sections]
        texts[number] = str(edited) if edited is not None else ""
        name = hunk_name(patched, patched[index])
        omissions.append(WrongFix(WrongPatchKind.HUNK_LEFT_OUT, name, "".join(texts)))
    return omissions


def _words(text: str) -> set[str]:
    """The words of ``text``, lower case: whole identifiers and their parts split at ``_``."""
    whole = re.findall(r"[A-Za-z0-9_$-]+", text)
    return {w.lower() for w in whole} | {p.lower() for p in re.findall(r"[A-Za-z0-9]+", text)}


def _named(path: str, words: set[str]) -> bool:
    """Whether the file at ``path`` is named among ``words``: its stem, or its folder's name."""
    parts = path.split("/")
    stem = parts[-1].split(".")[0]
    if stem in GENERIC_STEMS and len(parts) > 1:
        stem = parts[-2]
    return stem.lower() in words


def _without_hunk(patched: PatchedFile, index: int) -> PatchedFile | None:
    """A copy of ``patched`` without hunk ``index``; None when it was the only one."""
    if len(patched) == 1:
        return None
    edited = copy.deepcopy(patched)
    dropped = edited.pop(index)
    for later in edited[index:]:
        later.target_start -= dropped.added - dropped.removed
    return edited


def mutations(patch: str, instance_id: str, limit: int = MAX_MUTATIONS) -> list[WrongFix]:
    """At most ``limit`` mutated copies of ``patch``, chosen as the module says."""
    sections = file_sections(patch, metadata_only=False)
    chosen = _chosen(list(_candidates(sections, patch, instance_id)), limit)
    found = []
    for candidate in chosen:
        texts = [text for _, text in sections]
        patched = sections[candidate.section][0]
        texts[candidate.section] = str(_mutated(patched, candidate))
        found.append(WrongFix(candidate.mutation.kind, candidate.name, "".join(texts)))
    return found


def _candidates(
    sections: list[tuple[PatchedFile, str]], patch: str, instance_id: str
) -> Iterator[_Candidate]:
    commented = fix_lines(patch).commented  # added lines in block comments and docstrings
    for number, (patched, _) in enumerate(sections):
        language = language_of_file(str(patched.path))
        if language is None or patched.is_binary_file:
            continue
        for index, hunk in enumerate(patched):
            for position, line in enumerate(hunk):
                text = line.value.rstrip("\r\n")
                if not line.is_added or collapse(text) in commented:
                    continue
                for mutation in line_mutations(text, language):
                    if mutation.text is None and not _deletable(hunk, position, language):
                        continue
                    name = f"{patched.path}:{line.target_line_no}: {mutation.change}"
                    key = f"{instance_id}\0{patched.path}\0{text}\0{mutation.kind}"
                    rank = hashlib.sha256(key.encode()).hexdigest()
                    yield _Candidate(number, index, position, mutation, name, rank)


def _chosen(candidates: list[_Candidate], limit: int) -> list[_Candidate]:
    """Up to ``limit`` candidates, one per line: the kinds take turns, each in rank order."""
    queues = {
        kind: sorted((c for c in candidates if c.mutation.kind is kind), key=_rank)
        for kind in KIND_TURNS
    }
    chosen: list[_Candidate] = []
    used: set[tuple[int, int, int]] = set()
    while len(chosen) < limit and any(queues.values()):
        for kind in KIND_TURNS:
            queue = queues[kind]
            while queue and _place(queue[0]) in used:
                queue.pop(0)
            if queue and len(chosen) < limit:
                candidate = queue.pop(0)
                used.add(_place(candidate))
                chosen.append(candidate)
    return chosen


def _rank(candidate: _Candidate) -> str:
    return candidate.rank


def _place(candidate: _Candidate) -> tuple[int, int, int]:
    return candidate.section, candidate.hunk, candidate.line


def _deletable(hunk: Hunk, position: int, language: Language) -> bool:
    """Whether deleting the added line at ``position`` keeps its file whole: not before a
    no-newline marker, nor (Python) the only statement of the block the line before opens."""
    following = hunk[position + 1] if position + 1 < len(hunk) else None
    if following is not None and following.line_type == "\\":
        return False
    if language is not Language.PYTHON:
        return True
    before = _neighbour(hunk, position, -1)
    after = _neighbour(hunk, position, 1)
    if before is None or not _code(before, language).endswith(":"):
        return True
    return after is not None and indent_of(after) >= indent_of(hunk[position].value)


def _neighbour(hunk: Hunk, position: int, step: int) -> str | None:
    """The nearest non-blank line of the new side from ``position`` in direction ``step``."""
    index = position + step
    while 0 <= index < len(hunk):
        line: Line = hunk[index]
        if (line.is_added or line.is_context) and line.value.strip():
            return str(line.value)
        index += step
    return None


def _code(text: str, language: Language) -> str:
    return text[: code_end(text, language)].rstrip()


def _mutated(patched: PatchedFile, candidate: _Candidate) -> PatchedFile:
    """A copy of ``patched`` with the candidate's line rewritten or deleted."""
    edited = copy.deepcopy(patched)
    hunk = edited[candidate.hunk]
    line = hunk[candidate.line]
    if candidate.mutation.text is None:
        del hunk[candidate.line]
        hunk.target_length -= 1
        for later in edited[candidate.hunk + 1 :]:
            later.target_start -= 1
    else:
        ending = line.value[len(line.value.rstrip("\r\n")) :]
        line.value = candidate.mutation.text + ending
    return edited
