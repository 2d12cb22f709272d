"""A scheduled run behaves as the CLI: the group's bounds, the work folder's result storage,
and no backfill started for a repository with nothing new.

The flows run for real on the session's Prefect server (``prefect_api``); only the backfill
itself is replaced by a small flow with a persisted, cached task, so no Docker is needed.
What is checked is what ``run_backfill`` does around it: the task runner and its bound, and
where the results of a subflow go (a subflow takes its parent's result storage unless it has
its own, and the parent's is Prefect's default under ``~/.prefect``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from prefect.context import FlowRunContext
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from pipeline.backfill.request import BackfillRequest, BackfillSummary
from pipeline.backfill.up_to_date import mark_final
from pipeline.dataset.card import finalize
from pipeline.dataset.shards import write_tasks
from pipeline.demo.sample_repo import DESIGNED_OUTCOMES
from pipeline.orchestration import flows
from tests.pipeline.factories import make_task

SEEN: list[dict[str, Any]] = []


def probe_key(_context: Any, parameters: dict[str, Any]) -> str:
    return "probe-" + str(parameters["repo"]).replace("/", "__")


@task(cache_key_fn=probe_key, persist_result=True)
def probe(repo: str) -> str:
    return repo


@flow(name="taskforge-backfill")
def fake_backfill(request: BackfillRequest) -> BackfillSummary:
    context = FlowRunContext.get()
    assert context is not None
    runner = context.task_runner
    workers = runner._max_workers if isinstance(runner, ThreadPoolTaskRunner) else None
    SEEN.append({"repo": request.repo, "workers": workers, "memory": request.memory})
    probe(request.repo)
    return BackfillSummary(repo=request.repo, out=request.out)


@contextmanager
def on_server(api: str) -> Iterator[None]:
    """Prefect's settings pointed at ``api`` (Prefect was imported, with this module, before
    the fixture named the server; a process that runs flows names it before that), and
    Prefect's event and log workers drained while the server still answers: at the end of
    the session they would wait for it at the interpreter's exit."""
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield
    finally:
        EventsWorker.drain_all(timeout=60)
        APILogWorker.drain_all(timeout=60)


def test_a_scheduled_run_has_the_groups_bounds_and_the_work_folders_results(
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sample_repo_path: Path,
) -> None:
    monkeypatch.setattr(flows, "backfill_flow", fake_backfill)
    out, work, fresh_work = tmp_path / "out", tmp_path / "work", tmp_path / "fresh-work"
    # taskforge/tinytext is finished in OUT: every PR written, manifest and card final
    finished = [
        make_task(number, outcome, repo="taskforge/tinytext")
        for number, outcome in DESIGNED_OUTCOMES.items()
    ]
    layout = BackfillRequest(source="s", repo="o/n", out=out, work_dir=work).layout()
    write_tasks(layout, finished)
    finalize(layout)
    mark_final(layout)
    schedules = tmp_path / "schedules.toml"
    repos = (
        f'{{ source = "{sample_repo_path}", repo = "taskforge/tinytext" }}, '
        f'{{ source = "{sample_repo_path}", repo = "taskforge/other" }}'
    )
    schedules.write_text(
        f'[[group]]\nname = "g"\ncron = "0 4 * * *"\nout = "{out}"\nwork_dir = "{work}"\n'
        f'workers = 3\nmemory = "768m"\nrepos = [{repos}]\n'
        f'[[group]]\nname = "h"\ncron = "0 4 * * *"\nout = "{tmp_path / "out2"}"\n'
        f'work_dir = "{fresh_work}"\nrepos = [{{ source = "s", repo = "o/n" }}]\n'
    )
    SEEN.clear()
    with on_server(prefect_api):
        summaries = flows.scheduled_backfill("g", str(schedules))

    # the finished repository started no backfill; the other ran with the group's bounds
    assert SEEN == [{"repo": "taskforge/other", "workers": 3, "memory": "768m"}]
    done, ran = summaries
    assert (done.repo, done.mined, done.skipped) == ("taskforge/tinytext", 9, 9)
    assert ran.repo == "taskforge/other"
    # the subflow's persisted result is in the group's work folder, not Prefect's default
    assert [p.name for p in (work / "results").iterdir()] == ["probe-taskforge__other"]

    SEEN.clear()
    with on_server(prefect_api):
        flows.scheduled_backfill("h", str(schedules))  # a group without workers: the CPU count
    assert SEEN[0]["workers"] == BackfillRequest(source="s", repo="o/n", out=out).workers
    assert [p.name for p in (fresh_work / "results").iterdir()] == ["probe-o__n"]
