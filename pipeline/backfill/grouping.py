"""The grouping policy: candidates that share a dependency state share one environment.

Candidates are taken oldest first; each joins the group of its dependency state's key, and the
newest base commit of a group sets the environment up (its plan replaces the older ones). A
candidate whose dependency files cannot be read (a missing git object) is rejected here,
without costing the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dockerfiles.plan import EnvPlan
from pipeline.core.errors import MissingObjectError
from pipeline.core.records import Outcome, Task


@dataclass
class Group:
    """Candidates that share a dependency state, and the plan of their environment."""

    plan: EnvPlan
    candidates: list[Task]


@dataclass
class Planned:
    """The groups to build, and the candidates whose environment cannot even be planned."""

    groups: list[Group]
    unplannable: list[Task]  # rejected: their dependency files cannot be read


def group_by_dependency_state(runnable: list[Task], plan_for: Callable[[Task], EnvPlan]) -> Planned:
    """Candidates grouped by ``plan_for(candidate).key``; each group gets one environment."""
    groups: dict[str, Group] = {}
    unplannable: list[Task] = []
    for candidate in sorted(runnable, key=lambda t: t.created_at):
        try:
            plan = plan_for(candidate)
        except MissingObjectError as error:  # one PR's missing file never costs the run
            unplannable.append(candidate.rejected(Outcome.MISSING_OBJECT, str(error)))
            continue
        group = groups.setdefault(plan.key, Group(plan=plan, candidates=[]))
        group.candidates.append(candidate)
        group.plan = plan  # the newest base of the group sets up the environment
    return Planned(list(groups.values()), unplannable)
