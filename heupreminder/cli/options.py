"""Options shared by the CLI modules."""

import click

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False),
    envvar="HEUPREMINDER_CONFIG", show_envvar=True,
    help="Config file (default: the platform config dir).",
)
