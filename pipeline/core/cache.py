"""The cache folder: what taskforge keeps for itself and can rebuild, outside every dataset.

It holds the mirrors of URL and GitHub sources (``repos/``), the demo's sample repository
(``sample-repo``) and the work folders of datasets (``work/``: each dataset's manifest, logs,
Prefect results, cursors and writer lock, laid out by ``pipeline.dataset.storage``). It is
``--cache-dir``, else ``$TASKFORGE_CACHE``, else ``data/cache`` in the working folder
(``default_cache_dir``), for every entry point alike.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "TASKFORGE_CACHE"


def default_cache_dir() -> Path:
    """The cache folder without ``--cache-dir``: ``$TASKFORGE_CACHE``, else ``data/cache``."""
    return Path(os.environ.get(CACHE_ENV) or "data/cache")
