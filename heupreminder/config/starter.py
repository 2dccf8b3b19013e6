"""The commented starter config that `heupreminder init` writes.

It is the same file as `config/heupreminder.example.toml` (a test keeps them
equal), so the example a new user starts with is the one `init` gives.
"""

from importlib.resources import files

STARTER_CONFIG: str = files("heupreminder.config").joinpath("starter.toml").read_text("utf-8")
