"""The Flask application: check-in pages, the history page and calendar feed, the JSON API,
/healthz, /metrics.

Every request first passes `guards` (host names, body size, headers, JSON errors
under /api/), see there.
"""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from heupreminder.web.actions import actions
from heupreminder.web.api import api
from heupreminder.web.calendar import calendar
from heupreminder.web.context import WebContext
from heupreminder.web.guards import allowed_host_names, install_guards
from heupreminder.web.history import history
from heupreminder.web.pages import pages


def create_app(context: WebContext) -> Flask:
    app = Flask(__name__)
    app.extensions["heupreminder"] = context
    app.register_blueprint(pages)
    app.register_blueprint(api)
    app.register_blueprint(history)  # /h/<token>: the person's progress and chart
    app.register_blueprint(calendar)  # /cal/<history token>.ics: the coming routines
    app.register_blueprint(actions)  # /a/<token>: ntfy's Done, Skip and pain buttons (POST)

    def hosts() -> frozenset[str]:
        service = context.settings().config.service
        return allowed_host_names(service.public_url, service.listen,
                                  tuple(h.strip("[]") for h in service.allowed_hosts))

    install_guards(app, hosts)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        healthy, details = context.health()
        return jsonify(status="ok" if healthy else "unhealthy", **details), 200 if healthy else 503

    @app.get("/metrics")
    def metrics() -> Response:
        from heupreminder.ops.metrics import render

        return Response(render(context.sessions), mimetype="text/plain; version=0.0.4")

    @app.errorhandler(OperationalError)  # connection refused, lost, timed out
    def database_unreachable(_error: Exception) -> tuple[Response, int]:
        # The transaction was rolled back, so nothing was written: retrying is safe.
        response = jsonify(error="the database is unreachable; try again in a minute")
        response.headers["Retry-After"] = "30"
        return response, 503

    return app
