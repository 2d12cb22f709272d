"""Stage 1: candidate tasks from a repository's history or GitHub's API; imports only the core."""
