"""Running heupreminder as a service: systemd notification and log formats."""
