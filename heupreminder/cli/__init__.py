"""The `heupreminder` command line, one module per command group; `main` is the entry point."""

from heupreminder.cli.main import main

__all__ = ["main"]
