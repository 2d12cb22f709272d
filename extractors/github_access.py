"""Where GitHub's API is and where its credentials are (``GithubAccess``), without PyGithub.

A request names these before anything talks to GitHub, and a run that never does (a local
source, or a rerun with nothing new) should not pay for importing PyGithub and its
cryptography; ``extractors.github_api`` uses them to build its client.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLE = "GITHUB_TOKEN"


@dataclass(frozen=True)
class GithubAccess:
    """Where the API is and where the credentials are; never the credentials themselves."""

    api_url: str = DEFAULT_API_URL
    token_file: Path | None = None
    app_id: str | None = None
    app_key_file: Path | None = None
    installation_id: int | None = None
    max_rate_wait_s: float = 900.0  # a longer wait for a limit to reset ends the run instead
    timeout_s: int = 30  # per HTTP call
    retries: int = 8
    backoff_s: float = 1.0  # urllib3's backoff factor for 5xx: 0, 2, 4, 8... seconds
    secondary_wait_s: float = 60.0  # GitHub: "wait for at least one minute" without retry-after

    def describe_credentials(self) -> str:
        """The credentials in use, named for a message (never their value)."""
        if self.app_id is not None:
            return f"GitHub App {self.app_id} (installation {self.installation_id})"
        if self.token_file is not None:
            return f"the token in {self.token_file}"
        return f"the token in ${TOKEN_VARIABLE}"
