"""Scheduling: the service loop (APScheduler's clock) and the dispatcher's units of work."""
