"""A dataset's files on a filesystem named by a URL: ``ObjectPath``, and how they are written.

``ObjectPath`` is a file or folder below a ``DatasetUrl`` with the few operations of
``pathlib.Path`` that a dataset's layout uses (``DatasetPath``), so ``pipeline.dataset.storage``
treats a local folder and a URL alike. Listing is one level at a time (``glob`` of a name
pattern); sizes seen in a listing are kept, since a shard is never rewritten.

Writing (``put``): the whole file is produced in memory first, then handed to the filesystem
in one piece. Object stores have no rename, so the final key is written directly:

- pyarrow (S3, GCS, Azure): one ``write`` of the whole bytes to ``open_output_stream`` and
  ``close``. On S3 an object under Arrow's part size (10 MiB) is sent by ``close`` as one
  PutObject (the stream is opened with ``allow_delayed_open``, so nothing is sent before): a
  writer killed before that leaves nothing at all. A larger one is a multipart upload, created
  when the stream opens and completed only in ``close``, after every part is uploaded; a part
  that failed makes ``close`` fail without completing. A writer killed before that leaves an
  uncompleted upload, which no listing or read shows (a bucket lifecycle rule,
  AbortIncompleteMultipartUpload, removes its parts; taskforge cannot, as pyarrow does not
  list or abort uploads). Never stream a file being produced into such a stream: pyarrow's
  ``NativeFile`` closes, so completes, on an exception inside ``with`` and when it is
  destroyed, and pyarrow does not expose Arrow's ``Abort``; a half-written Parquet file would
  become a visible object;
- fsspec: ``pipe_file`` of the whole bytes, each implementation's one-shot upload;
- filesystems with folders and a rename (HDFS, and schemes not known to be object stores):
  a hidden temporary file in the same folder, then ``move`` over the final name, as on disk.

Opening a URL's filesystem (pyarrow, else fsspec; credentials from the environment), and the
one line its failures become: ``pipeline.dataset.filesystems``.
"""

from __future__ import annotations

import enum
import fnmatch
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import BinaryIO, Protocol, Self, cast

import pyarrow.fs as pafs

from pipeline.core.errors import UserInputError
from pipeline.dataset.filesystems import (
    S3_SCHEMES,
    SINGLE_REQUEST_BYTES,
    filesystem_of,
    single_request_filesystem,
    storage_error,
    storage_failure,
)
from pipeline.dataset.location import DatasetUrl

# schemes whose files are objects: no folders, no rename, a key written whole appears whole
OBJECT_STORES = frozenset(
    {"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az", "adl", "oss", "r2", "memory"}
)
BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs"})  # the URL's host is a bucket


class SizedStat(Protocol):
    """What ``stat()`` tells a dataset: the size."""

    @property
    def st_size(self) -> int:
        """The size in bytes."""
        ...


class DatasetPath(Protocol):
    """The operations of ``pathlib.Path`` a dataset's layout uses; ``ObjectPath`` has them."""

    @property
    def name(self) -> str:
        """The last part."""
        ...

    @property
    def parent(self) -> Self:
        """The folder holding this one."""
        ...

    def __truediv__(self, key: str) -> Self: ...

    def with_name(self, name: str) -> Self:
        """A sibling called ``name``."""
        ...

    def relative_to(self, other: Self, /) -> PurePath:
        """This path below ``other``."""
        ...

    def as_posix(self) -> str:
        """The path (or URL) with forward slashes."""
        ...

    def glob(self, pattern: str) -> Iterator[Self]:
        """The entries of this folder whose names match ``pattern``."""
        ...

    def is_dir(self) -> bool:
        """Whether this is a folder."""
        ...

    def is_file(self) -> bool:
        """Whether this is a file."""
        ...

    def exists(self) -> bool:
        """Whether there is anything here."""
        ...

    def stat(self) -> SizedStat:
        """Its size."""
        ...

    def unlink(self, missing_ok: bool = ...) -> None:
        """Remove this file."""
        ...

    def mkdir(self, mode: int = ..., parents: bool = ..., exist_ok: bool = ...) -> None:
        """Create this folder."""
        ...


class WriteMode(enum.Enum):
    """How a file is made visible whole on a URL's filesystem."""

    PUT = "put"  # the final key, written whole at once (object stores)
    RENAME = "rename"  # a hidden temporary file moved over the final name


@dataclass(frozen=True)
class ObjectStat:
    """The size of an object, as ``os.stat_result`` gives a file's."""

    st_size: int


@dataclass(frozen=True)
class ObjectPath:
    """A file or folder ``relative`` (posix, "" for the root) below the dataset URL ``url``.

    Printed as its URL. It holds strings only, so it pickles; the filesystem is looked up.
    """

    url: DatasetUrl
    relative: str = ""
    known_size: int | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        base = self.url.without_query
        return f"{base}/{self.relative}" if self.relative else base

    @property
    def filesystem(self) -> pafs.FileSystem:
        """The pyarrow filesystem of the URL."""
        return filesystem_of(self.url)[0]

    @property
    def key(self) -> str:
        """This path as the filesystem names it."""
        base = filesystem_of(self.url)[1].rstrip("/")
        return f"{base}/{self.relative}" if self.relative else base

    @property
    def mode(self) -> WriteMode:
        """How files are written here."""
        return WriteMode.PUT if self.url.scheme in OBJECT_STORES else WriteMode.RENAME

    @property
    def name(self) -> str:
        """The last part of the path (the URL's own name for the root)."""
        return self.relative.rsplit("/", 1)[-1] if self.relative else self.url.name

    @property
    def parent(self) -> ObjectPath:
        """The folder holding this one (the root for the root)."""
        return ObjectPath(self.url, self.relative.rpartition("/")[0])

    def __truediv__(self, key: str) -> ObjectPath:
        joined = str(PurePosixPath(self.relative or ".", key))
        return ObjectPath(self.url, "" if joined == "." else joined)

    def with_name(self, name: str) -> ObjectPath:
        """A sibling called ``name``."""
        return self.parent / name

    def relative_to(self, other: ObjectPath, /) -> PurePosixPath:
        """This path below ``other``; ``ValueError`` if it is not."""
        if self.url != other.url:
            raise ValueError(f"{self} is not below {other}")
        return PurePosixPath(self.relative or ".").relative_to(other.relative or ".")

    def as_posix(self) -> str:
        """The URL."""
        return str(self)

    def info(self) -> pafs.FileInfo:
        """What the filesystem says is here."""
        with translated(self):
            return self.filesystem.get_file_info(self.key)

    def glob(self, pattern: str) -> Iterator[ObjectPath]:
        """The entries of this folder whose names match ``pattern`` (one level, no ``**``)."""
        selector = pafs.FileSelector(self.key, allow_not_found=True, recursive=False)
        with translated(self):
            found = self.filesystem.get_file_info(selector)
        for info in sorted(found, key=lambda i: i.base_name):
            if fnmatch.fnmatchcase(info.base_name, pattern):
                yield ObjectPath(self.url, (self / info.base_name).relative, info.size)

    def is_dir(self) -> bool:
        """Whether this is a folder (on object stores: a prefix with objects below it)."""
        return bool(self.info().type == pafs.FileType.Directory)

    def is_file(self) -> bool:
        """Whether this is a file."""
        return bool(self.info().type == pafs.FileType.File)

    def exists(self) -> bool:
        """Whether there is a file or folder here."""
        return bool(self.info().type != pafs.FileType.NotFound)

    def stat(self) -> ObjectStat:
        """The size, from the listing that found this path or from the filesystem."""
        if self.known_size is not None:
            return ObjectStat(self.known_size)
        info = self.info()
        if info.type != pafs.FileType.File:
            raise FileNotFoundError(f"{self} is not a file")
        return ObjectStat(int(info.size))

    def unlink(self, missing_ok: bool = False) -> None:
        """Remove this file."""
        if missing_ok and not self.exists():
            return
        with translated(self):
            self.filesystem.delete_file(self.key)

    def mkdir(self, mode: int = 0o777, parents: bool = False, exist_ok: bool = False) -> None:
        """Create this folder where the filesystem has folders; object stores need none (a
        key needs no folder), so nothing is written there."""
        if self.mode is WriteMode.PUT:
            return
        with translated(self):
            self.filesystem.create_dir(self.key, recursive=parents)

    def open_bytes(self) -> BinaryIO:
        """A stream of the file's bytes."""
        with translated(self):
            return cast(BinaryIO, self.filesystem.open_input_stream(self.key))

    def put(self, data: bytes | memoryview) -> None:
        """Write the whole ``data`` here in one piece (the module docstring says how)."""
        small = len(data) < SINGLE_REQUEST_BYTES and self.url.scheme in S3_SCHEMES
        filesystem = single_request_filesystem(self.url) if small else self.filesystem
        handler = getattr(filesystem, "handler", None)
        with translated(self):
            if isinstance(handler, pafs.FSSpecHandler):
                handler.fs.pipe_file(self.key, bytes(data))
                return
            stream = filesystem.open_output_stream(self.key)
            try:
                stream.write(data)
            except BaseException:
                # Arrow fails this write only when it cannot buffer a part (out of memory);
                # closing it is the only way to end it, and may complete what it holds
                with suppress(Exception):
                    stream.close()
                with suppress(Exception):
                    filesystem.delete_file(self.key)
                raise
            stream.close()

    def move_to(self, final: ObjectPath) -> None:
        """Rename this file over ``final`` (filesystems with a rename)."""
        with translated(self):
            self.filesystem.move(self.key, final.key)


def produced(write: Callable[[BinaryIO], object]) -> memoryview:
    """The bytes ``write`` writes to a file, produced in memory."""
    buffer = io.BytesIO()
    write(buffer)
    return buffer.getbuffer()


def arrow_file(path: DatasetPath) -> tuple[str | DatasetPath, pafs.FileSystem | None]:
    """``path`` as pyarrow's readers take it: a local path, or a key and its filesystem."""
    if isinstance(path, ObjectPath):
        return path.key, path.filesystem
    return path, None


def open_bytes(path: DatasetPath) -> BinaryIO:
    """A stream of the bytes of the file at ``path``, local or not."""
    if isinstance(path, ObjectPath):
        return path.open_bytes()
    return cast(Path, path).open("rb")


def check_place(root: ObjectPath) -> None:
    """One line unless ``root``'s filesystem answers, its bucket exists and it is no file."""
    scheme, key = root.url.scheme, root.key
    if scheme in BUCKET_SCHEMES:
        bucket = key.split("/", 1)[0]
        with translated(root):
            missing = root.filesystem.get_file_info(bucket).type == pafs.FileType.NotFound
        if missing:
            raise UserInputError(
                f"{root}: the bucket {bucket} does not exist (or these credentials cannot see "
                "it); create it first, taskforge creates no buckets"
            )
    if root.is_file():
        raise UserInputError(f"{root} is a file; give a folder (a prefix) for the dataset")


@contextmanager
def translated(path: ObjectPath) -> Iterator[None]:
    """Turn the storage's ``OSError`` into one line naming ``path`` (``storage_error``)."""
    try:
        yield
    except FileNotFoundError:
        raise
    except OSError as error:
        raise storage_error(error, str(path)) from None


@contextmanager
def readable(path: DatasetPath) -> Iterator[None]:
    """Around a read of a file: a failure of the storage behind a URL (no answer, access
    denied) becomes its one line; any other error (a corrupt file) is the caller's."""
    try:
        yield
    except OSError as error:
        failure = storage_failure(error, str(path)) if isinstance(path, ObjectPath) else None
        if failure is None:
            raise
        raise failure from None
