"""A backfill with nothing new to do, told before anything is paid for Prefect.

Scheduled runs mostly find little or nothing new, and a rerun of a finished backfill used to
pay Prefect's server start and imports (a quarter of the first run's time on the demo) to
learn it. ``nothing_new`` answers from the repository and the dataset alone: it selects the
PRs the request names (``pipeline.backfill.steps.select_pulls``, as a run does) and subtracts
the instance ids already written (``finished_instance_ids``). It reports nothing new only when
each of these holds, so that a run would neither write nor change a file:

- every selected PR's task is written, verified or rejected (an infrastructure failure left
  for a rerun is not written, so it is new work);
- the dataset is final: a run finished after its last write, so the manifest and the card are
  up to date (``mark_final``, called by the flow once ``finalize`` has written both, leaves the
  manifest's sha256 in ``WORK/finalized``; any later write or compaction rewrites the manifest,
  and a dataset written before this stamp existed is finalized by its next run), the manifest
  lists exactly the shards there are (sizes compared; in a folder or behind a URL alike), and
  nothing of the previous layout waits to be moved into the work folder;
- a GitHub source selected nothing after its cursor (selected PRs all written but the cursor
  behind them: the run moves the cursor).

It reads and never writes: no folder, lock or file is created, and nothing here imports
Prefect. Any other case is left to the run, which does the same checks with the lock held.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from pipeline.backfill.request import BackfillRequest, BackfillSummary
from pipeline.backfill.steps import open_repository, select_pulls
from pipeline.core.records import instance_id_for
from pipeline.dataset.manifest import check_manifest
from pipeline.dataset.shards import finished_instance_ids
from pipeline.dataset.storage import DatasetLayout, replace_atomically


def nothing_new(request: BackfillRequest) -> BackfillSummary | None:
    """The summary of a run that would find every selected PR in the output, else None."""
    started = time.monotonic()
    layout = request.layout()
    if not dataset_final(layout):
        return None
    selection = select_pulls(open_repository(request), request)
    if request.from_github and selection.pulls:
        return None  # written, but the cursor is behind them: the run moves it
    done = finished_instance_ids(layout, request.retry)
    if any(instance_id_for(request.repo, p.number) not in done for p in selection.pulls):
        return None
    return BackfillSummary(
        repo=request.repo,
        out=request.out,
        logs_dir=layout.logs_dir,
        mined=len(selection.pulls),
        skipped=len(selection.pulls),
        not_found=selection.not_found,
        wall_time_s=round(time.monotonic() - started, 1),
    )


def dataset_final(layout: DatasetLayout) -> bool:
    """Whether a finished run left the dataset as it is: manifest, card and layout current."""
    if isinstance(layout.root, Path):  # a URL never held the previous layout
        previous = [old for old, _new in layout.previous_layout() if isinstance(old, Path)]
        if any(os.path.lexists(old) for old in previous):
            return False
    try:
        stamp = layout.finalized_path.read_text().strip()
        manifest = layout.manifest_path.read_bytes()
    except OSError:
        return False
    if stamp != hashlib.sha256(manifest).hexdigest():
        return False  # written (or compacted) after the last finished run
    return not check_manifest(layout).problems


def mark_final(layout: DatasetLayout) -> None:
    """Note that the dataset is final as its manifest is now: call it once ``finalize`` has
    written the manifest and the card, at the end of a run."""
    digest = hashlib.sha256(layout.manifest_path.read_bytes()).hexdigest()
    replace_atomically(layout.finalized_path, lambda handle: handle.write(digest.encode()))
