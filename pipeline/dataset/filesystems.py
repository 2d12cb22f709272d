"""Opening the filesystem of a dataset URL, and what its failures mean for the user.

A ``DatasetUrl`` (``pipeline.dataset.location``) is opened with ``pyarrow.fs`` when pyarrow
knows its scheme (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``), else with fsspec, whose
filesystem is wrapped as ``pyarrow.fs.PyFileSystem(FSSpecHandler(fs))``; either way every read
and listing goes through one pyarrow ``FileSystem``, opened once per process
(``filesystem_of``). Credentials, endpoint and region come from the environment as those
libraries read them: pyarrow's ``FileSystem.from_uri`` reads ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_PROFILE`` and ``~/.aws``,
``AWS_REGION``, and the endpoint from ``AWS_ENDPOINT_URL_S3``, else ``AWS_ENDPOINT_URL``
(itself since pyarrow 16; ``tests/pipeline/test_object_storage.py`` checks both). taskforge
passes none of them and keeps none of them.

Errors: an ``OSError`` of the storage becomes one line (``storage_error``): an endpoint that
does not answer is a ``TransientError`` (exit 3); refused credentials (or none: the request is
then anonymous, and refused the same way), a bucket that does not exist, a scheme no library
knows, a filesystem whose libraries are missing here are ``UserInputError`` (exit 2).
"""

from __future__ import annotations

from functools import cache

import pyarrow as pa
import pyarrow.fs as pafs

from pipeline.core.errors import TaskforgeError, TransientError, UserInputError
from pipeline.dataset.location import DatasetUrl

S3_SCHEMES = frozenset({"s3", "s3a"})
SINGLE_REQUEST_BYTES = 10 * 1024 * 1024 - 1  # below Arrow's S3 part size, one PutObject
UNREACHABLE = (
    "NETWORK_CONNECTION",
    "curlCode",
    "Couldn't connect",
    "Could not resolve",
    "Connection refused",
    "timed out",
    "Timeout",
)
REFUSED = (
    "ACCESS_DENIED",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "HTTP status 403",
    "HTTP status 401",
    "credentials",
    "access token",  # GCS without credentials
)
MISSING_BUCKET = ("NoSuchBucket", "NO_SUCH_BUCKET")


def single_request_filesystem(url: DatasetUrl) -> pafs.FileSystem:
    """``url``'s S3 filesystem opened with ``allow_delayed_open``: its output stream sends
    nothing before ``close``, then an object under Arrow's part size in one PutObject."""
    option = "allow_delayed_open=true"
    if option in url:
        return filesystem_of(url)[0]
    return filesystem_of(DatasetUrl.parse(f"{url}{'&' if '?' in url else '?'}{option}"))[0]


@cache
def filesystem_of(url: DatasetUrl) -> tuple[pafs.FileSystem, str]:
    """The filesystem of ``url`` and the path it names there, opened once per process."""
    where = url.without_query
    try:
        return _opened(url)
    except OSError as error:  # no answer, or what it needs is missing here (libhdfs, Java)
        raise storage_failure(error, where) or UserInputError(
            f"{where}: cannot open its filesystem ({_first_line(error)})"
        ) from None


def _opened(url: DatasetUrl) -> tuple[pafs.FileSystem, str]:
    try:
        filesystem, path = pafs.FileSystem.from_uri(url)
        return filesystem, path
    except pa.ArrowInvalid as error:
        if "Unrecognized filesystem type" not in str(error):
            raise UserInputError(f"{url.without_query}: {_first_line(error)}") from None
    import fsspec.core  # only for schemes pyarrow does not know

    try:
        fsspec_filesystem, path = fsspec.core.url_to_fs(url.without_query)
    except ValueError as error:  # "Protocol not known"
        raise UserInputError(
            f"{url.without_query}: unknown scheme {url.scheme}:// ({_first_line(error)}); give "
            "a folder, or a URL of a filesystem pyarrow or fsspec knows (s3://, gs://, "
            "abfs://, hdfs://, memory://...)"
        ) from None
    except ImportError as error:  # fsspec knows it, its package is not installed
        raise UserInputError(f"{url.without_query}: {_first_line(error)}") from None
    return pafs.PyFileSystem(pafs.FSSpecHandler(fsspec_filesystem)), str(path)


def storage_error(error: OSError, where: str) -> TaskforgeError:
    """One line for a failure of the storage at ``where``: infrastructure or bad input."""
    return storage_failure(error, where) or TransientError(
        f"{where}: the storage failed ({_first_line(error)}); rerun"
    )


def storage_failure(error: OSError, where: str) -> TaskforgeError | None:
    """One line for ``error`` if it is recognisably the storage's (the endpoint does not answer,
    access denied, no such bucket), else None."""
    detail = _first_line(error)
    if any(mark in detail for mark in UNREACHABLE) or isinstance(error, ConnectionError):
        return TransientError(
            f"{where}: the storage does not answer ({detail}); check the endpoint "
            "(AWS_ENDPOINT_URL) and the network, then rerun"
        )
    if any(mark in detail for mark in MISSING_BUCKET):
        return UserInputError(f"{where}: the bucket does not exist ({detail}); create it first")
    if any(mark in detail for mark in REFUSED) or isinstance(error, PermissionError):
        return UserInputError(
            f"{where}: access denied ({detail}); check the credentials in the environment "
            "(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE...)"
        )
    return None


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
