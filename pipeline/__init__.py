"""taskforge's core: the Task record, settings, flows, the dataset and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    PIPELINE_VERSION = version("taskforge")
except PackageNotFoundError:  # running from a source tree that is not installed
    PIPELINE_VERSION = "0+unknown"
