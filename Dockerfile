# Small, non-root image; nothing architecture-specific, so it builds for
# amd64 and arm64 (Raspberry Pi, most NAS boxes) alike.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY heupreminder ./heupreminder
RUN python -m venv /opt/heupreminder \
 && /opt/heupreminder/bin/pip install --no-cache-dir ".[postgres]"

FROM python:3.11-slim
COPY --from=build /opt/heupreminder /opt/heupreminder
# The default database is SQLite in the /data volume, as a *default*: the
# platform data folder ($XDG_DATA_HOME/heupreminder) is a link to /data, so
# `database =` in the config, or HEUPREMINDER_DATABASE_URL, still decides.
# (An ENV HEUPREMINDER_DATABASE_URL here would silently override the config.)
RUN useradd --system --uid 10001 --home-dir /data heup \
 && mkdir -p /config /data && chown heup /data \
 && ln -s /data /var/lib/heupreminder
ENV PATH=/opt/heupreminder/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HEUPREMINDER_CONFIG=/config/heupreminder.toml \
    XDG_DATA_HOME=/var/lib
USER heup
VOLUME ["/data"]
# heupreminder handles SIGTERM itself (drains sends, then exits) as PID 1.
STOPSIGNAL SIGTERM
# Healthy while the web server answers /healthz where the config's [service]
# listen says (127.0.0.1:8765 by default; 0.0.0.0:... is asked on loopback).
# No curl or wget in slim images: heupreminder asks itself.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["heupreminder", "healthcheck", "--timeout", "4"]
ENTRYPOINT ["heupreminder"]
CMD ["run"]
