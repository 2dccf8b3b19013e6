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
RUN useradd --system --uid 10001 --home-dir /data heup \
 && mkdir -p /config /data && chown heup /data
ENV PATH=/opt/heupreminder/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HEUPREMINDER_CONFIG=/config/heupreminder.toml \
    HEUPREMINDER_DATABASE_URL=sqlite:////data/heupreminder.db
USER heup
VOLUME ["/data"]
# heupreminder handles SIGTERM itself (drains sends, then exits) as PID 1.
STOPSIGNAL SIGTERM
# Healthy while the web server answers /healthz (the service's [service] listen,
# 127.0.0.1:8765 by default). Plain Python: slim images have no curl or wget.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8765/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["heupreminder"]
CMD ["run"]
