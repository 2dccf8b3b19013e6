"""`python -m heupreminder` and the `heupreminder` command."""

import gc


def main() -> None:
    # Start-up creates about a million objects (modules, Apprise's plugins, SQLAlchemy's
    # tables) that live as long as the process: collecting while they load is ~0.15 s
    # of work that finds nothing. `run` turns collection on again once it is ready
    # (ops/memory.py), every other command at once (cli/main.py).
    gc.disable()
    from heupreminder.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
