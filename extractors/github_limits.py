"""GitHub's rate-limit rules as a urllib3 ``Retry`` for PyGithub, and the line each wait prints.

GitHub documents (REST "Rate limits for the REST API", GraphQL "Rate limits and query
limits"): a primary limit answers 403 or 429 with ``x-ratelimit-remaining: 0`` — wait until
``x-ratelimit-reset``; a secondary limit answers 403 or 429 with a message and maybe
``retry-after`` — wait that long, else at least a minute; GraphQL's primary limit answers
HTTP 200 with a ``RATE_LIMITED`` error and the same headers. ``RateLimitRetry`` extends
PyGithub's ``GithubRetry`` (which backs off 5xx and reads secondary-limit messages) with the
header rules and 429, prints one line per wait, and raises PyGithub's
``RateLimitExceededExceedsMaxWait`` instead of waiting longer than its cap.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from github.GithubException import RateLimitExceededExceedsMaxWait
from github.GithubRetry import GithubRetry
from urllib3 import Retry
from urllib3.connectionpool import ConnectionPool
from urllib3.response import BaseHTTPResponse, HTTPResponse


@dataclass(frozen=True)
class RateLimit:
    """A rate-limited answer and how long GitHub asks to wait."""

    primary: bool
    wait_s: float
    reset_at: datetime | None = None

    def waiting(self) -> str:
        """The line announcing the wait for the limit to reset."""
        if self.primary and self.reset_at is not None:
            return (
                f"GitHub API rate limit reached: waiting {self.wait_s:.0f} s, until "
                f"{self.reset_at:%H:%M:%S} UTC, for it to reset"
            )
        return f"GitHub API secondary rate limit: retrying in {self.wait_s:.0f} s"

    def too_long(self, cap_s: float) -> str:
        """The line saying the wait is longer than ``cap_s``, the run's limit."""
        until = f" (it resets at {self.reset_at:%Y-%m-%d %H:%M} UTC)" if self.reset_at else ""
        kind = "rate limit" if self.primary else "secondary rate limit"
        return (
            f"GitHub API {kind} reached{until}: waiting {self.wait_s:.0f} s is longer than "
            f"--max-rate-wait {cap_s:.0f} s; rerun the same command later to resume"
        )


def rate_limit(
    status: int, headers: Mapping[str, str], secondary_wait_s: float
) -> RateLimit | None:
    """GitHub's rules for a 403/429 (or a GraphQL ``RATE_LIMITED`` answer, as 429).

    ``retry-after`` first; else ``x-ratelimit-remaining: 0`` means the primary limit, until
    ``x-ratelimit-reset``; else a 429 is a secondary limit. A 403 with neither header is left
    to ``GithubRetry``, which reads the message ("secondary rate limit") or gives up.
    """
    if status not in (403, 429):
        return None
    retry_after = header(headers, "retry-after")
    if retry_after is not None and retry_after.isdigit():
        return RateLimit(primary=False, wait_s=float(retry_after))
    reset = header(headers, "x-ratelimit-reset")
    if header(headers, "x-ratelimit-remaining") == "0" and reset is not None and reset.isdigit():
        reset_at = datetime.fromtimestamp(int(reset), UTC)
        wait = max(0.0, reset_at.timestamp() - time.time()) + 1  # the reset's second is unsure
        return RateLimit(primary=True, wait_s=wait, reset_at=reset_at)
    if status == 429:
        return RateLimit(primary=False, wait_s=secondary_wait_s)
    return None


def announce(message: str) -> None:
    """One visible line on stderr (the CLI's progress display keeps it above the bar)."""
    print(f"taskforge: {message}", file=sys.stderr, flush=True)


class RateLimitRetry(GithubRetry):
    """``GithubRetry`` plus GitHub's header rules, 429, a line per wait, and the wait cap."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("status_forcelist", [*range(500, 600), 429])  # GithubRetry adds 403
        super().__init__(**kwargs)
        self.planned: RateLimit | None = None

    def increment(  # type: ignore[override]
        self,
        method: str | None = None,
        url: str | None = None,
        response: HTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Retry:
        """The next retry; a rate-limit answer plans its own wait, or stops when it is too long."""
        limit = None
        if response is not None:
            limit = rate_limit(response.status, response.headers, self.secondary_rate_wait)
        if response is None or limit is None:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        cap = self.max_rate_limit_wait
        if cap is not None and limit.wait_s > cap:
            response.drain_conn()  # hand the connection back: the run stops, the pool closes
            response.release_conn()
            raise RateLimitExceededExceedsMaxWait(
                response.status, None, dict(response.headers), wait=limit.wait_s
            )
        retry = Retry.increment(self, method, url, response, error, _pool, _stacktrace)
        retry.planned = limit
        return retry

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        """Wait as the planned rate limit says, or back off as urllib3 does."""
        if self.planned is not None:
            announce(self.planned.waiting())
            time.sleep(self.planned.wait_s)
            return
        backoff = self.get_backoff_time()
        if response is not None and backoff >= 1:
            announce(f"GitHub API answered HTTP {response.status}: retrying in {backoff:.0f} s")
        super().sleep(response)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The header ``name`` (lowercase) of ``headers``, whatever its capitals; None if absent."""
    value = headers.get(name)
    if value is None:  # a plain dict from a test or PyGithub may keep GitHub's capitals
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if isinstance(value, str) else None
