"""Turn a merged pull request into a candidate Task: split the change, or drop it with a reason.

The change is ``base..head`` of the PR; ``build_candidates`` reads the diffs of many PRs with
one ``git diff-tree`` process (``extractors.pull_diffs``). Its language is chosen from the files
it changes (``extractors.pull_languages``) and its files are classified by that language's rules
(``pipeline.core.paths``); the fix patch carries source files, the test patch test files, and
docs/changelogs/CI files are kept out of both and listed in ``excluded_files``. In Rust, a source
file's ``#[cfg(test)]`` items are split out into the test patch (``extractors.rust_tests``), and
the file is listed in both ``test_files`` and ``source_files`` when both sides change. A candidate
that cannot become a task gets its ``outcome`` set here (no test change, no source change, docs
only, binary only, too large) and never reaches a container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import git
from unidiff.patch import PatchedFile

from extractors.git_history import MergedPull, opened_at
from extractors.project_facts import facts_at
from extractors.pull_diffs import file_sections, missing_object_detail, pull_diffs
from extractors.pull_languages import blob_texts, pull_languages
from extractors.rust_tests import blob_ids, cfg_test_lines, split_section
from pipeline.core.languages import Language
from pipeline.core.paths import FileKind, classify_path
from pipeline.core.records import Outcome, Task, instance_id_for

ISSUE_REFERENCE = re.compile(r"(?:^|[\s(\[])(?:[\w.-]+/[\w.-]+)?#(\d+)\b")


@dataclass(frozen=True)
class SizeLimits:
    """Candidates above these are dropped as too large (configurable on the CLI)."""

    max_files: int = 50
    max_changed_lines: int = 3000


def build_candidates(
    repo: git.Repo, repo_name: str, pulls: list[MergedPull], limits: SizeLimits | None = None
) -> list[Task]:
    """``build_candidate`` for many PRs, their diffs, licences and versions read in batches."""
    diffs = pull_diffs(repo.git_dir, [(p.base_commit, p.head_commit) for p in pulls])
    facts = facts_at(repo.git_dir, [p.base_commit for p in pulls])
    sections = {pair: file_sections(diff) for pair, diff in diffs.items()}
    languages = pull_languages(
        repo.git_dir,
        {
            f"{base} {head}": (base, [str(f.path) for f, _ in found])
            for (base, head), found in sections.items()
        },
    )
    return [
        (
            _candidate(
                repo,
                repo_name,
                p,
                limits or SizeLimits(),
                sections[(p.base_commit, p.head_commit)],
                languages[f"{p.base_commit} {p.head_commit}"],
            )
            if (p.base_commit, p.head_commit) in diffs
            else unreadable_candidate(repo, repo_name, p)
        ).revised(license=facts[p.base_commit].license, version=facts[p.base_commit].version)
        for p in pulls
    ]


def unreadable_candidate(repo: git.Repo, repo_name: str, pull: MergedPull) -> Task:
    """The candidate of a PR whose diff needs objects the repository lacks, rejected."""
    detail = missing_object_detail(repo, pull.base_commit, pull.head_commit)
    return _task(
        repo,
        repo_name,
        pull,
        patch="",
        test_patch="",
        outcome=Outcome.MISSING_OBJECT,
        outcome_detail=detail,
    )


def _task(repo: git.Repo, repo_name: str, pull: MergedPull, **fields: Any) -> Task:
    """The Task of ``pull`` with what the history says of it, and ``fields``."""
    return Task(
        instance_id=instance_id_for(repo_name, pull.number),
        repo=repo_name,
        base_commit=pull.base_commit,
        problem_statement=pull.message,
        created_at=opened_at(repo, pull),
        pull_number=pull.number,
        fix_commit=pull.fix_commit,
        merge_kind=pull.kind,
        problem_source=pull.problem_source,
        **fields,
    )


def build_candidate(
    repo: git.Repo,
    repo_name: str,
    pull: MergedPull,
    limits: SizeLimits | None = None,
    diff: str | None = None,
) -> Task:
    """The Task for one merged PR; ``outcome`` is set when the extractor drops it."""
    if diff is None:
        found = pull_diffs(repo.git_dir, [(pull.base_commit, pull.head_commit)])
        if not found:
            return unreadable_candidate(repo, repo_name, pull)
        diff = found.popitem()[1]
    sections = file_sections(diff)
    paths = [str(f.path) for f, _ in sections]
    language = pull_languages(repo.git_dir, {"pr": (pull.base_commit, paths)})["pr"]
    return _candidate(repo, repo_name, pull, limits or SizeLimits(), sections, language)


def _candidate(
    repo: git.Repo,
    repo_name: str,
    pull: MergedPull,
    limits: SizeLimits,
    sections: list[tuple[PatchedFile, str]],
    language: Language,
) -> Task:
    kinds = {str(f.path): classify_path(str(f.path), language) for f, _ in sections}
    split = _rust_splits(repo, sections, kinds) if language is Language.RUST else {}
    test_files = sorted({p for p, k in kinds.items() if k is FileKind.TEST} | set(split))
    source_files = sorted(
        p
        for p, k in kinds.items()
        if k is FileKind.SOURCE and (p not in split or split[p][1])  # a split file's fix side
    )
    excluded = sorted(p for p, k in kinds.items() if k in {FileKind.DOCS, FileKind.CI})
    task = _task(
        repo,
        repo_name,
        pull,
        patch=_patch(sections, set(source_files), {p: fix for p, (_, fix) in split.items()}),
        test_patch=_patch(sections, set(test_files), {p: t for p, (t, _) in split.items()}),
        referenced_issues=referenced_issues(pull.message, pull.number),
        test_files=test_files,
        source_files=source_files,
        excluded_files=excluded,
        language=language,
    )
    binary_source = {str(f.path) for f, _ in sections if f.is_binary_file} & set(source_files)
    changed_lines = sum(f.added + f.removed for f, _ in sections if str(f.path) not in excluded)
    rejection = _rejection(test_files, source_files, binary_source, changed_lines, limits)
    if rejection is None and not _is_utf8(task.patch + task.test_patch):
        rejection = Outcome.UNSUPPORTED_ENCODING, "the patch is not UTF-8 text"
    if rejection is not None:
        printable = task.revised(
            patch=_printable(task.patch), test_patch=_printable(task.test_patch)
        )
        task = printable.rejected(*rejection)
    return task


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    """A dropped candidate's patch, storable: undecodable bytes become U+FFFD."""
    return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def _rejection(
    test_files: list[str],
    source_files: list[str],
    binary_source: set[str],
    changed_lines: int,
    limits: SizeLimits,
) -> tuple[Outcome, str] | None:
    if not test_files and not source_files:
        return Outcome.DOCS_ONLY, "only documentation, changelog or CI files change"
    if not test_files:
        return Outcome.NO_TEST_CHANGE, f"{len(source_files)} source files, no test file"
    if not source_files:
        return Outcome.NO_SOURCE_CHANGE, f"{len(test_files)} test files, no source file"
    if binary_source == set(source_files):
        return Outcome.BINARY_ONLY, f"binary source files: {', '.join(sorted(binary_source))}"
    files = len(test_files) + len(source_files)
    if files > limits.max_files:
        return Outcome.TOO_LARGE, f"{files} files changed (limit {limits.max_files})"
    if changed_lines > limits.max_changed_lines:
        return Outcome.TOO_LARGE, (
            f"{changed_lines} lines changed (limit {limits.max_changed_lines})"
        )
    return None


def _patch(
    sections: list[tuple[PatchedFile, str]], paths: set[str], parts: dict[str, str] | None = None
) -> str:
    """The part of the diff for ``paths``, byte for byte as ``git diff -- paths`` prints it,
    except for the files split in two (``parts``: path -> this side's part of its diff).

    Text that is not UTF-8 stays in surrogate escapes so the split still works; such a
    candidate is dropped (``unsupported_encoding``): Parquet strings and patch tools need UTF-8.
    """
    parts = parts or {}
    return "".join(
        parts.get(str(patched.path), text)
        for patched, text in sections
        if str(patched.path) in paths
    )


def _rust_splits(
    repo: git.Repo, sections: list[tuple[PatchedFile, str]], kinds: dict[str, FileKind]
) -> dict[str, tuple[str, str]]:
    """Path -> (test part, fix part) of each Rust source file whose ``#[cfg(test)]`` items
    change (``extractors.rust_tests``); files that change on one side only are not listed."""
    wanted = {
        str(f.path): ids
        for f, text in sections
        if kinds[str(f.path)] is FileKind.SOURCE
        and str(f.path).endswith(".rs")
        and not f.is_binary_file
        and (ids := blob_ids(text)) is not None
    }
    texts = blob_texts(repo.git_dir, [i for ids in wanted.values() for i in ids if set(i) != {"0"}])
    splits: dict[str, tuple[str, str]] = {}
    for patched, text in sections:
        path = str(patched.path)
        if path not in wanted:
            continue
        old, new = (texts.get(i, "") if set(i) != {"0"} else "" for i in wanted[path])
        old_tests, new_tests = cfg_test_lines(old), cfg_test_lines(new)
        if old_tests is None or new_tests is None or not (old_tests or new_tests):
            continue
        test_part, fix_part = split_section(text, old_tests, new_tests)
        if test_part:
            splits[path] = (test_part, fix_part)
    return splits


def referenced_issues(message: str, own_number: int) -> list[int]:
    """Issue numbers a PR message references (``#N``, ``owner/name#N``), itself excluded."""
    numbers = {int(n) for n in ISSUE_REFERENCE.findall(message)}
    numbers.discard(own_number)
    return sorted(numbers)
