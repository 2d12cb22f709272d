"""A second environment, with every extra, for candidates whose tests skipped for want of one.

Tests guarded by an optional dependency (``@pytest.mark.skipif(not has_crypto)``,
``pytest.importorskip("cryptography")``) skip on both sides of the fix when the environment
lacks the extra that brings it, and the candidate ends ``no_fail_to_pass`` although nothing is
wrong with it. ``wants_every_extra`` tells those candidates apart (pure: from the verdict's
skipped tests); ``with_every_extra`` plans the group's environment again with every declared
extra but documentation's; ``after_retry`` keeps the better verdict and records both
environments' attempts and that the retry happened.
"""

from __future__ import annotations

import hashlib

from dockerfiles.extras import every_extra
from dockerfiles.plan import EnvPlan
from pipeline.core.records import Outcome, Task

RETRIED = "retried with every extra ({extras}) after {count} tests skipped on both sides"


def wants_every_extra(task: Task) -> bool:
    """No FAIL_TO_PASS, and tests of the files the PR touches skipped on both sides."""
    if task.outcome is not Outcome.NO_FAIL_TO_PASS:
        return False
    touched = set(task.test_files)
    return any(test.split("::", 1)[0] in touched for test in task.skipped_tests)


def with_every_extra(plan: EnvPlan) -> EnvPlan | None:
    """``plan`` with every non-docs extra in each attempt; None when no attempt gains one."""
    extras = every_extra(plan.files)
    attempts = [
        a.revised(extras=list(dict.fromkeys([*a.extras, *extras])))
        for a in plan.attempts
        if not set(extras) <= set(a.extras)
    ]
    if not attempts:
        return None
    key = hashlib.sha256(f"{plan.key}+{','.join(extras)}".encode()).hexdigest()
    return EnvPlan(plan.repo, plan.setup_commit, plan.files, attempts, key)


def after_retry(first: Task, second: Task | None, extras: list[str], why: str = "") -> Task:
    """The verdict to keep: the retry's unless it is no better (then the first one's), with
    the attempts of both environments and a note that the retry happened."""
    note = RETRIED.format(extras=", ".join(extras), count=len(first.skipped_tests))
    if second is None:  # the second environment did not build
        detail = f"{first.outcome_detail}; {note}: {why}"[:2000]
        return first.with_detail(detail)
    attempts = [*first.env_attempts, *second.env_attempts]
    better = second.outcome is not Outcome.NO_FAIL_TO_PASS
    kept = second if better else first
    detail = f"{kept.outcome_detail}; {note}"
    if not better:
        detail += f" (still {len(second.skipped_tests)} skipped)"
    return kept.with_detail(detail[:2000], attempts)
