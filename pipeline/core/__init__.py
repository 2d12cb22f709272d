"""The core every other package may import: the ``Task`` record, the exception tree, the
language profiles, and the few shared readers of git and the Docker engine. It imports no
stage and nothing else of ``pipeline``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    PIPELINE_VERSION = version("taskforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    PIPELINE_VERSION = "0+unknown"
