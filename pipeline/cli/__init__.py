"""The ``taskforge`` command line (Typer), its options and its console output."""
