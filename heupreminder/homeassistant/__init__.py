"""Home Assistant over MQTT discovery: each active person appears as a device.

- `broker_url`: the `[mqtt] url` taken apart (no client needed, so the config check uses it);
- `discovery`: the retained discovery payloads, pure data from a person's rows;
- `state`: what a person's device shows, read from the database;
- `commands`: Done and pain coming in over MQTT, through the API's own functions;
- `bridge`: the paho client that publishes when something changed and listens for commands.
"""
