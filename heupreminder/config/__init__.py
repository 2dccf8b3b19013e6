"""The config file: its typed model, the loader and the starter template."""

from heupreminder.config.loader import (
    Channel,
    ConfigError,
    Settings,
    load_settings,
    resolve_config_path,
)

__all__ = ["Channel", "ConfigError", "Settings", "load_settings", "resolve_config_path"]
