"""Time rules with no database and no service: schedules and DST, quiet hours, summary times."""
