"""taskforge's own packages; the README's "Packages" section maps them.

``pipeline.core`` (the record, the errors, the engine client) is what the stages import;
``dataset``, ``backfill``, ``orchestration``, ``consumers``, ``cli`` and ``demo`` build on the
stages and the core, never the other way round (the import-linter contracts in pyproject.toml).
"""
