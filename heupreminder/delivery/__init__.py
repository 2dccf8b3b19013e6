"""Delivery: composing reminder messages and sending them through Apprise."""
