"""One task per change, and near-identical problem statements, decided when tasks are written.

Both are resolved by ``shards.write_tasks`` under the dataset lock, against the newest row of
every task already written (in shard order) and then the batch in its order, so the answer is
the same across repositories written into one dataset, across reruns and across concurrent
writers (the lock orders them):

- **Duplicates.** A verified task whose ``patch_id`` (``git patch-id --stable`` of its fix)
  equals that of a verified task written before it, under another instance id, is rejected as
  ``Outcome.DUPLICATE`` with ``duplicate_of`` naming that task: the first written wins, so the
  train table holds at most one task per patch id. A rerun of the original keeps it original
  (its own row is not another task); a task without a patch id (an empty fix, or a shard
  written before version 4 and upgraded) is never a duplicate nor an original. An original
  rewritten later as rejected leaves its duplicates rejected (a known limit: ``compact`` does
  not resolve them again). Before validation, ``known_copies`` rejects the candidates that
  copy a verified task already written (the flow asks, through ``shards.reject_known_copies``),
  so a fork or a backport mined after its original costs no container run.
- **Similar statements.** ``statement_minhash`` is a datasketch MinHash (``NUM_PERM``
  permutations, ``SEED``, ``SCHEME``) of the statement's lowercased ``SHINGLE_WORDS``-word
  shingles; a statement of fewer than ``MIN_SHINGLES`` shingles ("Fix typo") gets none, so
  short templated titles are never compared. A verified task whose signature's estimated
  Jaccard similarity with a verified task written before it is at least ``SIMILAR`` gets
  ``similar_to`` naming the first such task (found through datasketch's ``MinHashLSH``): a
  flag for users to filter on, not a rejection.

datasketch is imported when a signature is made or compared (its LSH module loads scipy, about
two seconds): commands that write nothing, and batches without a verified task, never pay it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline.core.records import Outcome, Task

if TYPE_CHECKING:
    from datasketch import LeanMinHash

NUM_PERM = 64  # 64 int64 per task in the shards
SEED = 1
SCHEME = "affine32"  # datasketch 2's hashing scheme; a signature is only comparable in it
SHINGLE_WORDS = 3
MIN_SHINGLES = 8
SIMILAR = 0.8  # estimated Jaccard similarity of two statements' shingles
WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class WrittenTask:
    """What resolution needs of a row already written (the newest of its instance id)."""

    instance_id: str
    outcome: str | None
    patch_id: str
    statement_minhash: list[int]


def statement_signature(statement: str) -> list[int]:
    """The MinHash signature of ``statement``'s word shingles, [] when it is too short."""
    words = WORD.findall(statement.lower())
    shingles = {
        " ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)
    }
    if len(shingles) < MIN_SHINGLES:
        return []
    from datasketch import MinHash

    minhash = MinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update_batch([s.encode() for s in sorted(shingles)])
    return [int(value) for value in minhash.hashvalues]


def needs_resolution(tasks: Sequence[Task]) -> bool:
    """Whether any task of a batch can be a duplicate or similar (so rows must be read)."""
    return any(t.outcome is Outcome.VERIFIED and (t.patch_id or t.statement_minhash) for t in tasks)


def _originals(written: Sequence[WrittenTask]) -> dict[str, str]:
    """Patch id -> the verified task written first with it."""
    originals: dict[str, str] = {}
    for row in written:
        if row.outcome == Outcome.VERIFIED.value and row.patch_id:
            originals.setdefault(row.patch_id, row.instance_id)
    return originals


def known_copies(written: Sequence[WrittenTask], tasks: Sequence[Task]) -> list[Task]:
    """``tasks`` with each undecided copy of a verified task already written rejected as its
    duplicate, so that it never runs in a container; the write decides the others."""
    originals = _originals(written)
    copies = []
    for task in tasks:
        original = originals.get(task.patch_id) if task.patch_id else None
        if not task.decided and original is not None and original != task.instance_id:
            task = task.as_duplicate_of(original)
        copies.append(task)
    return copies


def resolve(written: Sequence[WrittenTask], tasks: Sequence[Task]) -> list[Task]:
    """``tasks`` with duplicates rejected and similar statements flagged, against ``written``
    (in shard order) and the batch before each task."""
    originals = _originals(written)
    resolved = []
    for task in tasks:
        original = originals.get(task.patch_id) if task.verified and task.patch_id else None
        if original is not None and original != task.instance_id:
            task = task.as_duplicate_of(original)
        elif task.verified and task.patch_id:
            originals[task.patch_id] = task.instance_id
        resolved.append(task)
    return _flag_similar(written, resolved)


def _flag_similar(written: Sequence[WrittenTask], tasks: list[Task]) -> list[Task]:
    """``tasks`` with ``similar_to`` set where a verified statement is near-identical."""
    if not any(t.verified and t.statement_minhash for t in tasks):
        return tasks
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=SIMILAR, num_perm=NUM_PERM)
    order: dict[str, int] = {}
    signatures: dict[str, LeanMinHash] = {}

    def add(instance_id: str, values: list[int]) -> None:
        if instance_id not in order:
            order[instance_id] = len(order)
            signatures[instance_id] = _lean(values)
            index.insert(instance_id, signatures[instance_id])

    for row in written:
        if row.outcome == Outcome.VERIFIED.value and row.statement_minhash:
            add(row.instance_id, row.statement_minhash)
    flagged = []
    for task in tasks:
        if task.verified and task.statement_minhash:
            mine = _lean(task.statement_minhash)
            close = [
                other
                for other in index.query(mine)
                if other != task.instance_id and signatures[other].jaccard(mine) >= SIMILAR
            ]
            if close:
                task = task.with_similar(min(close, key=order.__getitem__))
            add(task.instance_id, task.statement_minhash)
        flagged.append(task)
    return flagged


def _lean(values: list[int]) -> LeanMinHash:
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME)
