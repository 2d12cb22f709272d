"""Where a dataset is: a local folder (a ``Path``) or a URL (``DatasetUrl``), parsed once.

``dataset_location`` turns what a user typed (``--out``, a reader command's argument, a
schedules file's ``out``) into one of the two. A value with a scheme (``s3://bucket/prefix``,
``gs://``, ``hdfs://``, any fsspec protocol) is a ``DatasetUrl``; ``file://`` URLs and every
other value are local paths, kept as ``Path`` so that local datasets behave exactly as before.
``DatasetOut`` is the pydantic type of such a field (``BackfillRequest.out``): it validates
from either, serialises a URL as its string, and pickles (a ``DatasetUrl`` is a ``str``).

Invariants of a ``DatasetUrl``:

- it holds no credentials: a password before the host (``s3://KEY:SECRET@bucket``), a user
  before an S3 or GCS bucket (pyarrow reads it as an access key), or a query parameter that
  looks like a secret (``secret_key``, ``session_token``, ``X-Amz-Signature``...) is refused
  with one line. Credentials come from the environment (``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``...), as pyarrow and fsspec read them, so the URL
  can be printed, named in a work folder, a summary, the card or a Prefect parameter;
- it is normalised: the scheme lowercased, repeated and trailing slashes dropped, the query
  sorted; so one dataset spelled two ways is one URL, with one default work folder.

What a URL's filesystem is and how files are written there is ``pipeline.dataset.objects``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from pydantic import GetCoreSchemaHandler, PlainSerializer, PlainValidator
from pydantic_core import core_schema

from pipeline.core.errors import UserInputError

SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# query parameters that carry a credential, whatever the filesystem calls them
SECRET_PARAMETER = re.compile(
    r"secret|token|passw|key|credential|signature|^sig$|^sas$|auth", re.IGNORECASE
)
KEYED_USERINFO = frozenset({"s3", "s3a", "gs", "gcs"})  # pyarrow reads user@ as an access key
CREDENTIALS_HINT = (
    "give credentials in the environment instead (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
    "AWS_PROFILE, GOOGLE_APPLICATION_CREDENTIALS...)"
)


class DatasetUrl(str):
    """A dataset on a filesystem named by a URL (``s3://bucket/prefix``), normalised and
    without credentials; ``DatasetUrl.parse`` is the one way to make one."""

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> DatasetUrl:
        """The normalised URL of ``text``; ``UserInputError`` for one that holds credentials
        or names no place."""
        parts = urlsplit(text.strip())
        # Azure names its container there (abfs://container@account...), S3 and GCS a key
        named = parts.scheme.lower() in KEYED_USERINFO and parts.username is not None
        if parts.password is not None or named:
            raise UserInputError(
                f"the URL {_without_userinfo(parts.geturl())} holds credentials before its "
                f"host; {CREDENTIALS_HINT}"
            )
        query = parse_qsl(parts.query, keep_blank_values=True)
        secrets = sorted({name for name, _ in query if SECRET_PARAMETER.search(name)})
        if secrets:
            raise UserInputError(
                f"the URL {parts.scheme}://{parts.netloc}{parts.path} holds credentials in its "
                f"query ({', '.join(secrets)}); {CREDENTIALS_HINT}"
            )
        path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
        if not parts.netloc and not path:
            raise UserInputError(f"the URL {text!r} names no bucket or folder")
        query_text = urlencode(sorted(query))
        # by hand: urlunsplit drops the // of schemes it does not know without a host (local:///x)
        url = f"{parts.scheme.lower()}://{parts.netloc}{path}"
        return cls(f"{url}?{query_text}" if query_text else url)

    @property
    def scheme(self) -> str:
        """The scheme: ``s3``, ``gs``, ``hdfs``, an fsspec protocol."""
        return urlsplit(self).scheme

    @property
    def without_query(self) -> str:
        """The URL without its options, as files below it are named in messages."""
        return self.split("?", 1)[0]

    @property
    def name(self) -> str:
        """The last part of the URL's path (its bucket when it has none)."""
        parts = urlsplit(self)
        return unquote(parts.path.rsplit("/", 1)[-1]) or parts.netloc or parts.scheme

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validated from a string by ``parse``; serialised as the string."""
        return core_schema.no_info_after_validator_function(
            lambda value: value if isinstance(value, DatasetUrl) else cls.parse(value),
            core_schema.str_schema(),
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )


def _without_userinfo(url: str) -> str:
    """``url`` with whatever stands before its host's ``@`` replaced, so it can be printed."""
    return re.sub(r"^([^:/]+://)[^/@]*@", r"\1***@", url)


def dataset_location(value: str | Path) -> Path | DatasetUrl:
    """What ``value`` names: a ``DatasetUrl`` when it has a scheme (but ``file://``, a local
    path), else a local ``Path``."""
    if isinstance(value, DatasetUrl | Path):
        return value
    scheme = SCHEME.match(value)
    if scheme is None:
        return Path(value)
    if scheme.group(1).lower() == "file":
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise UserInputError(f"{value}: a file:// URL names a folder on this machine")
        return Path(unquote(parts.path))
    return DatasetUrl.parse(value)


def _validated(value: Any) -> Path | DatasetUrl:
    if not isinstance(value, str | Path):
        raise ValueError(f"a folder path or a URL, not {type(value).__name__}")
    return dataset_location(value)


# A dataset's place as a pydantic field: a local Path or a DatasetUrl, from and to a string.
# One plain validator, not a union: in JSON every value is a string, which Path would take.
DatasetOut = Annotated[
    Path | DatasetUrl,
    PlainValidator(_validated, json_schema_input_type=str),
    PlainSerializer(str, return_type=str, when_used="json"),
]
