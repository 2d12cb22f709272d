"""A diff text split into its files: each file's part parsed (unidiff) and kept as text.

The texts join back to the diff byte for byte, so a caller that changes one file's part can
leave the others exactly as git printed them (a binary patch's base85 lines included, which
unidiff does not keep).
"""

from __future__ import annotations

import re

from unidiff.patch import PatchedFile, PatchSet

SECTION = re.compile(r"^diff --git ", re.MULTILINE)


def file_sections(diff: str, metadata_only: bool = True) -> list[tuple[PatchedFile, str]]:
    """Each file's part of a diff, parsed and as text, in order; texts join back to ``diff``.

    ``metadata_only`` parses line counts, not the lines (what a split needs); without it each
    hunk holds its lines, for a caller that rewrites them.
    """
    starts = [m.start() for m in SECTION.finditer(diff)]
    sections = []
    for start, end in zip(starts, [*starts[1:], len(diff)][: len(starts)], strict=True):
        text = diff[start:end]
        parsed = PatchSet(text, metadata_only=metadata_only)
        if parsed:
            sections.append((parsed[0], text))
    return sections
