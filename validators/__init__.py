"""Stage 3: hardened test runs, structured reports and pure grading; imports only the core."""
