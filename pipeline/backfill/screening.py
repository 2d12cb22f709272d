"""Screening: what makes a candidate easy to game or a copy, recorded on the task.

``screen`` fills each task's screening fields from the task alone (and the benchmark): the
leaks of its fix in its problem statement and hints (``validators.leaks``), the patch id of
its fix (``pipeline.core.patch_ids``), the MinHash signature of its problem statement
(``pipeline.dataset.duplicates``) and the benchmark instance it is the same as
(``pipeline.backfill.benchmark``). The patch id is the fix's alone, not fix + test patch: the
fix is what a policy is paid to write and what a benchmark's gold patch is, so two tasks
whose fixes are the same change are one task even when a backport adapted the tests.

The flow screens the candidates once mined (a task dropped as a benchmark instance never
reaches a container) and again before each write: a validation replayed from the cache
carries the screening of its first run, and the request's benchmark may have changed since.
Screening twice gives the same fields: it is a function of the task. Duplicates and similar
statements are resolved where tasks are written, against the whole dataset
(``pipeline.dataset.duplicates``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pipeline.backfill.benchmark import Benchmark, BenchmarkAction, cached_benchmark
from pipeline.backfill.request import BackfillRequest
from pipeline.core.patch_ids import patch_ids
from pipeline.core.records import BenchmarkMatchKind, Outcome, Task
from pipeline.dataset.duplicates import statement_signature
from validators.leaks import find_leaks


def screen(
    tasks: Sequence[Task],
    benchmark: Benchmark | None = None,
    action: BenchmarkAction = BenchmarkAction.FLAG,
) -> list[Task]:
    """``tasks`` with their screening fields; with ``action`` drop, a benchmark instance that
    is not rejected otherwise is rejected as ``in_benchmark``."""
    ids = patch_ids([task.patch for task in tasks])
    screened = []
    for task, patch_id in zip(tasks, ids, strict=True):
        match = benchmark.match(task, patch_id) if benchmark else None
        signature = statement_signature(task.problem_statement)
        task = task.with_screening(find_leaks(task), patch_id, signature, match)
        if match and action is BenchmarkAction.DROP and (task.verified or not task.decided):
            assert benchmark is not None
            how = "pull request" if match.by is BenchmarkMatchKind.SAME_PR else "patch"
            detail = f"the same {how} as {match.instance_id} of the benchmark {benchmark.source}"
            task = task.rejected(Outcome.IN_BENCHMARK, detail)
        screened.append(task)
    return screened


def screen_for(request: BackfillRequest, tasks: Sequence[Task]) -> list[Task]:
    """``screen`` with the request's benchmark (read once per process) and action."""
    benchmark = cached_benchmark(request.benchmark) if request.benchmark else None
    return screen(tasks, benchmark, request.benchmark_action)
