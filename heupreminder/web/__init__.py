"""The small HTTP side: one-tap check-in pages, the JSON API, health and metrics."""
